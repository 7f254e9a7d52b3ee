// libyaml refuses this tab: ? a\n:\t1
std.parseYaml('? a\n:\t1')
