// YAML 1.1 floats in go-yaml v2: exponents, leading/trailing dots, signs, underscores; values beyond a double
// and forms Go's ParseFloat refuses stay strings.
std.parseYaml(|||
  exp: 1e3
  expUpper: 1E3
  expSigned: 1.0e+3
  expPadded: 12e03
  negHalf: -.5
  posHalf: +.5
  trailingDot: 1.
  zeroDot: 0.
  dotExp: .5e3
  underscores: 1_0.5
  underscoreExp: 1e5_0
  underscoreFrac: 0.1_5
  underscoreLead: ._5
  dotOnly: .
  dotE: .e3
  noExpDigits: 1e
  huge: 1e400
  hugeDot: .5e400
  tiny: 1e-400
  hexFloat: 0x1p3
  infWord: +inf
  infinity: Infinity
  twoDots: .5.5
  comma: 1,000
  sexagesimal: 190:20:30
  time: 1:20
  date: 2001-12-14
  timestamp: 2001-12-14T21:59:43.10-05:00
  negZero: -0.0
  negZeroExp: -0e0
  negZeroDot: -.0
|||) + { negZeroText: std.toString(std.parseYaml('-0.0')), shortest: [std.toString(std.parseYaml(s)) for s in ['0.1', '1e-7', '123456789.123456789', '2.5e-308']] }
