// The largest finite double, as a number and as std.toString writes it (go-jsonnet: %.0f of an integer).
local largest = 1.7976931348623157e308;
{ apiVersion: 'jaas.test/v1', kind: 'Numbers', metadata: { name: 'largest-double' }, value: largest, text: std.toString(largest) }
