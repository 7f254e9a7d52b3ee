// `.inf` is a float to go-yaml, and encoding/json refuses it: go-jsonnet's std.parseYaml fails.
std.parseYaml('replicas: .inf\n')
