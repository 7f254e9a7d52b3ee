//! Where a symlink in an extracted tree really points. A link is kept only when every path through it stays inside
//! the tree, so the check resolves each component the way the operating system would, following the links already
//! on disk, and never lets `..` climb above the root.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// More link hops than this count as a loop, as Linux's ELOOP (40).
const MAX_LINK_HOPS: usize = 40;

/// One step of a path still to resolve.
enum Step {
    /// Descend into a named child.
    Child(OsString),
    /// Go up one level.
    Parent,
}

/// Resolves `relative` (a path inside `root`) by following symlinks found on disk under `root`; names that do not
/// exist are taken as they are. Returns the resolved path relative to `root`, or `None` when it leaves `root`
/// (through `..` above the root or an absolute link target) or loops.
pub fn resolve_inside(root: &Path, relative: &Path) -> Option<PathBuf> {
    let mut pending = VecDeque::new();
    push_front(&mut pending, relative)?;
    let mut resolved: Vec<OsString> = Vec::new();
    let mut hops = 0;
    while let Some(step) = pending.pop_front() {
        match step {
            Step::Parent => {
                resolved.pop()?;
            }
            Step::Child(name) => {
                resolved.push(name);
                let on_disk = root.join(resolved.iter().collect::<PathBuf>());
                let is_link = fs::symlink_metadata(&on_disk).is_ok_and(|meta| meta.file_type().is_symlink());
                if is_link {
                    hops += 1;
                    if hops > MAX_LINK_HOPS {
                        return None;
                    }
                    let target = fs::read_link(&on_disk).ok()?;
                    resolved.pop();
                    push_front(&mut pending, &target)?;
                }
            }
        }
    }
    Some(resolved.iter().collect())
}

/// Puts the steps of `path` before the ones pending; `None` when `path` is absolute.
fn push_front(pending: &mut VecDeque<Step>, path: &Path) -> Option<()> {
    let mut steps = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => steps.push(Step::Child(name.to_owned())),
            Component::ParentDir => steps.push(Step::Parent),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    for step in steps.into_iter().rev() {
        pending.push_front(step);
    }
    Some(())
}

/// True when no directory between `root` and `relative`'s parent is a symlink, so that creating `relative` writes
/// exactly where its name says.
pub fn parents_are_real_dirs(root: &Path, relative: &Path) -> bool {
    let mut on_disk = root.to_path_buf();
    let Some(parent) = relative.parent() else { return true };
    parent.components().all(|component| {
        on_disk.push(component);
        !fs::symlink_metadata(&on_disk).is_ok_and(|meta| meta.file_type().is_symlink())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn resolves_names_and_parents_lexically_when_nothing_is_a_link() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(resolve_inside(root.path(), Path::new("a/./b/../c")), Some(PathBuf::from("a/c")));
        assert_eq!(resolve_inside(root.path(), Path::new("a/..")), Some(PathBuf::new()));
        assert_eq!(resolve_inside(root.path(), Path::new("a/../..")), None);
        assert_eq!(resolve_inside(root.path(), Path::new("/etc/passwd")), None);
    }

    #[test]
    fn follows_links_on_disk_so_a_dot_link_cannot_hide_an_escape() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("lib")).unwrap();
        symlink(".", root.path().join("here")).unwrap();
        symlink("lib", root.path().join("vendor")).unwrap();
        // Lexically `here/..` is the root; on disk it is the root's parent.
        assert_eq!(resolve_inside(root.path(), Path::new("here/..")), None);
        assert_eq!(
            resolve_inside(root.path(), Path::new("vendor/x.libsonnet")),
            Some(PathBuf::from("lib/x.libsonnet"))
        );
        symlink("loop", root.path().join("loop")).unwrap();
        assert_eq!(resolve_inside(root.path(), Path::new("loop")), None);
        symlink("/etc", root.path().join("absolute")).unwrap();
        assert_eq!(resolve_inside(root.path(), Path::new("absolute")), None);
    }

    #[test]
    fn detects_a_symlinked_parent() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir(root.path().join("real")).unwrap();
        symlink("real", root.path().join("alias")).unwrap();
        assert!(parents_are_real_dirs(root.path(), Path::new("real/file")));
        assert!(parents_are_real_dirs(root.path(), Path::new("file")));
        assert!(!parents_are_real_dirs(root.path(), Path::new("alias/file")));
    }
}
