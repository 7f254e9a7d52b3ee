// std.asin/acos/atan/atan2 are Go's math.Asin/Acos/Atan/Atan2 (Cephes atan with its range reduction).
local unit = [0, -0, 1, -1, 0.5, -0.5, 0.1, 0.3, 0.7, 0.70001, -0.75, 0.9999, 0.99999999, 1e-300, 5e-324]
             + [i / 97 - 1 for i in std.range(0, 194)];
local any = [0, -0, 0.5, 0.66, 0.67, 2.414213562373095, 2.4142135623730954, 2.5, 10, -1e10, 1e300, 1e-300]
            + [i * 0.31 - 40 for i in std.range(0, 258)];
local pairs = [[y, x] for y in [0, -0, 1, -1, 3.5, -2e-5, 1e300] for x in [0, -0, 1, -1, 0.25, -7, 1e-300]]
              + [[i * 0.7 - 20, 13 - i * 0.45] for i in std.range(0, 60)];
{
  asin: [std.toString(std.asin(x)) for x in unit],
  acos: [std.toString(std.acos(x)) for x in unit],
  atan: [std.toString(std.atan(x)) for x in any],
  atan2: [std.toString(std.atan2(p[0], p[1])) for p in pairs],
}
