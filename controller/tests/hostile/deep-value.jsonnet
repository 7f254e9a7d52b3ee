// Objects nested 150 deep: within --max-stack, deeper than the 126 levels the renderer reads.
local nest(depth) = if depth == 0 then {} else { a: nest(depth - 1) };
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, deep: nest(150) }
