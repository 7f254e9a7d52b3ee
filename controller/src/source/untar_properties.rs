//! Property tests of the reader of untrusted archives (issue 15 part 7): whatever bytes a source server sends,
//! [`extract_archive`] returns (it never panics), writes nothing outside its target, leaves nothing behind when it
//! fails, and leaves no link in the tree that leads out of it. Names with `..`, absolute names, backslashes and
//! entries larger than the limit are refused with an error; symlinks that would lead out, hard links and special
//! files are left out of the tree, as the module documents.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use proptest::prelude::*;
use proptest::sample::Index;

use super::SourceError;
use super::crafted_archive::{CANARY, Crafted, Input, Kind, input};
use super::testing::LIMITS;
use super::untar::extract_archive;

/// One case's directories: `<outer>/work/archive.tar.gz` extracts to `<outer>/work/tree`; the canary would be
/// `<outer>/canary`.
struct Sandbox {
    outer: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let outer = tempfile::tempdir().expect("a temporary directory");
        fs::create_dir(outer.path().join("work")).expect("creating work/");
        Self { outer }
    }

    fn canary(&self) -> PathBuf {
        self.outer.path().join("canary")
    }

    fn work(&self) -> PathBuf {
        self.outer.path().join("work")
    }

    fn tree(&self) -> PathBuf {
        self.work().join("tree")
    }

    fn extract(&self, input: &Input) -> Result<super::ExtractedTree, SourceError> {
        let archive = self.work().join("archive.tar.gz");
        fs::write(&archive, input.bytes(&self.canary())).expect("writing the archive");
        extract_archive(&archive, &self.tree(), &LIMITS)
    }
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("listing a directory")
        .map(|entry| entry.expect("a directory entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every path below `root`, relative, without following links.
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in fs::read_dir(root.join(&relative)).expect("listing the tree") {
            let entry = entry.expect("a directory entry");
            let path = relative.join(entry.file_name());
            if entry.file_type().expect("a file type").is_dir() {
                pending.push(path.clone());
            }
            found.push(path);
        }
    }
    found
}

