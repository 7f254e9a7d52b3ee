// Recursion without a base case: only --max-stack ends it.
local forever(n) = forever(n + 1);
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, data: { value: forever(0) } }
