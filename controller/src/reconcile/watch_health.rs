//! How a failing watch is reported. Every watch retries with kube-runtime's backoff (0.8 s doubling to 30 s), and a
//! failure that needs an operator, above all a permission the ServiceAccount lacks (403), would otherwise repeat at
//! every retry or hide at DEBUG. Here it is logged at ERROR, naming the resource and quoting the API server, once and
//! then at most every [`REPORT_EVERY`] (a [`ReportLimit`]) while it lasts. A watch denied by the
//! API server also makes [`WatchHealth::denied`] resolve, so that a reconcile waiting for that watch's cache fails
//! with the denial instead of waiting for ever.
//!
//! Each watch backs off alone: kube-runtime's `Controller` also wraps the merged stream of all its watches in one
//! backoff, which pauses every watch (and the caches they fill, and the triggers of every snippet) whenever any one
//! of them fails. With one watch denied for good, that stalled reconciles that waited for another watch's cache;
//! [`NoSharedBackoff`] turns it off.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};

use crate::error::Error;
use crate::report_limit::{REPORT_EVERY, ReportLimit};

/// The health of one watch (one resource in one scope). Cloning is cheap; clones share it.
#[derive(Clone)]
pub struct WatchHealth {
    resource: Arc<str>,
    limit: Arc<Mutex<ReportLimit>>,
    denial: Arc<tokio::sync::watch::Sender<Option<String>>>,
}

impl WatchHealth {
    /// The health of the watch of `resource` (e.g. `jsonnetlibraries.jaas.metio.wtf in all namespaces`).
    pub fn new(resource: impl Into<String>) -> Self {
        Self {
            resource: resource.into().into(),
            limit: Arc::new(Mutex::new(ReportLimit::default())),
            denial: Arc::new(tokio::sync::watch::Sender::new(None)),
        }
    }

    /// Looks at one item of the watch: an error is reported (rate-limited) and, when it is a 403, recorded as the
    /// watch's denial; a completed list clears the denial.
    pub fn observe<K>(&self, item: &Result<watcher::Event<K>, watcher::Error>) {
        match item {
            Ok(watcher::Event::InitDone) => {
                self.denial.send_if_modified(|denial| denial.take().is_some());
            }
            Ok(_) => {}
            Err(error) => {
                let report = self.limit.lock().unwrap_or_else(PoisonError::into_inner).failed(Instant::now());
                let resource = &*self.resource;
                let denial = denial_of(error);
                // A denial is quoted as the API server words it, without the debug dump of its Status.
                let error =
                    denial.clone().map_or_else(|| error.to_string(), |message| Error::Forbidden(message).to_string());
                if let Some(failures) = report {
                    tracing::error!(
                        %resource, %error, failures,
                        "cannot watch {resource}; retrying with backoff (reported again in {} if it lasts)",
                        humantime::format_duration(REPORT_EVERY)
                    );
                } else {
                    tracing::debug!(%resource, %error, "cannot watch; retrying with backoff");
                }
                if let Some(message) = denial {
                    self.denial.send_replace(Some(message));
                }
            }
        }
    }

    /// Resolves with the API server's message while (or as soon as) the watch is denied.
    pub async fn denied(&self) -> String {
        let mut receiver = self.denial.subscribe();
        let denial = receiver.wait_for(Option::is_some).await.ok().and_then(|denial| denial.clone());
        match denial {
            Some(denial) => denial,
            // The sender lives as long as `self`: never reached, but never resolve with nonsense either.
            None => std::future::pending().await,
        }
    }
}

/// What a watch of `K` in `namespace` (`None`: all) is called in logs, e.g. `jsonnetlibraries.jaas.metio.wtf in
/// namespace team`.
pub fn watched_resource<K: kube::Resource<DynamicType = ()>>(namespace: Option<&str>) -> String {
    let (plural, group) = (K::plural(&()), K::group(&()));
    let resource = if group.is_empty() { plural.into_owned() } else { format!("{plural}.{group}") };
    match namespace {
        Some(namespace) => format!("{resource} in namespace {namespace}"),
        None => format!("{resource} in all namespaces"),
    }
}

/// The watch of `api` with kube-runtime's default backoff, its failures reported through `health`.
pub fn reported_watch<K>(
    api: Api<K>,
    config: watcher::Config,
    health: WatchHealth,
) -> impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
{
    watcher::watcher(api, config).default_backoff().inspect(move |item| health.observe(item))
}

/// The backoff of a `Controller`'s merged trigger stream: none, since every watch has its own (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct NoSharedBackoff;

impl Iterator for NoSharedBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        Some(Duration::ZERO)
    }
}

impl kube::runtime::utils::Backoff for NoSharedBackoff {
    fn reset(&mut self) {}
}

/// The API server's message when a watch error is a 403.
fn denial_of(error: &watcher::Error) -> Option<String> {
    let kube_error = match error {
        watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e) | watcher::Error::WatchFailed(e) => {
            e
        }
        watcher::Error::WatchError(status) => {
            return status.is_forbidden().then(|| status.message.clone());
        }
        watcher::Error::NoResourceVersion => return None,
    };
    match kube_error {
        kube::Error::Api(status) if status.is_forbidden() => Some(status.message.clone()),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use futures::StreamExt;
    use kube::core::Status;
    use kube::runtime::utils::StreamBackoff;

    use super::*;

    fn forbidden() -> kube::Error {
        let message = "jsonnetlibraries.jaas.metio.wtf is forbidden: User \"system:serviceaccount:jaas:jaas\" cannot \
                       list resource \"jsonnetlibraries\" in API group \"jaas.metio.wtf\" at the cluster scope";
        kube::Error::Api(Status::failure(message, "Forbidden").with_code(403).boxed())
    }

    #[tokio::test]
    async fn a_denied_watch_wakes_its_waiters_until_a_list_succeeds() {
        let health = WatchHealth::new("jsonnetlibraries.jaas.metio.wtf in all namespaces");
        let waiting = tokio::spawn({
            let health = health.clone();
            async move { health.denied().await }
        });
        health.observe::<()>(&Err(watcher::Error::InitialListFailed(forbidden())));
        let denial = tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
        assert!(denial.contains("cannot list resource \"jsonnetlibraries\""), "{denial}");

        health.observe::<()>(&Ok(watcher::Event::InitDone));
        assert!(tokio::time::timeout(Duration::from_millis(50), health.denied()).await.is_err(), "cleared by a list");

        let unavailable = Status::failure("etcdserver: request timed out", "InternalError").with_code(500).boxed();
        health.observe::<()>(&Err(watcher::Error::InitialListFailed(kube::Error::Api(unavailable))));
        assert!(tokio::time::timeout(Duration::from_millis(50), health.denied()).await.is_err(), "only a 403 denies");
    }

    #[tokio::test]
    async fn one_failing_watch_does_not_pause_the_others() {
        let merged = futures::stream::iter([Err("denied"), Ok(1), Err("denied"), Ok(2), Err("denied"), Ok(3)]);
        let items = StreamBackoff::new(merged, NoSharedBackoff).filter_map(|item| async move { item.ok() });
        let delivered = tokio::time::timeout(Duration::from_millis(200), items.collect::<Vec<_>>()).await;
        assert_eq!(delivered.unwrap(), [1, 2, 3], "kube-runtime's default would pause 0.8 s, then 1.6 s, ...");
    }
}
