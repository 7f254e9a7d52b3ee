// A host file reached by climbing out of the snippet with '..'.
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hostile' }, data: { value: importstr '../../../../../../../../etc/passwd' } }
