// libyaml refuses this tab: - \t1
std.parseYaml('- \t1')
