//! One storage read for many concurrent cache misses on the same artifact.
//!
//! When a new revision is published, every Flux instance that follows the snippet asks for it within seconds, and
//! each replica of the server misses its cache at about the same time. Without coordination each of those requests
//! reads the whole artifact from storage. Here the first miss on a key becomes the *leader* and reads it; misses on
//! the same key that arrive meanwhile become *followers* and wait for the leader's outcome: the cached artifact, the
//! storage error (so that an outage answers every waiting request at once, not one after another), or word that the
//! artifact was too large to cache. The wait is bounded by the leader's own backend timeouts.
//!
//! A leader whose request is cancelled (its client went away) drops its [`Lead`]; its followers are then told to
//! read storage themselves, so a cancellation costs extra reads, never a stuck request.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use futures::FutureExt;
use futures::channel::oneshot;
use futures::future::Shared;
use jaas_shared::{ArtifactKey, StoreError};

use crate::cache::CachedArtifact;

/// What a leader learned, shared with its followers.
#[derive(Debug, Clone)]
pub enum MissOutcome {
    /// The artifact, now also in the cache.
    Cached(CachedArtifact),
    /// Storage answered with an error, which is every follower's answer too.
    Failed(StoreError),
    /// The artifact is too large for the cache: each request streams it from storage itself.
    NotCacheable,
}

/// A follower's wait for the leader's [`MissOutcome`]; `Err` when the leader was cancelled.
pub type Follow = Shared<oneshot::Receiver<MissOutcome>>;

/// The misses being read from storage right now, by artifact.
#[derive(Debug, Default)]
pub struct MissCoalescer {
    in_flight: Mutex<HashMap<ArtifactKey, Follow>>,
}

/// What [`MissCoalescer::join`] makes of a miss.
#[derive(Debug)]
pub enum Role<'a> {
    /// Nobody is reading this artifact: read it, then [`Lead::finish`].
    Leader(Lead<'a>),
    /// Another request is reading it: await this.
    Follower(Follow),
}

/// The duty, held by one request per artifact, to read it from storage and tell the followers.
#[derive(Debug)]
pub struct Lead<'a> {
    coalescer: &'a MissCoalescer,
    key: ArtifactKey,
    outcome: Option<oneshot::Sender<MissOutcome>>,
}

impl MissCoalescer {
    /// Joins the read of `key` already in flight, or starts one.
    pub fn join(&self, key: &ArtifactKey) -> Role<'_> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(follow) = in_flight.get(key) {
            return Role::Follower(follow.clone());
        }
        let (sender, receiver) = oneshot::channel();
        in_flight.insert(key.clone(), receiver.shared());
        Role::Leader(Lead { coalescer: self, key: key.clone(), outcome: Some(sender) })
    }

    /// How many artifacts are being read right now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn forget(&self, key: &ArtifactKey) {
        self.in_flight.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }
}

impl Lead<'_> {
    /// Hands `outcome` to every follower. Misses arriving after this start a read of their own (or, for a cached
    /// artifact, never get here: they hit the cache).
    pub fn finish(mut self, outcome: MissOutcome) {
        self.coalescer.forget(&self.key);
        if let Some(sender) = self.outcome.take() {
            // No followers left is fine: nobody was waiting.
            let _ = sender.send(outcome);
        }
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        // Unfinished: the request was cancelled. Dropping the sender tells the followers to read for themselves.
        if self.outcome.is_some() {
            self.coalescer.forget(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use bytes::Bytes;
    use jaas_shared::Digest;

    use super::*;

    fn key(name: &str) -> ArtifactKey {
        ArtifactKey::new("team-a", name, Digest::of(name.as_bytes())).unwrap()
    }

    fn artifact(body: &'static [u8]) -> CachedArtifact {
        CachedArtifact { body: Bytes::from_static(body), last_modified: SystemTime::UNIX_EPOCH }
    }

    fn lead(role: Role<'_>) -> Lead<'_> {
        match role {
            Role::Leader(lead) => lead,
            Role::Follower(_) => panic!("expected to lead"),
        }
    }

    fn follow(role: Role<'_>) -> Follow {
        match role {
            Role::Follower(follow) => follow,
            Role::Leader(_) => panic!("expected to follow"),
        }
    }

    #[tokio::test]
    async fn followers_get_the_leaders_artifact_and_the_next_miss_leads_again() {
        let coalescer = MissCoalescer::default();
        let leader = lead(coalescer.join(&key("web")));
        let followers = [follow(coalescer.join(&key("web"))), follow(coalescer.join(&key("web")))];
        leader.finish(MissOutcome::Cached(artifact(b"tarball")));
        for follower in followers {
            let MissOutcome::Cached(got) = follower.await.unwrap() else { panic!("expected the artifact") };
            assert_eq!(got.body, Bytes::from_static(b"tarball"));
        }
        assert_eq!(coalescer.in_flight(), 0);
        lead(coalescer.join(&key("web")));
    }

    #[tokio::test]
    async fn followers_get_the_leaders_error() {
        let coalescer = MissCoalescer::default();
        let leader = lead(coalescer.join(&key("web")));
        let follower = follow(coalescer.join(&key("web")));
        leader.finish(MissOutcome::Failed(StoreError::Unavailable("radosgw refused".into())));
        let outcome = follower.await.unwrap();
        assert!(matches!(outcome, MissOutcome::Failed(StoreError::Unavailable(ref why)) if why == "radosgw refused"));
    }

    #[tokio::test]
    async fn a_cancelled_leader_sends_its_followers_to_storage_and_frees_the_key() {
        let coalescer = MissCoalescer::default();
        let leader = lead(coalescer.join(&key("web")));
        let follower = follow(coalescer.join(&key("web")));
        drop(leader);
        assert!(follower.await.is_err(), "a follower of a cancelled leader must not wait forever");
        assert_eq!(coalescer.in_flight(), 0);
        lead(coalescer.join(&key("web")));
    }

    #[test]
    fn different_artifacts_are_read_independently() {
        let coalescer = MissCoalescer::default();
        let _web = lead(coalescer.join(&key("web")));
        let _api = lead(coalescer.join(&key("api")));
        assert_eq!(coalescer.in_flight(), 2);
    }
}
