//! Test support for the untar properties: tar streams crafted entry by entry from bytes (names with `..`, absolute
//! names, hard links, pipes, sizes the data never reaches, and the GNU long-name extension) and the strategies that
//! generate them, whole, damaged or as foreign bytes.

use std::path::Path;

use proptest::prelude::*;
use proptest::sample::Index;

use super::testing::{LIMITS, gzip};

/// Stands for the absolute path of a file next to the work directory, filled in per case: an absolute name or link
/// target that points there must never make it appear.
pub(super) const CANARY: &str = "{canary}";

/// The kinds of entries an archive can hold that the extractor must treat differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    File,
    Dir,
    Symlink,
    HardLink,
    Fifo,
}

/// One crafted entry, written byte for byte: the name and link target are never checked on the way in.
#[derive(Debug, Clone)]
pub(super) struct Crafted {
    pub(super) name: Vec<u8>,
    pub(super) kind: Kind,
    pub(super) link: Vec<u8>,
    pub(super) data: Vec<u8>,
    /// A size for the header other than the data's length: a huge file whose bytes never come.
    pub(super) claimed_size: Option<u64>,
}

impl Crafted {
    pub(super) fn file(name: &str, data: &[u8]) -> Self {
        Self { name: name.into(), kind: Kind::File, link: Vec::new(), data: data.to_vec(), claimed_size: None }
    }
}

/// A tar stream of `entries` (a name over 100 bytes goes into a GNU long-name entry first), with `canary` in place
/// of [`CANARY`].
fn tar_of(entries: &[Crafted], canary: &Path) -> Vec<u8> {
    let canary = canary.as_os_str().as_encoded_bytes();
    let fill = |bytes: &[u8]| -> Vec<u8> {
        let text = String::from_utf8_lossy(bytes);
        if text.contains(CANARY) {
            text.replace(CANARY, &String::from_utf8_lossy(canary)).into_bytes()
        } else {
            bytes.to_vec()
        }
    };
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let (name, link) = (fill(&entry.name), fill(&entry.link));
        if name.len() > 100 {
            let mut long = tar::Header::new_gnu();
            long.as_gnu_mut().expect("a GNU header").name[..13].copy_from_slice(b"././@LongLink");
            long.set_entry_type(tar::EntryType::GNULongName);
            let payload: Vec<u8> = name.iter().copied().chain([0]).collect();
            long.set_size(payload.len() as u64);
            long.set_cksum();
            builder.append(&long, payload.as_slice()).expect("appending to a Vec");
        }
        let mut header = tar::Header::new_gnu();
        let gnu = header.as_gnu_mut().expect("a GNU header");
        let (name_len, link_len) = (name.len().min(100), link.len().min(100));
        gnu.name[..name_len].copy_from_slice(&name[..name_len]);
        gnu.linkname[..link_len].copy_from_slice(&link[..link_len]);
        header.set_entry_type(match entry.kind {
            Kind::File => tar::EntryType::Regular,
            Kind::Dir => tar::EntryType::Directory,
            Kind::Symlink => tar::EntryType::Symlink,
            Kind::HardLink => tar::EntryType::Link,
            Kind::Fifo => tar::EntryType::Fifo,
        });
        header.set_mode(0o644);
        header.set_size(entry.claimed_size.unwrap_or(entry.data.len() as u64));
        header.set_cksum();
        builder.append(&header, entry.data.as_slice()).expect("appending to a Vec");
    }
    builder.into_inner().expect("finishing a Vec")
}

/// Name pieces: plain names, every traversal form, separators, NUL, bytes that are not UTF-8 (an overlong `.`
/// among them) and the canary.
const NAME_PIECES: &[&[u8]] = &[
    b"a",
    b"b",
    b"lib",
    b"main.jsonnet",
    b"..",
    b".",
    b"/",
    b"//",
    b"./",
    b"../",
    b"\\",
    b"\0",
    b"%2e%2e",
    b"\xc0\xae\xc0\xae",
    b"\xff",
    CANARY.as_bytes(),
    b"canary",
];

/// One of the pieces above, a run long enough for the GNU long-name extension, or any bytes.
fn name_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => proptest::sample::select(NAME_PIECES).prop_map(<[u8]>::to_vec),
        1 => (95..110_usize).prop_map(|len| vec![b'x'; len]),
        1 => proptest::collection::vec(any::<u8>(), 1..4),
    ]
}