/// Whether `target`, read from a link at `link` (relative to the root), stays inside the root when nothing on the
/// way is a link: not when it is absolute or climbs above the root.
fn lexically_inside(link: &Path, target: &Path) -> bool {
    let mut depth = link.components().count() - 1;
    for component in target.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => depth -= 1,
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// What must hold after any extraction: nothing outside the work directory, nothing but the archive left after a
/// failure, and after a success only files, directories and links that stay inside the tree.
fn assert_contained(
    sandbox: &Sandbox,
    result: &Result<super::ExtractedTree, SourceError>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(names_in(sandbox.outer.path()), ["work"], "nothing appears next to the work directory");
    let expected: &[&str] = if result.is_ok() { &["archive.tar.gz", "tree"] } else { &["archive.tar.gz"] };
    prop_assert_eq!(names_in(&sandbox.work()), expected, "{:?}", result);
    if result.is_err() {
        return Ok(());
    }
    let tree = sandbox.tree();
    let real_tree = fs::canonicalize(&tree).expect("the tree's real path");
    for relative in walk(&tree) {
        let on_disk = tree.join(&relative);
        let meta = fs::symlink_metadata(&on_disk).expect("metadata of an entry");
        let kind = meta.file_type();
        prop_assert!(kind.is_file() || kind.is_dir() || kind.is_symlink(), "{:?} is special", relative);
        if kind.is_file() {
            prop_assert_eq!(meta.nlink(), 1, "{:?} is hard-linked", relative);
        }
        if kind.is_symlink() {
            let target = fs::read_link(&on_disk).expect("a link target");
            // An existing target must really be inside; a dangling one must not point out either.
            let inside = fs::canonicalize(&on_disk)
                .map_or_else(|_| lexically_inside(&relative, &target), |real| real.starts_with(&real_tree));
            prop_assert!(inside, "{:?} -> {:?} leads out", relative, target);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_archive_is_extracted_inside_its_target_or_refused_without_residue(input in input()) {
        let sandbox = Sandbox::new();
        let result = sandbox.extract(&input);
        assert_contained(&sandbox, &result)?;
    }
}

/// One entry an attacker adds to an otherwise good archive.
#[derive(Debug, Clone)]
enum Hostile {
    /// A name with a `..` component, in any position, short or behind a long-name extension.
    ParentName(String),
    /// An absolute name (the canary's path).
    AbsoluteName,
    /// A name with a backslash, which Windows-minded tools read as a separator.
    Backslash(String),
    /// A file whose header claims more bytes than an entry may have.
    HugeFile(u64),
    /// A symlink whose target leads out of the tree.
    SymlinkOut(String),
    /// A hard link, to a file of the archive or out of the tree.
    HardLink(String),
    /// A named pipe.
    Fifo,
}

/// The name the hostile entry has when the name itself is not the attack.
const EVIL: &str = "evil";

impl Hostile {
    fn entry(&self) -> Crafted {
        let plain = |kind, link: &str| Crafted {
            name: EVIL.into(),
            kind,
            link: link.into(),
            data: Vec::new(),
            claimed_size: None,
        };
        match self {
            Self::ParentName(name) | Self::Backslash(name) => Crafted::file(name, b"{}"),
            Self::AbsoluteName => Crafted::file(CANARY, b"{}"),
            Self::HugeFile(size) => Crafted { claimed_size: Some(*size), ..Crafted::file(EVIL, b"") },
            Self::SymlinkOut(target) => plain(Kind::Symlink, target),
            Self::HardLink(target) => plain(Kind::HardLink, target),
            Self::Fifo => plain(Kind::Fifo, ""),
        }
    }
}

fn hostile() -> impl Strategy<Value = Hostile> {
    let before = prop_oneof![
        4 => proptest::sample::select(vec!["", "a/", "./", "a/b/", "lib/./"]).prop_map(str::to_owned),
        1 => (95..105_usize).prop_map(|len| "x".repeat(len) + "/"),
    ];
    let parent = (before, proptest::sample::select(vec!["", "/", "/x", "/../x", "/canary"]))
        .prop_map(|(before, after)| Hostile::ParentName(format!("{before}..{after}")));
    let outside = ["..", "../x", "../../canary", CANARY, "a/../../x", "/", "./../x", "/etc/passwd"];
    prop_oneof![
        3 => parent,
        1 => Just(Hostile::AbsoluteName),
        1 => proptest::sample::select(vec!["a\\b", "..\\x", "\\x"]).prop_map(|name| Hostile::Backslash(name.into())),
        1 => (LIMITS.max_entry_bytes + 1..=u64::MAX >> 2).prop_map(Hostile::HugeFile),
        2 => proptest::sample::select(outside.to_vec()).prop_map(|target| Hostile::SymlinkOut(target.into())),
        2 => proptest::sample::select([&["good0"][..], &outside[..]].concat())
            .prop_map(|target| Hostile::HardLink(target.into())),
        1 => Just(Hostile::Fifo),
    ]
}

/// Clean relative paths of which none is a directory of another, as a real tree's files are.
fn tree_paths() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::btree_set("[a-z]{1,3}(/[a-z0-9_-][a-z0-9._-]{0,7}){0,3}", 1..8).prop_map(|paths| {
        let under = |path: &String, other: &String| other.starts_with(&format!("{path}/"));
        paths.iter().filter(|path| !paths.iter().any(|other| under(path, other))).cloned().collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_hostile_entry_among_good_ones_is_refused_or_left_out(
        good in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..32), 1..4),
        hostile in hostile(),
        at in any::<Index>(),
    ) {
        let mut entries: Vec<Crafted> =
            good.iter().enumerate().map(|(index, data)| Crafted::file(&format!("good{index}"), data)).collect();
        entries.insert(at.index(entries.len() + 1), hostile.entry());
        let sandbox = Sandbox::new();
        let result = sandbox.extract(&Input::Crafted(entries));
        assert_contained(&sandbox, &result)?;
        match (&hostile, result) {
            (
                Hostile::ParentName(_) | Hostile::AbsoluteName | Hostile::Backslash(_),
                Err(SourceError::UnsafePath { .. }),
            )
            | (Hostile::HugeFile(_), Err(SourceError::EntryTooLarge { .. })) => {}
            (Hostile::SymlinkOut(_) | Hostile::HardLink(_) | Hostile::Fifo, Ok(_)) => {
                prop_assert!(fs::symlink_metadata(sandbox.tree().join(EVIL)).is_err(), "{:?} was kept", hostile);
                for (index, data) in good.iter().enumerate() {
                    prop_assert_eq!(&fs::read(sandbox.tree().join(format!("good{index}"))).unwrap(), data);
                }
            }
            (hostile, result) => prop_assert!(false, "{:?} gave {:?}", hostile, result),
        }
    }

    #[test]
    fn an_artifact_jaas_packs_extracts_to_exactly_its_files(
        files in tree_paths().prop_flat_map(|paths| {
            let contents = proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..256), paths.len());
            (Just(paths), contents)
        }),
    ) {
        let (paths, contents) = files;
        let entries: Vec<jaas_render::TarEntry> = paths
            .iter()
            .zip(&contents)
            .map(|(path, content)| jaas_render::TarEntry { path: path.clone(), content: content.clone() })
            .collect();
        let sandbox = Sandbox::new();
        let archive = sandbox.work().join("archive.tar.gz");
        fs::write(&archive, jaas_render::reproducible_tar_gz(entries).unwrap()).unwrap();
        let tree = extract_archive(&archive, &sandbox.tree(), &LIMITS).unwrap();
        prop_assert_eq!(tree.entries, paths.len() as u64);
        let mut found: Vec<String> = walk(&sandbox.tree())
            .into_iter()
            .filter(|relative| sandbox.tree().join(relative).is_file())
            .map(|relative| relative.to_string_lossy().into_owned())
            .collect();
        found.sort();
        prop_assert_eq!(&found, &paths);
        for (path, content) in paths.iter().zip(&contents) {
            prop_assert_eq!(&fs::read(sandbox.tree().join(path)).unwrap(), content);
        }
    }
}
