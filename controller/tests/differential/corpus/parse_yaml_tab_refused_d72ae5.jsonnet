// libyaml refuses this tab: a: 1\n\t# c
std.parseYaml('a: 1\n\t# c')
