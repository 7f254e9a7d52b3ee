// std.sin/cos/tan are Go's math.Sin/Cos/Tan: compared through std.toString (%.17g), so every bit counts.
local inputs = [
  0, -0, 1, -1, 0.5, 2.5, -3.75, 1e-10, -1e-300, 5e-324,
  std.pi / 2, -std.pi / 2, std.pi / 4, std.pi, 2 * std.pi, 1.5707963267948968, 1.5707963267948963,
  10, 100, 1000.5, 123456.789, 1e6, 536870911, 536870912, 536870913.5, 1e9, 1e10, -1e10,
  1e15, 1e22, 3.0e100, 1e300, -1e300, 1.7976931348623157e308,
];
local sweep = [i * 0.37 - 60 for i in std.range(0, 324)];
local show(f) = [std.toString(f(x)) for x in inputs + sweep];
{ sin: show(std.sin), cos: show(std.cos), tan: show(std.tan) }
