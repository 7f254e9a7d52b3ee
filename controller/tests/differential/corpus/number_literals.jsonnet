// Number literal corners go-jsonnet's lexer accepts: exponent spellings, digit separators, literals that round
// at the edges of the double range; each with its digits as std.toString spells them.
local literals = [
  1e25, 1E25, 1e+25, 1.5e-3, 1e0001, 1E-0, 1_000, 1.5_5, 1e5_0, 9007199254740993,
  1.7976931348623157e308, 1.7976931348623158e308, 4.9406564584124654e-324,
  2.4703282292062327e-324, 2.4703282292062328e-324, 1e-400,
  0.1000000000000000055511151231257827021181583404541015625, -0, 123456789.123,
];
[[x, std.toString(x)] for x in literals]
