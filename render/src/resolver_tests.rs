//! Table-driven tests of import resolution.

use super::*;

fn tree() -> TreeResolver {
    let snippet: BTreeMap<String, String> =
        ["main.jsonnet", "util.libsonnet", "sub/a.jsonnet", "sub/b.jsonnet", "shared.libsonnet", "data.txt"]
            .into_iter()
            .map(|p| (p.to_owned(), String::new()))
            .collect();
    let kube: BTreeMap<String, String> = ["kube.libsonnet", "inner/deep.libsonnet", "shared.libsonnet"]
        .into_iter()
        .map(|p| (p.to_owned(), String::new()))
        .collect();
    let mixin: BTreeMap<String, String> =
        ["mixin.libsonnet", "only-in-mixin.libsonnet"].into_iter().map(|p| (p.to_owned(), String::new())).collect();
    TreeResolver::new(&snippet, [("kube", &kube), ("mixin", &mixin)])
}

#[test]
fn resolution_table() {
    let tree = tree();
    let found = |s: &str| Ok(s.to_owned());
    let cases: Vec<(Option<&str>, &str, Result<String, &str>)> = vec![
        // relative to the importing file's directory
        (Some("main.jsonnet"), "util.libsonnet", found("util.libsonnet")),
        (Some("main.jsonnet"), "./sub/a.jsonnet", found("sub/a.jsonnet")),
        (Some("sub/a.jsonnet"), "b.jsonnet", found("sub/b.jsonnet")),
        (Some("sub/a.jsonnet"), "../util.libsonnet", found("util.libsonnet")),
        (Some("kube/inner/deep.libsonnet"), "../kube.libsonnet", found("kube/kube.libsonnet")),
        // the importing directory wins over search paths
        (Some("main.jsonnet"), "shared.libsonnet", found("shared.libsonnet")),
        (Some("kube/kube.libsonnet"), "shared.libsonnet", found("kube/shared.libsonnet")),
        // libraries as search paths, in order, then the tree root
        (Some("main.jsonnet"), "kube.libsonnet", found("kube/kube.libsonnet")),
        (Some("sub/a.jsonnet"), "inner/deep.libsonnet", found("kube/inner/deep.libsonnet")),
        (Some("kube/kube.libsonnet"), "only-in-mixin.libsonnet", found("mixin/only-in-mixin.libsonnet")),
        (Some("main.jsonnet"), "mixin/mixin.libsonnet", found("mixin/mixin.libsonnet")),
        (Some("sub/a.jsonnet"), "kube/kube.libsonnet", found("kube/kube.libsonnet")),
        (Some("kube/kube.libsonnet"), "mixin/mixin.libsonnet", found("mixin/mixin.libsonnet")),
        // code that is not a file resolves like a file at the root
        (None, "util.libsonnet", found("util.libsonnet")),
        (None, "kube.libsonnet", found("kube/kube.libsonnet")),
        (Some("main.jsonnet"), "data.txt", found("data.txt")),
        // escapes are forbidden
        (Some("main.jsonnet"), "/etc/passwd", Err("forbidden: \"/etc/passwd\": absolute")),
        (Some("main.jsonnet"), "../x", Err("forbidden: \"../x\": '..' climbs above the snippet's root")),
        (Some("sub/a.jsonnet"), "../../main.jsonnet", Err("forbidden")),
        (
            Some("kube/kube.libsonnet"),
            "../main.jsonnet",
            Err("forbidden: \"../main.jsonnet\": '..' climbs out of the library"),
        ),
        (Some("kube/inner/deep.libsonnet"), "../../mixin/mixin.libsonnet", Err("climbs out of the library")),
        (None, "../x", Err("forbidden")),
        (
            Some("main.jsonnet"),
            "http://example.com/x.libsonnet",
            Err("forbidden: \"http://example.com/x.libsonnet\": URLs"),
        ),
        (Some("main.jsonnet"), "file:///etc/passwd", Err("forbidden")),
        (Some("main.jsonnet"), "..\\x", Err("forbidden")),
        // unknown files are not found, naming the import and where it was looked for
        (
            Some("main.jsonnet"),
            "missing.libsonnet",
            Err(
                "not found: \"missing.libsonnet\" (imported from main.jsonnet; looked for missing.libsonnet, kube/missing.libsonnet, mixin/missing.libsonnet",
            ),
        ),
        (Some("sub/a.jsonnet"), "../missing", Err("not found")),
        (Some("main.jsonnet"), "kube", Err("not found")),
        (Some("main.jsonnet"), "", Err("not found")),
    ];
    for (importer, import, expected) in cases {
        let got = tree.resolve(importer, import);
        match (&got, &expected) {
            (Ok(path), Ok(want)) => assert_eq!(path, want, "{importer:?} imports {import:?}"),
            (Err(failure), Err(fragment)) => {
                let text = match failure {
                    ImportFailure::Forbidden(why) => format!("forbidden: {why}"),
                    ImportFailure::NotFound(why) => format!("not found: {why}"),
                };
                assert!(text.contains(fragment), "{importer:?} imports {import:?}: {text:?} lacks {fragment:?}");
            }
            _ => panic!("{importer:?} imports {import:?}: got {got:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn normalize_rejects_climbing_above_the_start() {
    assert_eq!(normalize("a/./b//c").as_deref(), Some("a/b/c"));
    assert_eq!(normalize("a/../b").as_deref(), Some("b"));
    assert_eq!(normalize("a/../../b"), None);
    assert_eq!(normalize("..").as_deref(), None);
}
