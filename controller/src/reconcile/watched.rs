//! Objects as the controller's watches last saw them (one reflector per watched scope): the ExternalArtifacts, so
//! that publishing compares against the cached object instead of reading it first, and the JsonnetLibraries, so
//! that a reconcile reads no library from the API server. A watch updates its cache before it triggers the
//! reconciles an event concerns, so a reconcile sees the change that woke it. A cached ExternalArtifact may lag our
//! own last write to it; the worst that costs is one idempotent apply of what is already there.
//!
//! Every reconcile waits for a store's first list through one shared readiness future per store: kube-runtime's
//! `Store::wait_until_ready` wakes only the last of several concurrent waiters, so a thousand reconciles started
//! before the first list would otherwise wait forever. A watch the API server denies (see [`WatchHealth`]) never
//! fills its cache: a read fails with the denial instead of waiting.

use std::sync::{PoisonError, RwLock};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::reconcile::watch_health::WatchHealth;

/// The reflector stores of every watched scope for one kind, each with the health of its watch.
pub struct WatchedCache<K: Resource<DynamicType = ()> + Clone + 'static> {
    stores: RwLock<Vec<WatchedStore<K>>>,
}

/// One scope's store, a readiness future every waiter shares (true once listed, false if its writer is gone) and
/// the health of the watch that fills the store.
struct WatchedStore<K: Resource<DynamicType = ()> + Clone + 'static> {
    store: Store<K>,
    listed: Shared<BoxFuture<'static, bool>>,
    health: WatchHealth,
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Clone for WatchedStore<K> {
    fn clone(&self) -> Self {
        Self { store: self.store.clone(), listed: self.listed.clone(), health: self.health.clone() }
    }
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Default for WatchedCache<K> {
    fn default() -> Self {
        Self { stores: RwLock::default() }
    }
}

impl<K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static> WatchedCache<K> {
    /// Adds the store of one watched scope, and the health of the watch that fills it.
    pub fn add(&self, store: Store<K>, health: WatchHealth) {
        let readiness = store.clone();
        let listed = async move { readiness.wait_until_ready().await.is_ok() }.boxed().shared();
        self.stores.write().unwrap_or_else(PoisonError::into_inner).push(WatchedStore { store, listed, health });
    }

    /// The object `namespace/name` once every store has its first list, or `None` when it does not exist; an
    /// [`Error::Forbidden`] when a store's watch is denied before it could list.
    pub async fn get(&self, namespace: &str, name: &str) -> Result<Option<K>> {
        let stores = self.stores.read().unwrap_or_else(PoisonError::into_inner).clone();
        let reference = ObjectRef::<K>::new(name).within(namespace);
        for WatchedStore { store, listed, health } in stores {
            tokio::select! {
                biased;
                listed = listed => if !listed { continue },
                denial = health.denied() => return Err(Error::Forbidden(denial)),
            }
            if let Some(object) = store.get(&reference) {
                return Ok(Some(K::clone(&object)));
            }
        }
        Ok(None)
    }

    /// The object `name` of `api`'s namespace: from the watch's cache when a scope is watched, else read from the
    /// API server (a context not run by the controllers, such as a test calling a step directly, has no watch).
    pub async fn get_or_read(&self, api: &Api<K>, name: &str) -> Result<Option<K>>
    where
        K: DeserializeOwned + std::fmt::Debug,
    {
        if self.is_watched() {
            self.get(api.namespace().unwrap_or_default(), name).await
        } else {
            Ok(api.get_opt(name).await?)
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
    use kube::core::Status;
    use kube::runtime::{reflector, watcher};

    use super::WatchedCache;
    use crate::error::Error;
    use crate::reconcile::watch_health::WatchHealth;

    fn health() -> WatchHealth {
        WatchHealth::new("configmaps in namespace team")
    }

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
        cache.add(reader, health());
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
                .expect("a waiter panicked")
                .expect("the watch is not denied");
            assert_eq!(found.and_then(|map| map.metadata.name).as_deref(), Some("web"));
        }
    }

    #[tokio::test]
    async fn a_missing_object_is_none_once_listed() {
        let cache = WatchedCache::<ConfigMap>::default();
        let (reader, mut writer) = reflector::store();
        cache.add(reader, health());
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitDone);
        assert!(cache.get("team", "web").await.expect("the watch is not denied").is_none());
    }

    #[tokio::test]
    async fn a_read_of_a_denied_watch_fails_with_the_denial_instead_of_waiting() {
        let cache = WatchedCache::<ConfigMap>::default();
        let (reader, _writer) = reflector::store();
        let health = health();
        cache.add(reader, health.clone());
        let message = "configmaps is forbidden: User \"system:serviceaccount:jaas:jaas\" cannot list resource \
                       \"configmaps\" in API group \"\" in the namespace \"team\"";
        let denied = kube::Error::Api(Status::failure(message, "Forbidden").with_code(403).boxed());
        health.observe::<ConfigMap>(&Err(watcher::Error::InitialListFailed(denied)));
        let read = tokio::time::timeout(Duration::from_secs(5), cache.get("team", "web"))
            .await
            .expect("a read of a denied watch waited");
        match read {
            Err(Error::Forbidden(denial)) => assert!(denial.contains("cannot list resource"), "{denial}"),
            other => panic!("expected the denial, got {other:?}"),
        }
    }
}
