{ out: std.manifestYamlDoc({ visible: 1, hidden:: 2, forced::: 3 }) }
