// A string doubled 40 times (1 TiB): the allocation may succeed on an overcommitting kernel, then the copy runs
// until the evaluation timeout.
local grow(text, times) = if times == 0 then text else grow(text + text, times - 1);
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, data: { value: grow('x', 40) } }
