// A string doubled 48 times: jrsonnet concatenates lazily, then allocates all 256 TiB at once to write it out.
local grow(text, times) = if times == 0 then text else grow(text + text, times - 1);
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, data: { value: grow('x', 48) } }
