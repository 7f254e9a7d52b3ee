//! Objects as the controller's watches last saw them (one reflector per watched scope): the ExternalArtifacts, so
//! that publishing compares against the cached object instead of reading it first, and the JsonnetLibraries, so
//! that a reconcile reads no library from the API server. A watch updates its cache before it triggers the
//! reconciles an event concerns, so a reconcile sees the change that woke it. A cached ExternalArtifact may lag our
//! own last write to it; the worst that costs is one idempotent apply of what is already there.

use std::sync::{PoisonError, RwLock};

use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store};
use serde::de::DeserializeOwned;

/// The reflector stores of every watched scope for one kind.
pub struct WatchedCache<K: Resource<DynamicType = ()> + Clone + 'static> {
    stores: RwLock<Vec<Store<K>>>,
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Default for WatchedCache<K> {
    fn default() -> Self {
        Self { stores: RwLock::default() }
    }
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> WatchedCache<K> {
    /// Adds the store of one watched scope.
    pub fn add(&self, store: Store<K>) {
        self.stores.write().unwrap_or_else(PoisonError::into_inner).push(store);
    }

    /// The object `namespace/name` once every store has its first list, or `None` when it does not exist.
    pub async fn get(&self, namespace: &str, name: &str) -> Option<K> {
        let stores = self.stores.read().unwrap_or_else(PoisonError::into_inner).clone();
        let reference = ObjectRef::<K>::new(name).within(namespace);
        for store in stores {
            if store.wait_until_ready().await.is_err() {
                continue;
            }
            if let Some(object) = store.get(&reference) {
                return Some(K::clone(&object));
            }
        }
        None
    }

    /// The object `name` of `api`'s namespace: from the watch's cache when a scope is watched, else read from the
    /// API server (a context not run by the controllers, such as a test calling a step directly, has no watch).
    pub async fn get_or_read(&self, api: &Api<K>, name: &str) -> kube::Result<Option<K>>
    where
        K: DeserializeOwned + std::fmt::Debug,
    {
        if self.is_watched() {
            Ok(self.get(api.namespace().unwrap_or_default(), name).await)
        } else {
            api.get_opt(name).await
        }
    }

    fn is_watched(&self) -> bool {
        !self.stores.read().unwrap_or_else(PoisonError::into_inner).is_empty()
    }
}
