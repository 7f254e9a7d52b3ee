// Only plain scalars are resolved: quoted and block scalars are strings, whatever they look like.
std.parseYaml(|||
  plain: [010, 0x1F, yes, ~, 1e3, .5]
  single: ['010', '0x1F', 'yes', '~', '1e3', '.inf']
  double: ["010", "0x1F", "yes", "~", "1e3", ".inf"]
  literal: |
    010
  folded: >-
    yes
  plainMultiline: 010
    020
  mergeQuoted: {"<<": {a: 1}}
  colon: a:b
  hash: a#b
|||)
