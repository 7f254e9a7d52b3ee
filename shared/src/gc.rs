//! The GC planner: which stored revisions of one snippet may be deleted, as a pure function of what storage lists,
//! so that every controller replica (and a restarted one) reaches the same decision. No I/O here.
//!
//! Policy (Flux `pkg/artifact` style: keep-N, then a grace period, computed before anything is deleted):
//! - Revisions are sorted newest first by `written` (ties broken by digest, so the order is total). The current
//!   revision, when given and stored, is moved to the front: it is always kept, whatever its timestamp says.
//! - The first `history` revisions form the keep-set (`history` 0 is treated as 1: the newest is never deleted).
//! - The revision at position `k >= history` left the keep-set when the revision at `k - history` was written.
//!   It is deleted once that moment is at least `grace` ago; `grace` 0 deletes it at once.
//!
//! Records: each revision's tarball has a revision record beside it (same digest, [`ObjectKind::Record`]).
//! Retention is decided on tarballs alone ([`plan_deletions`]); [`records_to_delete`] then follows it, so a record
//! lives exactly as long as its tarball. The controller writes a revision's record before its tarball, and deletes
//! its tarball first and its record second. A crash at any point therefore never leaves a published tarball without
//! its record, only an orphan record (no tarball), which the next pass deletes. A tarball without a record was
//! written by a version from before records: retention treats it like any other revision (kept while the plan
//! keeps it), and its missing record is not an error. Both functions must see a listing taken after the current
//! revision's tarball was written, or that revision's fresh record would look like an orphan.
//!
//! [`ObjectKind::Record`]: crate::layout::ObjectKind::Record

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::time::{Duration, SystemTime};

use crate::layout::Digest;

/// One stored revision as retention sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revision {
    /// The revision's digest (its name in storage).
    pub digest: Digest,
    /// When it last became current: the stored object's `last_modified`.
    pub written: SystemTime,
}

/// The digests to delete, in keep-set order (newer superseded revisions first). Never contains `current`, never
/// contains the newest revision, and is the same for the same inputs. A digest listed twice counts once, with its
/// latest time. For the current revision the time used is the latest of all times (it became current after every
/// other revision was written), so clock skew between writers can only delay deletions, never hasten them.
pub fn plan_deletions(
    revisions: &[Revision],
    current: Option<Digest>,
    history: usize,
    grace: Duration,
    now: SystemTime,
) -> Vec<Digest> {
    let mut latest: HashMap<Digest, SystemTime> = HashMap::new();
    for revision in revisions {
        let written = latest.entry(revision.digest).or_insert(revision.written);
        *written = (*written).max(revision.written);
    }
    let newest_time = latest.values().copied().max();
    let mut ordered: Vec<Revision> = latest.into_iter().map(|(digest, written)| Revision { digest, written }).collect();
    ordered.sort_by_key(|r| (Reverse(r.written), r.digest));
    if let (Some(current), Some(newest_time)) = (current, newest_time)
        && let Some(position) = ordered.iter().position(|r| r.digest == current)
    {
        let mut current_revision = ordered.remove(position);
        current_revision.written = newest_time;
        ordered.insert(0, current_revision);
    }

    let history = history.max(1);
    ordered
        .iter()
        .enumerate()
        .skip(history)
        .filter(|(k, _)| {
            let superseded_at = ordered[k - history].written;
            now.duration_since(superseded_at).unwrap_or(Duration::ZERO) >= grace
        })
        .map(|(_, revision)| revision.digest)
        .collect()
}

