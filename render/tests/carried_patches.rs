//! The crates JaaS carries with a change (`[patch.crates-io]` in the workspace Cargo.toml, vendored under
//! `third_party/<crate>/`) must be exactly the published crate of the pinned version plus the committed
//! `third_party/<crate>.patch`, so the carried delta is always known (docs/fidelity.md, "Carried patches").
//!
//! Cargo never downloads a crate that `[patch]` replaces, so the published crate is pinned by
//! `third_party/<crate>-<version>.sha256sums`: the sha256 of every file of the `.crate` whose own checksum is the
//! one crates.io publishes (recorded below). The test takes the patch back out of a copy of the vendored tree with
//! `git apply -R` and checks that what is left is, file for file, that published crate; a second test checks that
//! list against the `.crate` itself, which e2e/run-tests.sh downloads (`$JAAS_PUBLISHED_CRATES`).

#![allow(clippy::unwrap_used)]

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use sha2::{Digest as _, Sha256};

/// A carried crate: its name, the exact published version it was vendored from, and the sha256 of that version's
/// `.crate` as crates.io publishes it (its index's `cksum`; Cargo.lock recorded it before the patch).
struct Carried {
    name: &'static str,
    version: &'static str,
    crate_sha256: &'static str,
}

const CARRIED: &[Carried] = &[
    Carried {
        name: "jrsonnet-ir",
        version: "0.5.0-pre98",
        crate_sha256: "cb8e3e1f192e1fed9f583081dfcc11e6de99740df69a3ec987ab7e472fbc6ac2",
    },
    Carried {
        name: "jrsonnet-evaluator",
        version: "0.5.0-pre98",
        crate_sha256: "18638e343f08c32f75e7b155a1a2c0964481d723eea167d5e3a13df8ed59f20c",
    },
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `sha256  path` for every file under `root`, sorted by path: `sha256sum`'s format.
fn sha256sums(root: &Path) -> String {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.push((relative, hex::encode(Sha256::digest(std::fs::read(&path).unwrap()))));
            }
        }
    }
    let mut files = Vec::new();
    walk(root, root, &mut files);
    files.sort();
    files.into_iter().flat_map(|(path, sha256)| [sha256, "  ".to_owned(), path, "\n".to_owned()]).collect()
}

/// A copy of the vendored tree with the committed patch taken back out, by `git apply -R` (outside any repository,
/// without the user's git settings).
fn vendored_without_patch(carried: &Carried, work: &Path) -> PathBuf {
    let tree = work.join(carried.name);
    copy_tree(&workspace().join("third_party").join(carried.name), &tree);
    let patch = workspace().join("third_party").join(format!("{}.patch", carried.name));
    let output = Command::new("git")
        .current_dir(&tree)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args(["apply", "--reverse", "--whitespace=nowarn"])
        .arg(&patch)
        .output()
        .expect("git runs (the carried patches are taken out with `git apply -R`)");
    assert!(
        output.status.success(),
        "third_party/{name}.patch does not come back out of third_party/{name}: the vendored tree changed without \
         the patch (write the change into the patch and docs/fidelity.md, \"Carried patches\"): {}",
        String::from_utf8_lossy(&output.stderr),
        name = carried.name,
    );
    tree
}

#[test]
fn each_vendored_crate_is_the_published_one_plus_its_patch() {
    for carried in CARRIED {
        let stem = format!("{}-{}", carried.name, carried.version);
        let pinned = workspace().join("third_party").join(format!("{stem}.sha256sums"));
        let published = std::fs::read_to_string(&pinned)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", pinned.display()));
        let patch =
            std::fs::read_to_string(workspace().join("third_party").join(format!("{}.patch", carried.name))).unwrap();
        assert!(
            patch.contains("\n+"),
            "third_party/{}.patch carries no change: drop it and its [patch] entry",
            carried.name
        );

        let work = tempfile::tempdir().unwrap();
        let reverted = sha256sums(&vendored_without_patch(carried, work.path()));
        assert!(
            reverted == published,
            "third_party/{name} minus third_party/{name}.patch is not {stem} (its files: {pinned}): the vendored tree \
             differs from the published crate by more than the patch.\nwithout the patch:\n{reverted}",
            name = carried.name,
            pinned = pinned.display(),
        );
    }
}

