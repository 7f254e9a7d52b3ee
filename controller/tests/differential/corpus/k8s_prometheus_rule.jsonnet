{
  out: std.manifestYamlDoc({
    groups: [{ name: 'g', rules: [{ alert: 'HighErrorRate', expr: 'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05', 'for': '10m', labels: { severity: 'critical' }, annotations: { description: '{{ $labels.instance }} has %.2f%% errors' % 5.5, summary: 'multi\nline: summary' } }] }],
  }, quote_keys=false),
}
