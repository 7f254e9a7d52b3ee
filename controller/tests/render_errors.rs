//! `jaas render` failures with the real binary: each error kind, its exit status and a message that names
//! the problem; bad flags exit with status 2.

#![allow(clippy::unwrap_used)]

mod render_support;

use std::time::{Duration, Instant};

use render_support::{assert_fails, at, render, stderr, tree};

fn render_code(code: &str, extra: &[&str]) -> std::process::Output {
    let dir = tree(&[("main.jsonnet", code)]);
    let entry = at(&dir, "main.jsonnet");
    let mut args = vec![entry.as_str()];
    args.extend_from_slice(extra);
    render(&args)
}

#[test]
fn missing_entry_file_is_an_invalid_spec() {
    let dir = tree(&[(
        "snippet.yaml",
        "apiVersion: jaas.metio.wtf/v1\nkind: JsonnetSnippet\nmetadata: { name: s }\nspec:\n  entryFile: app.jsonnet\n  files:\n    main.jsonnet: '{}'\n",
    )]);
    assert_fails(&render(&[&at(&dir, "snippet.yaml")]), "invalid spec: entry file \"app.jsonnet\" is not among");
}

#[test]
fn missing_library_is_reported_by_name() {
    let dir = tree(&[(
        "snippet.yaml",
        "apiVersion: jaas.metio.wtf/v1\nkind: JsonnetSnippet\nmetadata: { name: s }\nspec:\n  libraries: [absent]\n  files:\n    main.jsonnet: '{}'\n",
    )]);
    assert_fails(&render(&[&at(&dir, "snippet.yaml")]), "library not found: JsonnetLibrary \"absent\" does not exist");
}

#[test]
fn forbidden_imports_name_the_import() {
    let cases = [
        ("import '/etc/passwd'", "import forbidden: \"/etc/passwd\""),
        ("importstr '/etc/passwd'", "import forbidden: \"/etc/passwd\""),
        ("importbin '/etc/hostname'", "import forbidden: \"/etc/hostname\""),
        ("import '../x.libsonnet'", "import forbidden: \"../x.libsonnet\""),
        ("import 'http://example.com/k.libsonnet'", "import forbidden: \"http://example.com/k.libsonnet\""),
    ];
    for (code, fragment) in cases {
        assert_fails(&render_code(code, &[]), fragment);
    }
}

#[test]
fn unknown_imports_are_not_found() {
    assert_fails(&render_code("import 'nope.libsonnet'", &[]), "import not found: \"nope.libsonnet\"");
}

#[test]
fn jsonnet_errors_carry_their_location() {
    let output = render_code("local x = 1;\n{\n  a: error 'boom',\n}", &[]);
    assert_fails(&output, "evaluation failed: runtime error: boom");
    assert!(stderr(&output).contains("main.jsonnet:3:"), "{}", stderr(&output));
    let syntax = render_code("{\n  a: ,\n}", &[]);
    assert_fails(&syntax, "evaluation failed");
    assert!(stderr(&syntax).contains("main.jsonnet:2:"), "{}", stderr(&syntax));
}

#[test]
fn deep_recursion_is_a_stack_overflow() {
    assert_fails(&render_code("local f(n) = f(n + 1) + 1; f(0)", &[]), "stack overflow");
    // A lower --max-stack stops a recursion that the default allows.
    let code = "local f(n) = if n == 0 then 0 else f(n - 1) + 1; { apiVersion: 'v1', kind: 'K', metadata: { name: 'x' + f(100) } }";
    assert!(render_code(code, &[]).status.success());
    assert_fails(&render_code(code, &["--max-stack", "20"]), "stack overflow");
}

#[test]
fn endless_evaluation_times_out() {
    let started = Instant::now();
    let output =
        render_code("local f(n) = if n == 0 then 0 else f(n - 1) + f(n - 1); f(64)", &["--evaluation-timeout", "1s"]);
    assert_fails(&output, "evaluation timed out after 1s");
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
}

#[test]
fn artifacts_over_the_limit_are_rejected() {
    let code = "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' }, data: { [std.toString(i)]: std.md5(std.toString(i)) for i in std.range(0, 999) } }";
    assert_fails(&render_code(code, &["--max-artifact-bytes", "1000"]), "more than the limit of 1000 bytes");
    assert!(render_code(code, &["--max-artifact-bytes", "1000000"]).status.success());
}

#[test]
fn output_that_is_not_a_manifest_is_invalid() {
    let cases = [
        ("'just a string'", "invalid output: the entry file must evaluate to an object or an array"),
        (
            "[{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }, { apiVersion: 'v1', kind: 'ConfigMap' }]",
            "manifests.yaml document 2 (at $[1]): missing metadata.name",
        ),
        ("{ web: { apiVersion: 'v1', metadata: { name: 'a' } } }", "web.yaml document 1"),
    ];
    for (code, fragment) in cases {
        assert_fails(&render_code(code, &[]), fragment);
    }
}

#[test]
fn bad_flags_exit_with_status_2() {
    let dir = tree(&[("main.jsonnet", "{}"), ("s.yaml", "")]);
    let entry = at(&dir, "main.jsonnet");
    let cases: [&[&str]; 4] = [
        &[&entry, "--no-such-flag"],
        &[&entry, "--evaluation-timeout", "soon"],
        &[&at(&dir, "s.yaml"), "--ext-str", "a=b"],
        &[&entry, "--library", "lib.yaml"],
    ];
    for args in cases {
        let output = render(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
    }
}
