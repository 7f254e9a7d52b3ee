// YAML 1.1 booleans and nulls as go-yaml v2 spells them (and the spellings it leaves as strings).
std.parseYaml(|||
  - [y, Y, yes, Yes, YES, yEs, true, True, TRUE, tRue, on, On, ON, oN]
  - [n, N, no, No, NO, nO, false, False, FALSE, fAlse, off, Off, OFF, oFf]
  - [~, null, Null, NULL, nULL, '', "", "null", 'yes', "on", !!str yes]
  - {y: 1, n: 2, on: 3, off: 4, yes: 5, no: 6, ~x: 7}
  - key:
  - ? explicit
|||)
