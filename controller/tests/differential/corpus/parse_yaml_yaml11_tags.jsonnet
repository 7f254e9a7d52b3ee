// Explicit tags: !!str keeps the text, !!int/!!float/!!bool/!!null resolve even quoted text, !!binary is
// base64, unknown and non-specific tags leave the text, tags on collections are ignored.
std.parseYaml(|||
  str: !!str 010
  strEmpty: !!str
  int: !!int "010"
  float: !!float 1
  floatOfHex: !!float 0x10
  bool: !!bool "yes"
  nullTag: !!null ""
  custom: !foo 10
  nonSpecific: ! 10
  binary: !!binary aGVsbG8=
  binaryBlock: !!binary |
    aGVs
    bG8=
  binaryInvalidUtf8: !!binary 4oI=
  merge: !!merge x
  map: !!map {b: 1}
  seq: !!seq [1]
  customMap: !thing {b: 2}
|||)
