// 1e308 * 10 is beyond the largest double: no finite number to write.
{ apiVersion: 'jaas.test/v1', kind: 'Numbers', metadata: { name: 'hostile' }, value: 1e308 * 10 }
