// The smallest subnormal double, as a number and as std.toString writes it (go-jsonnet: %.17g).
local smallest = 5e-324;
{ apiVersion: 'jaas.test/v1', kind: 'Numbers', metadata: { name: 'smallest-double' }, value: smallest, text: std.toString(smallest) }
