// Tabs where libyaml (go-yaml v2) accepts them, parsed alike: after a simple key's `:`, inside flow collections and
// quoted scalars, before comments, inside block scalar content, in a plain scalar, on a blank line a plain scalar's
// continuation covers, and past the token after the root node (go-yaml never scans that far).
[
  std.parseYaml(t)
  for t in [
    'a:\t1', 'a: \t1', 'a: 1 \t# c', "a: 'x\ty'", 'a: x\ty', 'a: [1,\t2]', 'a: {b:\t1}', 'a: 1\t', '---\t\na: 1',
    'a: 1\n \t\nb: 2', 'a: "x\n\ty"', 'a: &x\t1', 'a: !!str\t1', '#\tc\na: 1', 'a: |\n  x\n  \ty\n',
    '    - x\t\n a\t\n plain\ttext\t\n \t{e:\tf}',
  ]
]
