local base = { metadata: { labels: { a: '1' } }, spec: { ports: [80] } };
local mixin = { metadata+: { labels+: { b: '2' } }, spec+: { ports+: [443] } };
{ out: std.manifestYamlDoc(base + mixin + { metadata+: { name: super.labels.a } }) }
