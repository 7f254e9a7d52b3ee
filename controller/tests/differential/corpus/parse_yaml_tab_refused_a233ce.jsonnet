// libyaml refuses this tab: a: |\n \tx
std.parseYaml('a: |\n \tx')