/// The pinned file list is the published `.crate`'s. The `.crate` comes from `$JAAS_PUBLISHED_CRATES` (where
/// e2e/run-tests.sh downloads each carried crate from static.crates.io, so CI always compares; set but missing a
/// crate fails), else from cargo's registry cache (a machine that built the workspace before the patch); its
/// checksum is checked first. With neither, only the list's format is checked, and the test says so.
#[test]
fn the_pinned_file_lists_are_well_formed_and_match_the_published_crates() {
    for carried in CARRIED {
        let stem = format!("{}-{}", carried.name, carried.version);
        let pinned =
            std::fs::read_to_string(workspace().join("third_party").join(format!("{stem}.sha256sums"))).unwrap();
        let lines: Vec<&str> = pinned.lines().collect();
        assert!(lines.iter().any(|line| line.ends_with("  src/lib.rs")), "{stem}.sha256sums lists no src/lib.rs");
        assert!(
            lines.iter().all(|line| line.len() > 66
                && line.as_bytes()[64..66] == *b"  "
                && line[..64].bytes().all(|b| b.is_ascii_hexdigit())),
            "{stem}.sha256sums is not in sha256sum's format"
        );
        let Some(packed) = published_crate(&format!("{stem}.crate")) else {
            println!(
                "{stem}.crate: neither $JAAS_PUBLISHED_CRATES nor cargo's cache has it; the list's format alone was checked"
            );
            continue;
        };
        let bytes = std::fs::read(&packed).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            carried.crate_sha256,
            "{} is not the published crate",
            packed.display()
        );
        let work = tempfile::tempdir().unwrap();
        tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice())).unpack(work.path()).unwrap();
        assert_eq!(sha256sums(&work.path().join(&stem)), pinned, "{stem}.sha256sums and the published .crate");
        println!("{stem}.crate ({}): its files are the pinned list", packed.display());
    }
}

/// The published `file`: in `$JAAS_PUBLISHED_CRATES` when that is set (it must be there), else in cargo's registry
/// cache (`registry/cache/<index>/<file>` of any index), where it exists.
fn published_crate(file: &str) -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("JAAS_PUBLISHED_CRATES") {
        let path = PathBuf::from(dir).join(file);
        assert!(path.exists(), "JAAS_PUBLISHED_CRATES is set but has no {file} (e2e/run-tests.sh downloads it)");
        return Some(path);
    }
    let home = std::env::var_os("CARGO_HOME")
        .map_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"), PathBuf::from);
    let indexes = std::fs::read_dir(home.join("registry").join("cache")).ok()?;
    indexes.filter_map(Result::ok).map(|index| index.path().join(file)).find(|path| path.exists())
}

#[test]
fn the_workspace_patches_exactly_the_carried_crates_at_their_pinned_versions() {
    let manifest = std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap();
    let section = manifest.split_once("[patch.crates-io]").map(|(_, rest)| rest).expect("a [patch.crates-io] section");
    let patched: Vec<&str> = section
        .lines()
        .take_while(|line| !line.starts_with('['))
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.trim()))
        .filter(|name| !name.is_empty() && !name.starts_with('#'))
        .collect();
    let carried: Vec<&str> = CARRIED.iter().map(|carried| carried.name).collect();
    assert_eq!(patched, carried, "[patch.crates-io] and the carried crates of this test");
    for carried in CARRIED {
        let expected = format!("{} = {{ path = \"third_party/{}\" }}", carried.name, carried.name);
        assert!(section.lines().any(|line| line.trim() == expected), "[patch.crates-io] lacks `{expected}`");
        let vendored =
            std::fs::read_to_string(workspace().join("third_party").join(carried.name).join("Cargo.toml")).unwrap();
        assert!(
            vendored.lines().any(|line| line == format!("version = \"{}\"", carried.version)),
            "third_party/{} is not version {}",
            carried.name,
            carried.version
        );
    }
}
