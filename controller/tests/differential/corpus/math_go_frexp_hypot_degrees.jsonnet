// std.mantissa/exponent are Go's math.Frexp; std.hypot is Go's math.Hypot; std.deg2rad/rad2deg are std.jsonnet's
// x * pi / 180 and x * 180 / pi.
local xs = [0, -0, 1, -1, 8, 0.75, -7.5, 3, 7.999999999999999, 15.999999999999998, 9007199254740991,
            1e-310, 5e-324, 1e300, 123456.789]
           + [i * 1.37 - 200 for i in std.range(0, 300)];
local pairs = [[3, 4], [0, 0], [-0, 5], [1e300, 1e300], [1e-320, 1e-320], [-7.312715117751976, 6.9486747387446535]]
              + [[i * 0.83 - 50, 31 - i * 0.41] for i in std.range(0, 120)];
{
  mantissa: [std.toString(std.mantissa(x)) for x in xs + [1.7976931348623157e308]],
  exponent: [std.exponent(x) for x in xs + [1.7976931348623157e308]],
  hypot: [std.toString(std.hypot(p[0], p[1])) for p in pairs],
  deg2rad: [std.toString(std.deg2rad(x)) for x in xs],
  rad2deg: [std.toString(std.rad2deg(x)) for x in xs],
}
