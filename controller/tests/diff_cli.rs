//! `jaas diff` end to end with the real binary: artifacts written by `jaas render -o`, a revision in a local storage
//! directory against a local render, the JSON report, and references that cannot be read.

#![allow(clippy::unwrap_used)]

mod render_support;

use std::process::Output;

use render_support::{at, jaas, render, stderr, stdout, tree};
use sha2::{Digest as _, Sha256};

/// Three objects: ConfigMaps `settings` and `legacy`, Deployment `web`.
const BEFORE: &str = "
local cm(name, data) = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name, namespace: 'default' }, data: data };
[
  cm('settings', { color: 'blue', mode: 'fast', size: 'large' }),
  cm('legacy', { keep: 'no' }),
  { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 2 } },
]";

/// `settings` changed, `legacy` dropped, Service `web` added, the Deployment as before.
const AFTER: &str = "
local cm(name, data) = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name, namespace: 'default' }, data: data };
[
  cm('settings', { color: 'green', mode: 'fast', size: 'large' }),
  { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 2 } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ port: 80 }] } },
]";

/// What `jaas diff` prints from BEFORE to AFTER.
const EXPECTED: &str = "\
- ConfigMap default/legacy
~ ConfigMap default/settings
--- a/manifests.yaml
+++ b/manifests.yaml
@@ -1,6 +1,6 @@
 apiVersion: v1
 data:
-  color: blue
+  color: green
   mode: fast
   size: large
 kind: ConfigMap
+ Service default/web
1 added, 1 removed, 1 changed, 1 unchanged
";

fn diff(args: &[&str]) -> Output {
    jaas().arg("diff").args(args).output().expect("jaas runs")
}

/// A directory holding `before.jsonnet` and `after.jsonnet`, and their artifacts `before.tar.gz`, `after.tar.gz`.
fn two_revisions() -> tempfile::TempDir {
    let dir = tree(&[("before.jsonnet", BEFORE), ("after.jsonnet", AFTER)]);
    for name in ["before", "after"] {
        let output = render(&[&at(&dir, &format!("{name}.jsonnet")), "-o", &at(&dir, &format!("{name}.tar.gz"))]);
        assert!(output.status.success(), "{output:?}");
    }
    dir
}

fn assert_status(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "stdout:\n{}\nstderr:\n{}", stdout(output), stderr(output));
}

#[test]
fn two_artifacts_differ_object_by_object() {
    let dir = two_revisions();
    let output = diff(&[&at(&dir, "before.tar.gz"), &at(&dir, "after.tar.gz")]);
    assert_status(&output, 1);
    assert_eq!(stdout(&output), EXPECTED);

    let output = diff(&["--summary", &at(&dir, "before.tar.gz"), &at(&dir, "after.tar.gz")]);
    assert_status(&output, 1);
    let summary = "- ConfigMap default/legacy\n~ ConfigMap default/settings\n+ Service default/web\n";
    assert_eq!(stdout(&output), format!("{summary}1 added, 1 removed, 1 changed, 1 unchanged\n"));
}

#[test]
fn an_artifact_does_not_differ_from_itself() {
    let dir = two_revisions();
    let output = diff(&[&at(&dir, "after.tar.gz"), &at(&dir, "after.tar.gz")]);
    assert_status(&output, 0);
    assert_eq!(stdout(&output), "0 added, 0 removed, 0 changed, 3 unchanged\n");
}

#[test]
fn a_stored_revision_against_a_local_render() {
    let dir = two_revisions();
    let tarball = std::fs::read(dir.path().join("before.tar.gz")).unwrap();
    let hex = hex::encode(Sha256::digest(&tarball));
    let storage = dir.path().join("storage");
    let revision_dir = storage.join("default/web");
    std::fs::create_dir_all(&revision_dir).unwrap();
    std::fs::write(revision_dir.join(format!("sha256-{hex}.tar.gz")), &tarball).unwrap();
    let storage = storage.to_string_lossy().into_owned();

    let stored = format!("default/web@sha256:{hex}");
    let output = diff(&["--storage-path", &storage, &stored, &at(&dir, "after.jsonnet")]);
    assert_status(&output, 1);
    assert_eq!(stdout(&output), EXPECTED);

    // The bare hex names the same revision; the JSON report lists the same keys, the diff with the changed one.
    let bare = format!("default/web@{hex}");
    let output = diff(&["--storage-path", &storage, "--output", "json", &bare, &at(&dir, "after.jsonnet")]);
    assert_status(&output, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let key =
        |kind: &str, name: &str| serde_json::json!({"group": "", "kind": kind, "namespace": "default", "name": name});
    assert_eq!(report["added"], serde_json::json!([key("Service", "web")]));
    assert_eq!(report["removed"], serde_json::json!([key("ConfigMap", "legacy")]));
    assert_eq!(report["changed"][0]["name"], "settings");
    assert!(report["changed"][0]["diff"].as_str().unwrap().contains("-  color: blue\n+  color: green\n"), "{report}");
    assert_eq!(report["unchanged"], 1);
}

#[test]
fn a_reference_that_cannot_be_read_is_exit_status_2_with_its_name() {
    let dir = two_revisions();
    std::fs::write(dir.path().join("text.tar.gz"), "not a tarball").unwrap();
    std::fs::write(dir.path().join("broken.jsonnet"), "{ a: }").unwrap();
    std::fs::create_dir(dir.path().join("storage")).unwrap();
    let after = at(&dir, "after.tar.gz");
    let missing = format!("default/web@sha256:{}", "0".repeat(64));
    let cases: [(&str, &str, &[&str]); 5] = [
        (
            "default/web@sha256:abc",
            &after,
            &["A: invalid revision reference \"default/web@sha256:abc\"", "invalid digest"],
        ),
        (&after, &missing, &[&format!("B ({missing}): artifact"), "not found"]),
        (&at(&dir, "none.tar.gz"), &after, &["A (", "none.tar.gz): cannot read"]),
        (&at(&dir, "text.tar.gz"), &after, &["text.tar.gz): not a readable tar.gz"]),
        (&after, &at(&dir, "broken.jsonnet"), &["broken.jsonnet): rendering failed:"]),
    ];
    for (a, b, fragments) in cases {
        let output = diff(&["--storage-path", &at(&dir, "storage"), a, b]);
        assert_status(&output, 2);
        assert_eq!(stdout(&output), "", "{a} {b}");
        let text = stderr(&output);
        for fragment in fragments {
            assert!(text.contains(fragment), "{a} {b}: {text:?} lacks {fragment:?}");
        }
    }
}