/// The records to delete, given the digests of the tarballs that remain once the planned deletions are done and
/// the digests of the stored records: every record whose tarball does not remain (the records of deleted revisions,
/// and orphans a crash left between writing a record and its tarball). Sorted and without duplicates; never contains
/// a digest of `tarballs_kept`. Delete these after the tarballs (see the module docs).
pub fn records_to_delete<S: BuildHasher>(tarballs_kept: &HashSet<Digest, S>, records: &[Digest]) -> Vec<Digest> {
    let mut doomed: Vec<Digest> = records.iter().copied().filter(|digest| !tarballs_kept.contains(digest)).collect();
    doomed.sort_unstable();
    doomed.dedup();
    doomed
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: u64 = 1_700_000_000;

    fn digest(n: u8) -> Digest {
        Digest::from_sha256([n; 32])
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + secs)
    }

    fn revs(list: &[(u8, u64)]) -> Vec<Revision> {
        list.iter().map(|&(n, secs)| Revision { digest: digest(n), written: at(secs) }).collect()
    }

    struct Case {
        name: &'static str,
        revisions: &'static [(u8, u64)],
        current: Option<u8>,
        history: usize,
        grace_secs: u64,
        now: u64,
        expected: &'static [u8],
    }

    const CASES: &[Case] = &[
        Case { name: "empty", revisions: &[], current: None, history: 3, grace_secs: 0, now: 100, expected: &[] },
        Case {
            name: "within history nothing goes",
            revisions: &[(1, 10), (2, 20), (3, 30)],
            current: Some(3),
            history: 3,
            grace_secs: 0,
            now: 100,
            expected: &[],
        },
        Case {
            name: "eager: beyond history goes at once",
            revisions: &[(1, 10), (2, 20), (3, 30), (4, 40)],
            current: Some(4),
            history: 2,
            grace_secs: 0,
            now: 40,
            expected: &[2, 1],
        },
        Case {
            // 2 left the keep-set at 40 (when 4 was written), 1 at 30 (when 3 was written).
            name: "grace runs from the supersession, not from the write",
            revisions: &[(1, 10), (2, 20), (3, 30), (4, 40)],
            current: Some(4),
            history: 2,
            grace_secs: 60,
            now: 95,
            expected: &[1],
        },
        Case {
            name: "grace boundary is inclusive",
            revisions: &[(1, 10), (2, 20), (3, 30), (4, 40)],
            current: Some(4),
            history: 2,
            grace_secs: 60,
            now: 100,
            expected: &[2, 1],
        },
        Case {
            name: "the current revision is kept even when oldest (rollback without a re-put)",
            revisions: &[(1, 10), (2, 20), (3, 30)],
            current: Some(1),
            history: 1,
            grace_secs: 0,
            now: 100,
            expected: &[3, 2],
        },
        Case {
            name: "history 0 still keeps the newest",
            revisions: &[(1, 10), (2, 20)],
            current: None,
            history: 0,
            grace_secs: 0,
            now: 100,
            expected: &[1],
        },
        Case {
            name: "a current digest that is not stored changes nothing",
            revisions: &[(1, 10), (2, 20), (3, 30)],
            current: Some(9),
            history: 2,
            grace_secs: 0,
            now: 100,
            expected: &[1],
        },
        Case {
            name: "ties are broken by digest",
            revisions: &[(7, 10), (5, 10), (6, 10)],
            current: None,
            history: 1,
            grace_secs: 0,
            now: 100,
            expected: &[6, 7],
        },
        Case {
            name: "a supersession in the future (clock skew) waits for the grace period",
            revisions: &[(1, 10), (2, 500)],
            current: Some(2),
            history: 1,
            grace_secs: 30,
            now: 100,
            expected: &[],
        },
        Case {
            name: "duplicates count once with their latest time",
            revisions: &[(1, 10), (2, 20), (1, 30)],
            current: None,
            history: 1,
            grace_secs: 0,
            now: 100,
            expected: &[2],
        },
    ];

    #[test]
    fn plans_match_the_table() {
        for case in CASES {
            let input = revs(case.revisions);
            let got = plan_deletions(
                &input,
                case.current.map(digest),
                case.history,
                Duration::from_secs(case.grace_secs),
                at(case.now),
            );
            let expected: Vec<Digest> = case.expected.iter().copied().map(digest).collect();
            assert_eq!(got, expected, "case {:?}", case.name);
        }
    }

    #[test]
    fn the_plan_does_not_depend_on_input_order() {
        let mut input = revs(&[(1, 10), (2, 20), (3, 30), (4, 40), (5, 40)]);
        let plan = plan_deletions(&input, Some(digest(3)), 2, Duration::from_secs(5), at(100));
        input.reverse();
        assert_eq!(plan_deletions(&input, Some(digest(3)), 2, Duration::from_secs(5), at(100)), plan);
        assert!(!plan.contains(&digest(3)));
    }

    #[test]
    fn records_follow_their_tarballs() {
        let kept: HashSet<Digest> = [digest(1), digest(2)].into_iter().collect();
        // 3 and 4: records of deleted revisions (4 listed twice); 9: an orphan with no tarball at all.
        let records = [digest(4), digest(1), digest(9), digest(3), digest(4), digest(2)];
        assert_eq!(records_to_delete(&kept, &records), vec![digest(3), digest(4), digest(9)]);
        assert!(records_to_delete(&kept, &[digest(1), digest(2)]).is_empty(), "kept revisions keep their records");
        assert!(records_to_delete(&kept, &[]).is_empty(), "tarballs without records are not an error");
        assert_eq!(records_to_delete(&HashSet::new(), &[digest(5)]), vec![digest(5)]);
    }

    proptest! {
        #[test]
        fn a_record_goes_exactly_when_its_tarball_does_not_remain(
            kept in proptest::collection::hash_set(0u8..16, 0..16),
            records in proptest::collection::vec(0u8..16, 0..32),
        ) {
            let kept: HashSet<Digest> = kept.into_iter().map(digest).collect();
            let records: Vec<Digest> = records.into_iter().map(digest).collect();
            let doomed = records_to_delete(&kept, &records);
            prop_assert!(doomed.windows(2).all(|pair| pair[0] < pair[1]), "sorted and deduplicated");
            for record in &records {
                prop_assert_eq!(doomed.contains(record), !kept.contains(record), "{:?}", record);
            }
            prop_assert!(doomed.iter().all(|d| records.contains(d)), "only stored records are deleted");
        }
    }
}
