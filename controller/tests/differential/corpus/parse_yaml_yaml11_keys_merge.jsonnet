// Non-string keys become JSON keys the way sigs.k8s.io/yaml spells them (floats through float32), merge keys
// follow go-yaml v2 (later entries override merged ones, earlier maps in a merge list win), duplicates keep the
// last value.
std.parseYaml(|||
  keys:
    010: octal
    0x10: hex
    yes: bool
    1.5: float
    0.1: tenth
    1e21: big
    123456789.5: float32
    1e6: million
    100000.0: hundredThousand
    0.00001: small
    .inf: inf
    -.inf: negInf
    .nan: nan
    2001-12-14: date
  base: &base {a: 1, b: 2}
  other: &other {a: 3, c: 4}
  mergedBefore:
    a: 5
    <<: *base
    d: 6
  mergedAfter:
    <<: *base
    a: 5
  mergedList:
    <<: [*base, *other]
  mergedNested:
    <<: {x: {deep: [1, 2]}}
  anchors: [&v 010, *v, &m {k: yes}, *m]
  duplicate: 1
  duplicate: 2
|||)
