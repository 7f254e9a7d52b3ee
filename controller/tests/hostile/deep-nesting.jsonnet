// Objects nested 100,000 deep: manifesting them recurses past --max-stack.
local nest(depth) = if depth == 0 then {} else { a: nest(depth - 1) };
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, deep: nest(100000) }
