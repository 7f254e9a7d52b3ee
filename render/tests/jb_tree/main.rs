//! Lazy, on-disk trees evaluated in-process: a generated jsonnet-bundler project (fixture.rs) renders through its
//! default import paths and jb's legacy `vendor/<name>` links with only the directory's path in the request, and the
//! sandbox holds on disk (symlinks out of the tree, `..`, absolute paths; tree paths in messages, never host paths).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixture;

use std::{fs, path::Path};

use jaas_render::{RenderError, RenderRequest, evaluate, plain_request, shape_manifests};
use serde_json::Value;

/// Evaluates on a thread with a worker-sized stack, as the worker does.
fn evaluate_on_big_stack(request: &RenderRequest) -> Result<Value, RenderError> {
    let request = request.clone();
    std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(move || evaluate(&request, 500))
        .expect("spawn the evaluation thread")
        .join()
        .expect("the evaluation does not panic")
}

#[test]
fn a_generated_jb_tree_renders_through_its_import_paths_without_loading_it() {
    let tree = tempfile::tempdir().unwrap();
    let written = fixture::write(tree.path(), fixture::SMALL).unwrap();
    assert!(written.files > 250 && written.links == fixture::SMALL.libraries, "{written:?}");

    let request = plain_request(tree.path(), &[]).unwrap();
    assert_eq!(
        (request.entry_file.as_str(), request.import_paths.clone()),
        ("main.jsonnet", vec!["lib".into(), "vendor".into()])
    );
    assert!(request.files.is_empty() && request.libraries.is_empty());
    let job_bytes = serde_json::to_vec(&request).unwrap().len();
    assert!(
        job_bytes < 1024,
        "the request carries the tree's path, not its {} bytes: {job_bytes} bytes",
        written.bytes
    );

    let value = evaluate_on_big_stack(&request).unwrap();
    let files = shape_manifests(&value).unwrap();
    let documents: Vec<&Value> = files.iter().flat_map(|file| file.documents.iter().copied()).collect();
    let per_kind = |kind: &str| documents.iter().filter(|d| d["kind"] == kind).count();
    let components = fixture::SMALL.libraries * fixture::SMALL.imported;
    for kind in ["ConfigMap", "Role", "RoleBinding", "Deployment"] {
        assert_eq!(per_kind(kind), components, "{kind} documents");
    }
    assert_eq!(documents.len(), 4 * components, "the *List objects are flattened into their items");
    assert_eq!(value["alertmanager-configMaps"]["kind"], "ConfigMapList");
    let dashboard = &value["alertmanager-configMaps"]["items"][0]["data"]["dashboard.json"];
    assert!(dashboard.as_str().is_some_and(|text| text.contains("alertmanager panel 59")), "importstr through a link");

    // The entry file with -J, as `jsonnet -J vendor -J lib main.jsonnet`: the same value.
    let jpaths = [tree.path().join("vendor"), tree.path().join("lib")];
    let with_jpaths = plain_request(&tree.path().join("main.jsonnet"), &jpaths).unwrap();
    assert_eq!(with_jpaths.import_paths, ["lib", "vendor"]);
    assert_eq!(evaluate_on_big_stack(&with_jpaths).unwrap(), value);
}

/// A small tree with jb links, a link out of the tree and files of every kind the table imports.
fn sandbox_tree(outside: &Path) -> tempfile::TempDir {
    let tree = tempfile::tempdir().unwrap();
    let root = tree.path();
    fs::write(outside.join("secret.libsonnet"), "'secret'").unwrap();
    fs::create_dir_all(root.join("vendor/github.com/org/k/jsonnet/k")).unwrap();
    fs::write(
        root.join("vendor/github.com/org/k/jsonnet/k/k.libsonnet"),
        "{ file: std.thisFile, up: import '../up.libsonnet' }",
    )
    .unwrap();
    fs::write(root.join("vendor/github.com/org/k/jsonnet/k/bad.libsonnet"), "{ a: error 'broken vendored file' }")
        .unwrap();
    fs::write(root.join("vendor/up.libsonnet"), "'lexical parent of the link'").unwrap();
    fs::write(root.join("bytes.bin"), [0xff, 0x00, 0xfe]).unwrap();
    std::os::unix::fs::symlink("github.com/org/k/jsonnet/k", root.join("vendor/k")).unwrap();
    std::os::unix::fs::symlink(outside, root.join("vendor/out")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.libsonnet"), root.join("secret.libsonnet")).unwrap();
    tree
}

/// A value, or the reason and a fragment of the message of the error.
type Expected = Result<Value, (&'static str, &'static str)>;

#[test]
fn the_sandbox_holds_on_disk_and_messages_show_tree_paths() {
    let outside = tempfile::tempdir().unwrap();
    let tree = sandbox_tree(outside.path());
    let cases: [(&str, Expected); 9] = [
        (
            "import 'k/k.libsonnet'",
            Ok(serde_json::json!({"file": "vendor/k/k.libsonnet", "up": "lexical parent of the link"})),
        ),
        ("importbin 'bytes.bin'", Ok(serde_json::json!([255, 0, 254]))),
        ("import 'vendor/k/bad.libsonnet'", Err(("EvaluationFailed", "vendor/k/bad.libsonnet:1"))),
        (
            "import 'out/secret.libsonnet'",
            Err(("ImportForbidden", "vendor/out/secret.libsonnet resolves through a symlink")),
        ),
        ("importstr 'secret.libsonnet'", Err(("ImportForbidden", "secret.libsonnet resolves through a symlink"))),
        ("import '../secret.libsonnet'", Err(("ImportForbidden", "'..' climbs above the snippet's root"))),
        ("import 'k/../../../x'", Err(("ImportForbidden", "climbs above"))),
        ("import '/etc/passwd'", Err(("ImportForbidden", "absolute paths are not allowed"))),
        (
            "import 'missing.libsonnet'",
            Err(("EvaluationFailed", "looked for missing.libsonnet, vendor/missing.libsonnet")),
        ),
    ];
    for (code, expected) in cases {
        fs::write(tree.path().join("main.jsonnet"), code).unwrap();
        let request = plain_request(tree.path(), &[]).unwrap();
        match (evaluate_on_big_stack(&request), expected) {
            (Ok(value), Ok(want)) => assert_eq!(value, want, "{code}"),
            (Err(error), Err((reason, fragment))) => {
                let message = error.to_string();
                assert_eq!(error.reason(), reason, "{code}: {message}");
                assert!(message.contains(fragment), "{code}: {message:?} lacks {fragment:?}");
                for host in [tree.path(), outside.path()] {
                    assert!(!message.contains(&host.display().to_string()), "{code}: {message:?} shows a host path");
                }
            }
            (got, want) => panic!("{code}: got {got:?}, expected {want:?}"),
        }
    }
}

#[test]
fn an_entry_file_linked_out_of_the_tree_is_forbidden() {
    let outside = tempfile::tempdir().unwrap();
    let tree = sandbox_tree(outside.path());
    let request = RenderRequest {
        entry_file: "secret.libsonnet".to_owned(),
        directory: Some(tree.path().to_path_buf()),
        ..RenderRequest::default()
    };
    let error = evaluate_on_big_stack(&request).unwrap_err();
    assert_eq!(error.reason(), "ImportForbidden", "{error}");
}
