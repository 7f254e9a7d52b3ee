// The golden-digest fixture (controller/tests/golden_digest.rs): a fixed snippet whose artifact bytes must not
// change without a deliberate, reviewed update of the digests in that test. It touches every part of the
// output path that a dependency bump could change: several manifest files (object of manifests), a `List` that is
// flattened, YAML quoting of awkward strings, numbers of every form, unicode, multi-line strings, and a large
// file that spans many 256 KiB gzip slices of the parallel compressor.
local lib = import 'lib/names.libsonnet';
local awkward = ['yes', 'no', 'on', 'off', 'null', '~', '', ' lead', 'trail ', '0x1F', '1e3', '0o17', '012', '.5',
                 '-', '- x', 'a: b', '#x', '@x', '`x', '"q"', "'q'", 'tab\there', 'line\nbreak', 'ünï©ødé',
                 '😀', '\u2028', 'true', 'False', '1_000', '+1', '.inf', '-.Inf', '.NaN', '2001-12-14'];
local numbers = [0, -0, 1, -1, 0.1, 1e-7, 1.5e300, 123456789012345678, 3.141592653589793, 1 / 3, 2e-308];
local configMap(name, data) = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: name, labels: { app: lib.app } },
  data: data,
};
{
  'app.yaml': [
    configMap('awkward', { ['k%d' % i]: awkward[i] for i in std.range(0, std.length(awkward) - 1) }),
    {
      apiVersion: 'v1',
      kind: 'List',
      items: [configMap('listed-%d' % i, { n: std.toString(numbers[i]) }) for i in std.range(0, std.length(numbers) - 1)],
    },
    { apiVersion: 'example.com/v1', kind: 'Numbers', metadata: { name: 'numbers' }, spec: { values: numbers } },
    configMap('multiline', { script: 'set -e\necho "hi"\n\tindented\n', folded: std.join('\n', awkward) }),
  ],
  'big.yaml': [
    configMap('big-%03d' % i, { ['key-%04d' % j]: std.md5('%d/%d' % [i, j]) for j in std.range(0, 99) })
    for i in std.range(0, 299)
  ],
}
