//! A jsonnet-bundler (jb) project generated on disk, shaped like kube-prometheus, for the tests and the benchmark of
//! lazy directory trees: `jsonnetfile.json`, the project's `lib/`, and a `vendor/` of several libraries under
//! `github.com/<org>/<repo>/jsonnet/<name>/` with jb's legacy links `vendor/<name>` pointing there. Every library has
//! components its `main.libsonnet` imports and some it never names (tests, docs, spare components), dashboards read
//! with `importstr`, and returns `ConfigMapList`/`RoleList`/`RoleBindingList` objects, as kube-prometheus does.
//!
//! Included with `#[path]` by render/tests/jb_tree/main.rs, controller/tests/render_jb_tree.rs and
//! render/examples/jb_tree.rs (which writes one for e2e/bench-jb-tree.sh): nothing of it is committed but this code.

#![allow(dead_code, reason = "each includer uses a different subset")]

use std::{fmt::Write as _, fs, io, path::Path};

/// How big a tree to write.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Vendored libraries (at most [`LIBRARIES`]`.len()`).
    pub libraries: usize,
    /// Component files per library.
    pub components: usize,
    /// Of those, how many the library's `main.libsonnet` imports (the rest is never read).
    pub imported: usize,
    /// Bytes of comment text that pad each component, as documentation pads real libraries.
    pub padding: usize,
}

/// About 1,000 files and 10 MB, the size of a vendored kube-prometheus: for the benchmark and the end-to-end test.
pub const FULL: Scale = Scale { libraries: 8, components: 100, imported: 60, padding: 8_800 };
/// A few hundred files, for fast in-process tests.
pub const SMALL: Scale = Scale { libraries: 4, components: 60, imported: 30, padding: 500 };

/// The vendored libraries: (legacy link name, GitHub org/repo).
pub const LIBRARIES: [(&str, &str); 8] = [
    ("kube-lib", "example/kube-lib"),
    ("alertmanager", "example/alertmanager-mixin"),
    ("node-exporter", "example/node-exporter-mixin"),
    ("kube-state", "example/kube-state-metrics"),
    ("grafana-dash", "example/grafana-dashboards"),
    ("prom-operator", "example/prometheus-operator"),
    ("blackbox", "example/blackbox-exporter"),
    ("adapter", "example/prometheus-adapter"),
];

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Regular files written.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Legacy links written.
    pub links: usize,
}

/// Writes the tree below `root` (which must exist and be empty); `main.jsonnet` is its entry file.
pub fn write(root: &Path, scale: Scale) -> io::Result<Written> {
    let mut written = Written::default();
    let libraries = &LIBRARIES[..scale.libraries.min(LIBRARIES.len())];
    let mut put = |path: &str, content: &str| -> io::Result<()> {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(path, content)?;
        written.files += 1;
        written.bytes += content.len() as u64;
        Ok(())
    };
    put("jsonnetfile.json", &jsonnetfile(libraries))?;
    put(
        "lib/config.libsonnet",
        "{ namespace: 'monitoring', replicas: 2, labels: { 'app.kubernetes.io/part-of': 'jb-tree' } }\n",
    )?;
    put("lib/naming.libsonnet", "{ name(library, component):: library + '-' + component }\n")?;
    put("main.jsonnet", &main_file(libraries))?;
    for (index, (name, repo)) in libraries.iter().enumerate() {
        let base = format!("vendor/github.com/{repo}/jsonnet/{name}");
        put(&format!("{base}/main.libsonnet"), &library_main(name, scale))?;
        put(&format!("{base}/util.libsonnet"), &library_util(name))?;
        if index == 0 {
            put(&format!("{base}/kube.libsonnet"), KUBE_LIBSONNET)?;
        }
        put(&format!("{base}/README.md"), &format!("# {name}\n\nGenerated for the jb tree tests.\n"))?;
        put(&format!("{base}/tests/test.jsonnet"), "error 'tests are never imported by the project'\n")?;
        for component in 0..scale.components {
            put(
                &format!("{base}/components/c{component:03}.libsonnet"),
                &component_file(name, index, component, scale),
            )?;
            if component.is_multiple_of(4) {
                put(&format!("{base}/dashboards/d{component:03}.json"), &dashboard(name, component))?;
            }
        }
        std::os::unix::fs::symlink(format!("github.com/{repo}/jsonnet/{name}"), root.join("vendor").join(name))?;
    }
    Ok(Written { links: libraries.len(), ..written })
}

fn jsonnetfile(libraries: &[(&str, &str)]) -> String {
    let dependencies: Vec<String> = libraries
        .iter()
        .map(|(name, repo)| {
            format!(
                r#"    {{ "source": {{ "git": {{ "remote": "https://github.com/{repo}.git", "subdir": "jsonnet/{name}" }} }}, "version": "main" }}"#
            )
        })
        .collect();
    format!(
        "{{\n  \"version\": 1,\n  \"dependencies\": [\n{}\n  ],\n  \"legacyImports\": true\n}}\n",
        dependencies.join(",\n")
    )
}

