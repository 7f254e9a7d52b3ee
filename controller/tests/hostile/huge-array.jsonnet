// An array of 100 million numbers in the output.
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, numbers: std.makeArray(100 * 1000 * 1000, function(i) i) }
