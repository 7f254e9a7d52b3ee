// Negative zero, as a number and as std.toString writes it.
{ apiVersion: 'jaas.test/v1', kind: 'Numbers', metadata: { name: 'negative-zero' }, value: -0, text: std.toString(-0) }
