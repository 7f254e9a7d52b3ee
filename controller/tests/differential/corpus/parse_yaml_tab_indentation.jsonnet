// go-yaml v2 rejects a tab where libyaml expects indentation (here a blank line holding a tab), and so does JaaS
// (render/src/compat/yaml_tabs.rs); the YAML 1.2 parser it reads syntax with would accept it.
std.parseYaml('a: 1\n\t\nb: 2\n')
