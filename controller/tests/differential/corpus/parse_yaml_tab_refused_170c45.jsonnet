// libyaml refuses this tab: a:\n  b: 1\n\t
std.parseYaml('a:\n  b: 1\n\t')
