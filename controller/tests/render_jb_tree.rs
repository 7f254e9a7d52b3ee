//! `jaas render` of a generated jsonnet-bundler project (render/tests/jb_tree/fixture.rs) with the real binary and
//! its `eval-worker`: `jaas render DIR` gives go-jsonnet's value for `jsonnet -J vendor -J lib`; at real size (about
//! 1,000 files, 10 MB) `jaas render DIR/main.jsonnet -J vendor -J lib` gives the same bytes, and the `*List` objects
//! of the tree come out as their items.

#![allow(clippy::unwrap_used)]

mod render_support;

#[path = "../../render/tests/jb_tree/fixture.rs"]
mod fixture;

use render_support::{
    go_jsonnet::{self, GoJob, Outcome},
    render, stderr, stdout,
};

/// Debug builds evaluate the full tree in seconds; the default limit of 5 s is for production snippets.
const TIMEOUT: &str = "--evaluation-timeout=300s";

/// `jaas render DIR --format json` of a generated tree, which must succeed.
fn render_json(tree: &std::path::Path) -> (Vec<u8>, serde_json::Value) {
    let output = render(&[&tree.to_string_lossy(), "--format", "json", TIMEOUT]);
    match Outcome::of_jaas_json(&output) {
        Outcome::Value(value) => (output.stdout, value),
        failed @ Outcome::Error(_) => panic!("jaas render DIR failed: {}", failed.describe()),
    }
}

#[test]
fn a_jb_tree_renders_as_go_jsonnet_evaluates_it() {
    // go-jsonnet needs a minute for the full tree; a few hundred files exercise the same imports and links.
    let tree = tempfile::tempdir().unwrap();
    fixture::write(tree.path(), fixture::SMALL).unwrap();
    let (_, value) = render_json(tree.path());
    let path = |relative: &str| tree.path().join(relative).to_string_lossy().into_owned();
    let job = GoJob { file: path("main.jsonnet"), jpathdir: vec![path("vendor"), path("lib")], ..GoJob::default() };
    let reference = go_jsonnet::evaluate(&[job]).pop().unwrap();
    let Outcome::Value(expected) = &reference else { panic!("go-jsonnet failed: {}", reference.describe()) };
    if let Some(difference) = go_jsonnet::first_difference(&value, expected) {
        panic!("jaas render DIR departs from go-jsonnet {difference}");
    }
}

#[test]
fn a_jb_tree_of_real_size_renders_with_and_without_jpaths_and_lists_are_flattened() {
    let tree = tempfile::tempdir().unwrap();
    let written = fixture::write(tree.path(), fixture::FULL).unwrap();
    assert!(written.files >= 1_000 && written.bytes >= 10_000_000, "a tree of real size: {written:?}");
    let path = |relative: &str| tree.path().join(relative).to_string_lossy().into_owned();

    let (directory_form, _) = render_json(tree.path());
    let file_form =
        render(&[&path("main.jsonnet"), "-J", &path("vendor"), "-J", &path("lib"), "--format", "json", TIMEOUT]);
    assert!(file_form.status.success(), "{}", stderr(&file_form));
    assert_eq!(file_form.stdout, directory_form, "the entry file with -J renders as its directory does");

    let yaml = render(&[&path(""), TIMEOUT]);
    assert!(yaml.status.success(), "{}", stderr(&yaml));
    let text = stdout(&yaml);
    let components = fixture::FULL.libraries * fixture::FULL.imported;
    for kind in ["ConfigMap", "Role", "RoleBinding", "Deployment"] {
        assert_eq!(text.matches(&format!("\nkind: {kind}\n")).count(), components, "{kind} documents");
    }
    assert!(!text.contains("List\n"), "no *List object is left unflattened");
}

#[test]
fn a_directory_without_main_jsonnet_is_a_clear_error() {
    let tree = tempfile::tempdir().unwrap();
    let output = render(&[&tree.path().to_string_lossy()]);
    render_support::assert_fails(&output, "holds no main.jsonnet");
}
