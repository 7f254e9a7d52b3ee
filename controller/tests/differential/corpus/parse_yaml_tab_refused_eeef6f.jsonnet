// libyaml refuses this tab:  \ta: 1
std.parseYaml(' \ta: 1')