/// The project's entry: each library through its legacy link (found on the `vendor` search path), config from `lib`.
fn main_file(libraries: &[(&str, &str)]) -> String {
    let mut text = String::from("local config = import 'config.libsonnet';\nlocal libraries = {\n");
    for (name, _) in libraries {
        let _ = writeln!(text, "  '{name}': import '{name}/main.libsonnet',");
    }
    text.push_str(
        "};\n{\n  [name + '-' + part]: libraries[name].manifests(config)[part]\n  \
         for name in std.objectFields(libraries)\n  for part in ['configMaps', 'roles', 'roleBindings', 'deployments']\n}\n",
    );
    text
}

fn library_main(name: &str, scale: Scale) -> String {
    let mut text = format!("// {name}: the library's entry, as jb vendors it.\nlocal components = [\n");
    for component in 0..scale.imported.min(scale.components) {
        let _ = writeln!(text, "  import 'components/c{component:03}.libsonnet',");
    }
    text.push_str(
        "];\nlocal list(apiVersion, kind, items) = { apiVersion: apiVersion, kind: kind, items: items };\n{\n  \
         manifests(config):: {\n    \
         configMaps: list('v1', 'ConfigMapList', [c.configMap(config) for c in components]),\n    \
         roles: list('rbac.authorization.k8s.io/v1', 'RoleList', [c.role(config) for c in components]),\n    \
         roleBindings: list('rbac.authorization.k8s.io/v1', 'RoleBindingList', [c.roleBinding(config) for c in components]),\n    \
         deployments: [c.deployment(config) for c in components],\n  },\n}\n",
    );
    text
}

/// Helpers shared by a library's components; the base library reaches the project's `lib/` by the search path.
fn library_util(name: &str) -> String {
    format!(
        "local naming = import 'naming.libsonnet';\n{{\n  library: '{name}',\n  \
         name(component):: naming.name(self.library, component),\n  \
         labels(config, component):: config.labels + {{ 'app.kubernetes.io/name': $.name(component) }},\n}}\n"
    )
}

/// One component: relative imports, an import of another library through its legacy link, a table computed in
/// Jsonnet and (every fourth) a dashboard read with `importstr`.
fn component_file(name: &str, index: usize, component: usize, scale: Scale) -> String {
    let mut text = format!("// {name} component {component}.\n");
    while text.len() < scale.padding {
        let _ = writeln!(
            text,
            "// Documentation of {name} component {component}, line {}: what it renders, its defaults and why.",
            text.len()
        );
    }
    let kube = if index == 0 { "import '../kube.libsonnet'" } else { "import 'kube-lib/kube.libsonnet'" };
    let dashboard = if component.is_multiple_of(4) {
        format!("importstr '../dashboards/d{component:03}.json'")
    } else {
        "'{}'".to_owned()
    };
    let _ = write!(
        text,
        "local util = import '../util.libsonnet';\nlocal kube = {kube};\n\
         local component = 'c{component:03}';\n\
         local table = {{ ['setting-%03d' % n]: '%s=%d' % [component, n * {seed}] for n in std.range(0, 39) }};\n{{\n  \
         configMap(config):: kube.configMap(util.name(component), config.namespace, util.labels(config, component),\n    \
         table + {{ 'dashboard.json': {dashboard} }}),\n  \
         role(config):: kube.role(util.name(component), config.namespace, [{{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }}]),\n  \
         roleBinding(config):: kube.roleBinding(util.name(component), config.namespace, util.name(component)),\n  \
         deployment(config):: kube.deployment(util.name(component), config.namespace, config.replicas, util.labels(config, component)),\n}}\n",
        seed = index * 1000 + component,
    );
    text
}

fn dashboard(name: &str, component: usize) -> String {
    let panels: Vec<String> = (0..60)
        .map(|panel| {
            format!(
                r#"{{"id":{panel},"title":"{name} panel {panel}","type":"timeseries","targets":[{{"expr":"sum(rate({name}_requests_total{{component=\"c{component:03}\"}}[5m])) by (instance, job, le)"}}],"gridPos":{{"x":{},"y":{},"w":12,"h":8}}}}"#,
                (panel % 2) * 12,
                panel * 8
            )
        })
        .collect();
    format!(
        "{{\"title\":\"{name} c{component:03}\",\"uid\":\"{name}-c{component:03}\",\"panels\":[{}]}}\n",
        panels.join(",")
    )
}

/// The kube library (the first vendored library) defines the object constructors every component uses.
pub const KUBE_LIBSONNET: &str = "{
  meta(name, namespace, labels={}):: { name: name, namespace: namespace, [if labels != {} then 'labels']: labels },
  configMap(name, namespace, labels, data):: { apiVersion: 'v1', kind: 'ConfigMap', metadata: $.meta(name, namespace, labels), data: data },
  role(name, namespace, rules):: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: $.meta(name, namespace), rules: rules },
  roleBinding(name, namespace, role):: {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: $.meta(name, namespace),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
    subjects: [{ kind: 'ServiceAccount', name: name, namespace: namespace }],
  },
  deployment(name, namespace, replicas, labels):: {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: $.meta(name, namespace, labels),
    spec: { replicas: replicas, selector: { matchLabels: labels }, template: { metadata: { labels: labels }, spec: { containers: [{ name: name, image: 'example.com/' + name + ':v1' }] } } },
  },
}
";
