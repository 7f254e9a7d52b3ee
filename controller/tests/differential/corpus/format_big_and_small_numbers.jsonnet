// std.format and % over numbers far from 1: integers past 2^53 and 2^63 (std.jsonnet's digits, computed in
// doubles), powers of ten around the exponent's rounding, subnormals, every conversion and flag. %f of values
// above ~1e302 overflows in the rounding step (format_overflow.jsonnet), so those get %.0f only.
local values = [1e300, std.pow(2, 70), -std.pow(2, 64), 9007199254740993, 1e21, 1e22, 1e23, 123456789e15, 1e-300, 2.5e-308,
                0.1, 1e100, 1.7976931348623157e308, 999999.5, 0.000012345, 1e15 + 0.3];
local moderate = [v for v in values if std.abs(v) < 1e280];
{
  d: ['%d' % v for v in values],
  x: ['%x|%#X|%o' % [v, v, v] for v in values if v >= 0],
  f: ['%f|%.0f|%.25f|%#.0f' % [v, v, v, v] for v in moderate],
  fLarge: ['%.0f|%#.0f' % [v, v] for v in values if std.abs(v) >= 1e280],
  e: ['%e|%.3E|%.0e|%#.0e' % [v, v, v, v] for v in values],
  g: ['%g|%.10G|%#g|%.1g' % [v, v, v, v] for v in values],
  zeroAlt: '%#x|%#X|%#10x|%#010x|%#o|%#5o|%#05o|%x' % [0, 0, 0, 0, 0, 0, 0, 0],
  padded: ['%+025.3f|% 30d|%-30e|' % [v, v, v] for v in moderate],
  viaStd: [std.format('%d %f %e %g', [v, v, v, v]) for v in moderate],
}
