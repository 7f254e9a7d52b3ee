//! The ExternalArtifacts as the controller's watch last saw them (one reflector per watched scope), so that
//! publishing compares against the cached object instead of reading it from the API server first. A cached copy
//! may lag our own last write; the worst that costs is one idempotent apply of what is already there.

use std::sync::{PoisonError, RwLock};

use kube::runtime::reflector::{ObjectRef, Store};

use crate::crd::ExternalArtifact;

/// The reflector stores of every watched scope.
#[derive(Default)]
pub struct ArtifactCache {
    stores: RwLock<Vec<Store<ExternalArtifact>>>,
}

impl ArtifactCache {
    /// Adds the store of one watched scope.
    pub fn add(&self, store: Store<ExternalArtifact>) {
        self.stores.write().unwrap_or_else(PoisonError::into_inner).push(store);
    }

    /// The ExternalArtifact `namespace/name` once every store has its first list, or `None` when it does not
    /// exist. Without a store (a context not run by the controllers) nothing is cached: `None`.
    pub async fn get(&self, namespace: &str, name: &str) -> Option<ExternalArtifact> {
        let stores = self.stores.read().unwrap_or_else(PoisonError::into_inner).clone();
        let reference = ObjectRef::<ExternalArtifact>::new(name).within(namespace);
        for store in stores {
            if store.wait_until_ready().await.is_err() {
                continue;
            }
            if let Some(artifact) = store.get(&reference) {
                return Some(ExternalArtifact::clone(&artifact));
            }
        }
        None
    }

    /// Whether any store is registered.
    pub fn is_watched(&self) -> bool {
        !self.stores.read().unwrap_or_else(PoisonError::into_inner).is_empty()
    }
}
