//! Jsonnet written for Tanka renders through the real `jaas render` binary (and so the real `eval-worker`): a small
//! grafana/jsonnet-libs-style project whose helper library reaches Tanka's native functions through
//! `std.native(...)`. Expected values are written by hand from Tanka's documented semantics (Go's `regexp`,
//! `encoding/json`, gopkg.in/yaml.v3, `crypto/sha256`), not taken from JaaS's own output.

#![allow(clippy::unwrap_used)]

mod render_support;

use render_support::{assert_fails, at, render, stderr, tree};
use serde_json::json;

/// A Tanka-style helper library, as jsonnet-libs projects keep one under `lib/`.
const UTIL: &str = r"{
  parseYaml:: std.native('parseYaml'),
  parseJson:: std.native('parseJson'),
  manifestYamlFromJson:: std.native('manifestYamlFromJson'),
  manifestJsonFromJson:: std.native('manifestJsonFromJson'),
  escapeStringRegex:: std.native('escapeStringRegex'),
  regexMatch:: std.native('regexMatch'),
  regexSubst:: std.native('regexSubst'),
  sha256:: std.native('sha256'),

  // A Kubernetes name: lower case, each run of other characters one '-'.
  k8sName(name):: $.regexSubst('[^a-z0-9]+', std.asciiLower(name), '-'),
}
";

/// Prometheus rules as a YAML file, with a `$namespaces` placeholder and YAML 1.1 words (`no`) that yaml.v3
/// reads as strings.
const RULES: &str = r#"groups:
  - name: namespace.rules
    rules:
      - record: namespace:container_cpu_usage_seconds_total:sum_rate
        expr: sum by (namespace) (rate(container_cpu_usage_seconds_total{namespace=~"$namespaces"}[5m]))
      - alert: NamespaceCPUThrottled
        expr: sum by (namespace) (rate(container_cpu_cfs_throttled_periods_total{namespace=~"$namespaces"}[5m])) > 0.25
        for: 15m
        labels:
          severity: warning
          page: no
        annotations:
          summary: CPU of {{ $labels.namespace }} is throttled
"#;

/// A Grafana dashboard as exported, compactly formatted.
const DASHBOARD: &str = r#"{"title": "Node Exporter / Nodes", "uid": "node-nodes",
 "panels": [{"id": 1, "type": "timeseries", "title": "CPU", "targets": [{"expr": "rate(node_cpu_seconds_total{mode!=\"idle\"}[5m])"}]}],
 "tags": [], "schemaVersion": 39}
"#;

const MAIN: &str = r"local util = import 'tanka-util.libsonnet';
local rules = util.parseYaml(importstr 'rules.yaml')[0];
local dashboard = util.parseJson(importstr 'dashboard.json');
local namespaces = ['team.a', 'team-b'];
local namespaceRegex = std.join('|', std.map(util.escapeStringRegex, namespaces));
local datasources = {
  apiVersion: 1,
  datasources: [{
    name: 'Prometheus',
    type: 'prometheus',
    url: 'http://prometheus:9090',
    isDefault: true,
    jsonData: { timeInterval: '30s' },
  }],
};
local image = 'grafana/grafana:10.4.2';
[
  {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: util.k8sName('Node Exporter Rules'), namespace: 'monitoring' },
    spec: {
      groups: [
        group { rules: [rule { expr: util.regexSubst('\\$namespaces', rule.expr, namespaceRegex) } for rule in group.rules] }
        for group in rules.groups
      ],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'grafana-dashboard-' + util.k8sName(dashboard.title),
      annotations: { 'grafana.com/checksum': util.sha256(importstr 'dashboard.json') },
    },
    data: { [util.k8sName(dashboard.title) + '.json']: util.manifestJsonFromJson(importstr 'dashboard.json', 2) },
  },
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'grafana-datasources',
      labels: {
        'app.kubernetes.io/version': util.regexSubst('^[^:]+:(.+)$', image, '$1'),
        'example.com/team-namespace': std.toString(util.regexMatch('^team', namespaces[0])),
      },
    },
    data: { 'datasources.yaml': util.manifestYamlFromJson(std.manifestJson(datasources)) },
  },
]
";

