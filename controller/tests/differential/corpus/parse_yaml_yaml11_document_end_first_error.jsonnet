// A `...` before any document: YAML 1.2 parsers skip it, go-yaml v2 (libyaml's parser) wants a node there.
std.parseYaml('# header\n...\na: 1\n')
