// A null mapping key has no JSON spelling in sigs.k8s.io/yaml: go-jsonnet's std.parseYaml fails.
std.parseYaml('~: a\n')