#[test]
fn a_tanka_style_project_renders_with_tankas_native_functions() {
    let dir = tree(&[
        ("main.jsonnet", MAIN),
        ("lib/tanka-util.libsonnet", UTIL),
        ("rules.yaml", RULES),
        ("dashboard.json", DASHBOARD),
    ]);
    let output = render(&[&at(&dir, ""), "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let rendered: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    // `\$namespaces` replaced by the escaped namespaces: Go's replacement text takes `\` literally.
    let namespaces = r#"namespace=~"team\.a|team-b""#;
    let rule = json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "node-exporter-rules", "namespace": "monitoring"},
        "spec": {"groups": [{
            "name": "namespace.rules",
            "rules": [
                {
                    "record": "namespace:container_cpu_usage_seconds_total:sum_rate",
                    "expr": format!("sum by (namespace) (rate(container_cpu_usage_seconds_total{{{namespaces}}}[5m]))"),
                },
                {
                    "alert": "NamespaceCPUThrottled",
                    "expr": format!(
                        "sum by (namespace) (rate(container_cpu_cfs_throttled_periods_total{{{namespaces}}}[5m])) > 0.25"
                    ),
                    "for": "15m",
                    // yaml.v3 keeps YAML 1.1's `no` a string (std.parseYaml, go-yaml v2, would say false).
                    "labels": {"severity": "warning", "page": "no"},
                    "annotations": {"summary": "CPU of {{ $labels.namespace }} is throttled"},
                },
            ],
        }]},
    });
    // Go's json.Indent: the keys in the file's order, two spaces a level, `[]` kept, a newline at the end.
    let dashboard_json = r#"{
  "title": "Node Exporter / Nodes",
  "uid": "node-nodes",
  "panels": [
    {
      "id": 1,
      "type": "timeseries",
      "title": "CPU",
      "targets": [
        {
          "expr": "rate(node_cpu_seconds_total{mode!=\"idle\"}[5m])"
        }
      ]
    }
  ],
  "tags": [],
  "schemaVersion": 39
}
"#;
    let dashboard = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "grafana-dashboard-node-exporter-nodes",
            // sha256sum of dashboard.json's bytes.
            "annotations": {"grafana.com/checksum": "adddf18f8e1d6900fe120efd37a4a6fe807c89c1c3aa8aafc2b1651a21f68efa"},
        },
        "data": {"node-exporter-nodes.json": dashboard_json},
    });
    // yaml.v3's Marshal: four spaces a level, a sequence indented under its key, an item's mapping after `- `,
    // a nested mapping aligned to the next multiple of four.
    let datasources_yaml = "\
apiVersion: 1
datasources:
    - isDefault: true
      jsonData:
        timeInterval: 30s
      name: Prometheus
      type: prometheus
      url: http://prometheus:9090
";
    let datasources = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "grafana-datasources",
            "labels": {"app.kubernetes.io/version": "10.4.2", "example.com/team-namespace": "true"},
        },
        "data": {"datasources.yaml": datasources_yaml},
    });
    assert_eq!(rendered, json!([rule, dashboard, datasources]));
}

#[test]
fn helm_template_and_kustomize_build_fail_with_a_clear_error() {
    let cases = [
        (
            "std.native('helmTemplate')('grafana', './charts/grafana', { calledFrom: std.thisFile })",
            "std.native('helmTemplate') is not available in JaaS: it does not run helm",
        ),
        (
            "std.native('kustomizeBuild')('./base', {})",
            "std.native('kustomizeBuild') is not available in JaaS: it does not run kustomize",
        ),
    ];
    for (code, message) in cases {
        let dir = tree(&[("main.jsonnet", code)]);
        assert_fails(&render(&[&at(&dir, "main.jsonnet")]), message);
    }
}
