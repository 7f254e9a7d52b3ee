// go-yaml v2 rejects a tab where libyaml expects indentation (here a blank line holding a tab); the YAML 1.2
// parser JaaS uses accepts it. A known difference (docs/fidelity.md).
std.parseYaml('a: 1\n\t\nb: 2\n')
