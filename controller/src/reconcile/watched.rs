//! Objects as the controller's watches last saw them (one reflector per watched scope): the ExternalArtifacts, so
//! that publishing compares against the cached object instead of reading it first, and the JsonnetLibraries, so
//! that a reconcile reads no library from the API server. A watch updates its cache before it triggers the
//! reconciles an event concerns, so a reconcile sees the change that woke it. A cached ExternalArtifact may lag our
//! own last write to it; the worst that costs is one idempotent apply of what is already there.
//!
//! Every reconcile waits for a store's first list through one shared readiness future per store: kube-runtime's
//! `Store::wait_until_ready` wakes only the last of several concurrent waiters, so a thousand reconciles started
//! before the first list would otherwise wait forever.

use std::sync::{PoisonError, RwLock};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store};
use serde::de::DeserializeOwned;

/// The reflector stores of every watched scope for one kind.
pub struct WatchedCache<K: Resource<DynamicType = ()> + Clone + 'static> {
    stores: RwLock<Vec<WatchedStore<K>>>,
}

/// One scope's store and a readiness future every waiter shares (true once listed, false if its writer is gone).
struct WatchedStore<K: Resource<DynamicType = ()> + Clone + 'static> {
    store: Store<K>,
    listed: Shared<BoxFuture<'static, bool>>,
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Clone for WatchedStore<K> {
    fn clone(&self) -> Self {
        Self { store: self.store.clone(), listed: self.listed.clone() }
    }
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Default for WatchedCache<K> {
    fn default() -> Self {
        Self { stores: RwLock::default() }
    }
}

impl<K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static> WatchedCache<K> {
    /// Adds the store of one watched scope.
    pub fn add(&self, store: Store<K>) {
        let readiness = store.clone();
        let listed = async move { readiness.wait_until_ready().await.is_ok() }.boxed().shared();
        self.stores.write().unwrap_or_else(PoisonError::into_inner).push(WatchedStore { store, listed });
    }

    /// The object `namespace/name` once every store has its first list, or `None` when it does not exist.
    pub async fn get(&self, namespace: &str, name: &str) -> Option<K> {
        let stores = self.stores.read().unwrap_or_else(PoisonError::into_inner).clone();
        let reference = ObjectRef::<K>::new(name).within(namespace);
        for WatchedStore { store, listed } in stores {
            if !listed.await {
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::runtime::{reflector, watcher};

    use super::WatchedCache;

    fn config_map(name: &str) -> ConfigMap {
        let mut map = ConfigMap::default();
        map.metadata.name = Some(name.to_owned());
        map.metadata.namespace = Some("team".to_owned());
        map
    }

    #[tokio::test]
    async fn every_reconcile_waiting_for_the_first_list_is_released_by_it() {
        let cache = Arc::new(WatchedCache::<ConfigMap>::default());
        let (reader, mut writer) = reflector::store();
        cache.add(reader);
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.get("team", "web").await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitApply(config_map("web")));
        writer.apply_watcher_event(&watcher::Event::InitDone);
        for waiter in waiters {
            let found = tokio::time::timeout(Duration::from_secs(5), waiter)
                .await
                .expect("a waiter was never woken by the first list")
                .expect("a waiter panicked");
            assert_eq!(found.and_then(|map| map.metadata.name).as_deref(), Some("web"));
        }
    }

    #[tokio::test]
    async fn a_missing_object_is_none_once_listed() {
        let cache = WatchedCache::<ConfigMap>::default();
        let (reader, mut writer) = reflector::store();
        cache.add(reader);
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitDone);
        assert!(cache.get("team", "web").await.is_none());
    }
}