fn name() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(name_piece(), 1..5).prop_map(|pieces| pieces.concat())
}

fn crafted() -> impl Strategy<Value = Crafted> {
    let kind =
        proptest::sample::select(vec![Kind::File, Kind::File, Kind::Dir, Kind::Symlink, Kind::HardLink, Kind::Fifo]);
    let claimed = proptest::option::weighted(
        0.1,
        prop_oneof![Just(u64::MAX >> 1), Just(LIMITS.max_entry_bytes + 1), 0..4096_u64],
    );
    (name(), kind, name(), proptest::collection::vec(any::<u8>(), 0..64), claimed)
        .prop_map(|(name, kind, link, data, claimed_size)| Crafted { name, kind, link, data, claimed_size })
}

/// What a source server could send.
#[derive(Debug, Clone)]
pub(super) enum Input {
    /// A gzip'd tar of crafted entries.
    Crafted(Vec<Crafted>),
    /// Bytes that may not even be gzip.
    Raw(Vec<u8>),
    /// Bytes that are gzip but not tar.
    GzipOf(Vec<u8>),
    /// A crafted archive with bytes overwritten, in the tar stream or in the gzip stream, and maybe cut short.
    Damaged { entries: Vec<Crafted>, in_gzip: bool, writes: Vec<(Index, u8)>, cut: Option<Index> },
}

impl Input {
    pub(super) fn bytes(&self, canary: &Path) -> Vec<u8> {
        match self {
            Self::Crafted(entries) => gzip(&tar_of(entries, canary)),
            Self::Raw(bytes) => bytes.clone(),
            Self::GzipOf(bytes) => gzip(bytes),
            Self::Damaged { entries, in_gzip, writes, cut } => {
                let damage = |mut bytes: Vec<u8>| {
                    for (at, byte) in writes {
                        let at = at.index(bytes.len());
                        bytes[at] = *byte;
                    }
                    if let Some(cut) = cut {
                        bytes.truncate(cut.index(bytes.len()));
                    }
                    bytes
                };
                let tar = tar_of(entries, canary);
                if *in_gzip { damage(gzip(&tar)) } else { gzip(&damage(tar)) }
            }
        }
    }
}

/// Safe names and links between them (`a -> b/..`, `b -> .`, `c -> a/../..`): archives that extract, so the links
/// that stay and the ones removed for escaping through another link are checked.
fn link_maze() -> impl Strategy<Value = Vec<Crafted>> {
    let name = proptest::sample::select(vec!["a", "b", "c", "d", "d/e", "a/x", "b/y"]);
    let step = proptest::sample::select(vec![".", "..", "a", "b", "c", "d", "e", "x", "main.jsonnet"]);
    let target = prop_oneof![
        8 => proptest::collection::vec(step, 1..5).prop_map(|steps| steps.join("/")),
        1 => Just(CANARY.to_owned()),
        1 => Just("/".to_owned()),
    ];
    let kind = proptest::sample::select(vec![Kind::Symlink, Kind::Symlink, Kind::Symlink, Kind::Dir, Kind::File]);
    let entry = (name, kind, target).prop_map(|(name, kind, target)| Crafted {
        name: name.into(),
        kind,
        link: if kind == Kind::Symlink { target.into_bytes() } else { Vec::new() },
        data: b"{}".to_vec(),
        claimed_size: None,
    });
    proptest::collection::vec(entry, 1..8).prop_map(|mut entries| {
        entries.insert(0, Crafted::file("main.jsonnet", b"{}"));
        entries
    })
}

pub(super) fn input() -> impl Strategy<Value = Input> {
    let entries = || proptest::collection::vec(crafted(), 1..6);
    let damaged =
        (entries(), any::<bool>(), proptest::collection::vec(any::<(Index, u8)>(), 0..6), any::<Option<Index>>())
            .prop_map(|(entries, in_gzip, writes, cut)| Input::Damaged { entries, in_gzip, writes, cut });
    prop_oneof![
        3 => entries().prop_map(Input::Crafted),
        3 => link_maze().prop_map(Input::Crafted),
        2 => damaged,
        1 => proptest::collection::vec(any::<u8>(), 0..600).prop_map(Input::Raw),
        1 => proptest::collection::vec(any::<u8>(), 0..2048).prop_map(Input::GzipOf),
    ]
}
