// go-jsonnet reads YAML 1.1 integers: a leading 0 is octal, 0x/0o/0b prefixes, underscores, signs, and values
// past int64 as uint64 or floats.
std.parseYaml(|||
  octal: 010
  mode: 0755
  notOctal: 08
  notOctalFloat: 09.5
  zeros: 00
  hex: 0x1F
  hexUpper: 0X1f
  hexSigned: -0x10
  hexPlus: +0x10
  oct: 0o17
  octUpper: 0O17
  bin: 0b101
  binNegative: -0b101
  binBad: 0b2
  underscores: 1_000
  underscoresOdd: 1__0
  underscoreFirst: _10
  hexUnderscore: 0x_1F
  minusZero: -0
  int64Max: 9223372036854775807
  int64Min: -9223372036854775808
  uint64: 12345678901234567890
  uint64Hex: 0x8000000000000000
  tooNegative: -0x8000000000000001
  beyondUint64: 123456789012345678901234
  emptyHex: 0x
  list: [010, 0o17, 0x10, 1_0]
|||)
