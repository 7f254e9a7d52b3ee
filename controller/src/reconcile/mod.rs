//! Reconciling JsonnetSnippets: the finalizer around the apply and cleanup halves, the error policy, and the wiring of
//! kube-runtime `Controller`s (one per watched namespace, or one for all), each watching snippets and what they read or
//! publish: libraries, the Flux source kinds the cluster serves, ExternalArtifacts (see [`triggers`]). One snippet's
//! apply is a pipeline of steps, each a module: [`inputs`] (with [`sources`]) → the render [`memo`]'s decision →
//! [`artifact`] (render, store) → [`publish`] → [`retention`] → [`status`]; [`apply`] calls them in order. Every step
//! reads the shared [`Context`]; none imports this module.

pub mod apply;
pub mod artifact;
pub mod backoff;
pub mod cleanup;
pub mod context;
pub mod finalizer;
pub mod inputs;
pub mod memo;
pub mod own_writes;
pub mod publish;
pub mod record;
pub mod retention;
pub mod sources;
pub mod status;
pub mod throttle;
pub mod triggers;
pub mod watch_health;
pub mod watched;

use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use kube::api::Api;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{PredicateConfig, WatchStreamExt, watcher};
use kube::{Client, ResourceExt};

use crate::crd::{
    Bucket, ExternalArtifact, FluxSourceKind, GitRepository, JsonnetLibrary, JsonnetSnippet, OCIRepository,
};
use crate::error::{Error, Result};
pub use context::Context;
use context::snippet_key;
pub use finalizer::FINALIZER;
use triggers::{LibrarySources, SourceKey, snippets_listing, snippets_of_artifact, snippets_reading};
use watch_health::{WatchHealth, reported_watch, watched_resource};
use watched::WatchedCache;

/// Reconciles one snippet, as the reflector has it brought up to date with our own writes (no read of its own):
/// a deleted one is withdrawn and released, any other gets our finalizer and is applied.
pub async fn reconcile(snippet: Arc<JsonnetSnippet>, ctx: Arc<Context>) -> Result<Action> {
    let _in_flight = ctx.metrics.reconciles_in_flight.track();
    let snippet = ctx.own_writes.overlay(snippet, FINALIZER);
    let result = if snippet.metadata.deletion_timestamp.is_some() {
        withdraw(&snippet, &ctx).await
    } else {
        keep_published(&snippet, &ctx).await
    };
    result.inspect_err(|error| {
        ctx.metrics.reconciles.with_label_values(&["error", error.reason()]).inc();
    })
}

/// A deleted snippet: withdraw what it published, then release the finalizer; a failure is recorded in its status
/// (it says why the snippet stays in deletion).
async fn withdraw(snippet: &JsonnetSnippet, ctx: &Context) -> Result<Action> {
    if !finalizer::present(snippet) {
        ctx.own_writes.forget(snippet);
        return Ok(Action::await_change());
    }
    let withdrawn = async {
        let action = cleanup::cleanup(snippet, ctx).await?;
        finalizer::remove(ctx, snippet).await?;
        Ok(action)
    };
    match withdrawn.await {
        Ok(action) => {
            ctx.own_writes.forget(snippet);
            Ok(action)
        }
        Err(error) => Err(status::record_failure(ctx, snippet, error).await),
    }
}

/// A live snippet: our finalizer first (before anything is published), then the apply pipeline; a failure of either
/// is recorded in its status.
async fn keep_published(snippet: &JsonnetSnippet, ctx: &Context) -> Result<Action> {
    let applied = async {
        if !finalizer::present(snippet) {
            finalizer::add(ctx, snippet).await?;
        }
        apply::apply(snippet, ctx).await
    };
    match applied.await {
        Ok(action) => Ok(action),
        Err(error) => Err(status::record_failure(ctx, snippet, error).await),
    }
}

/// Retries a failed reconcile with a per-snippet exponential backoff: every failed reconcile of the snippet (of
/// any kind: reading it or its libraries, rendering, storage, publishing, writing its status, withdrawing it)
/// doubles the delay, from 2 s up to 5 min; a reconcile that leaves the snippet up to date starts over (see
/// [`backoff`]). The failure is already recorded on the snippet ([`status::record_failure`]).
#[allow(clippy::needless_pass_by_value)] // the signature kube-runtime's Controller::run expects
pub fn error_policy(snippet: Arc<JsonnetSnippet>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = snippet_key(&snippet);
    let (failures, delay) = ctx.backoff.failed(&key);
    tracing::warn!(snippet = %key, %error, failures, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// The watcher scopes: one per listed namespace, or the whole cluster.
fn scopes(namespaces: &[String]) -> Vec<Option<String>> {
    if namespaces.is_empty() { vec![None] } else { namespaces.iter().cloned().map(Some).collect() }
}

fn api_in<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
{
    namespace.map_or_else(|| Api::all(client.clone()), |ns| Api::namespaced(client.clone(), ns))
}

/// A namespaced kind the controllers watch.
trait WatchedKind:
    kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
    + Clone
    + std::fmt::Debug
    + serde::de::DeserializeOwned
    + Send
    + 'static
{
}

impl<K> WatchedKind for K where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + 'static
{
}

/// The watch of a Flux source kind in one scope, passing on every object it touched.
fn source_stream<K: WatchedKind>(
    client: &Client,
    namespace: Option<&str>,
) -> impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static {
    let health = WatchHealth::new(watched_resource::<K>(namespace));
    reported_watch(api_in::<K>(client, namespace), watcher::Config::default(), health).touched_objects()
}

/// The watch mapper of a Flux source kind: an event on a source reaches the snippets that read it.
fn source_mapper<K: kube::Resource>(
    kind: FluxSourceKind,
    snippets: &Store<JsonnetSnippet>,
    library_sources: &LibrarySources,
) -> impl Fn(K) -> Vec<ObjectRef<JsonnetSnippet>> + Send + Sync + 'static {
    let (snippets, library_sources) = (snippets.clone(), library_sources.clone());
    move |source| snippets_reading(&snippets.state(), &library_sources, &SourceKey::for_object(kind, &source))
}

/// The annotation `flux reconcile` sets: a new value asks for a render now.
pub const REQUESTED_AT_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";

/// What of a snippet, when it changes, calls for a reconcile: its generation (the spec), its deletion, and a
/// `flux reconcile` request. Status and metadata writes (ours above all) pass by: they reach the cache only.
#[allow(clippy::unnecessary_wraps, reason = "the predicate signature kube-runtime expects")]
fn reconcile_worthy(snippet: &JsonnetSnippet) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    snippet.metadata.generation.hash(&mut hasher);
    snippet.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    snippet.annotations().get(REQUESTED_AT_ANNOTATION).hash(&mut hasher);
    Some(hasher.finish())
}

/// The snippet watch of one scope, its failures reported through [`WatchHealth`]: managed fields dropped (the
/// largest part of an object, never read here) before the cache keeps it; every event shows
/// [`OwnWrites`](own_writes::OwnWrites) which of our writes landed; only [`reconcile_worthy`] changes trigger.
fn snippet_stream(
    ctx: &Arc<Context>,
    namespace: Option<&str>,
    config: watcher::Config,
) -> (Store<JsonnetSnippet>, impl futures::Stream<Item = Result<JsonnetSnippet, watcher::Error>> + Send + 'static) {
    let (reader, writer) = reflector::store();
    ctx.own_writes.watch(reader.clone());
    let api = api_in::<JsonnetSnippet>(&ctx.client, namespace);
    let health = WatchHealth::new(watched_resource::<JsonnetSnippet>(namespace));
    let ctx = ctx.clone();
    let stream = reported_watch(api, config, health)
        .modify(|snippet: &mut JsonnetSnippet| snippet.managed_fields_mut().clear())
        .reflect(writer)
        .inspect_ok(move |event| ctx.own_writes.observe_event(event, FINALIZER))
        .applied_objects()
        .predicate_filter(reconcile_worthy, PredicateConfig::default());
    (reader, stream)
}

/// The watch of one kind in one scope (`namespace`, `None`: all), cached (without managed fields) in `cache`,
/// passing on every object it touched.
fn cached_stream<K: WatchedKind + Sync>(
    client: &Client,
    cache: &WatchedCache<K>,
    namespace: Option<&str>,
) -> impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static {
    let (reader, writer) = reflector::store();
    let health = WatchHealth::new(watched_resource::<K>(namespace));
    cache.add(reader, health.clone());
    reported_watch(api_in::<K>(client, namespace), watcher::Config::default(), health)
        .modify(|object: &mut K| object.managed_fields_mut().clear())
        .reflect(writer)
        .touched_objects()
}

/// Keeps `jaas_workqueue_depth` at the number of cached snippets whose generation is not reconciled yet.
async fn sample_workqueue_depth(stores: Vec<Store<JsonnetSnippet>>, gauge: prometheus::IntGauge) {
    loop {
        let pending: usize = stores
            .iter()
            .map(|store| {
                store
                    .state()
                    .iter()
                    .filter(|snippet| {
                        let observed = snippet.status.as_ref().and_then(|status| status.observed_generation);
                        observed != snippet.metadata.generation
                    })
                    .count()
            })
            .sum();
        gauge.set(i64::try_from(pending).unwrap_or(i64::MAX));
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

/// Runs the controllers until `shutdown` resolves, then lets in-flight reconciles finish. At most
/// `max_concurrent_reconciles` reconciles run at once in each watched scope.
pub async fn run_controllers(
    ctx: Arc<Context>,
    namespaces: &[String],
    label_selector: Option<&str>,
    max_concurrent_reconciles: u16,
    shutdown: impl Future<Output = ()> + Send + Sync + Clone + 'static,
) {
    let client = ctx.client.clone();
    let mut config = watcher::Config::default();
    if let Some(selector) = label_selector {
        config = config.labels(selector);
    }
    let mut stores = Vec::new();
    let controllers: Vec<_> = scopes(namespaces)
        .into_iter()
        .map(|namespace| {
            let ns = namespace.as_deref();
            let (snippets, stream) = snippet_stream(&ctx, ns, config.clone());
            stores.push(snippets.clone());
            let controller = Controller::for_stream(stream, snippets.clone())
                .with_config(controller::Config::default().concurrency(max_concurrent_reconciles))
                .trigger_backoff(watch_health::NoSharedBackoff);
            let library_sources = LibrarySources::default();
            let mut controller = controller
                .watches_stream(cached_stream::<JsonnetLibrary>(&client, &ctx.libraries, ns), {
                    let (snippets, library_sources) = (snippets.clone(), library_sources.clone());
                    move |library| {
                        library_sources.observe(&library);
                        snippets_listing(&snippets.state(), &library)
                    }
                })
                .watches_stream(cached_stream::<ExternalArtifact>(&client, &ctx.artifacts, ns), {
                    let (snippets, library_sources) = (snippets.clone(), library_sources.clone());
                    move |artifact| snippets_of_artifact(&snippets.state(), &library_sources, &artifact)
                });
            let served = &ctx.served_source_kinds;
            if served.contains(&FluxSourceKind::GitRepository) {
                let mapper = source_mapper(FluxSourceKind::GitRepository, &snippets, &library_sources);
                controller = controller.watches_stream(source_stream::<GitRepository>(&client, ns), mapper);
            }
            if served.contains(&FluxSourceKind::OciRepository) {
                let mapper = source_mapper(FluxSourceKind::OciRepository, &snippets, &library_sources);
                controller = controller.watches_stream(source_stream::<OCIRepository>(&client, ns), mapper);
            }
            if served.contains(&FluxSourceKind::Bucket) {
                let mapper = source_mapper(FluxSourceKind::Bucket, &snippets, &library_sources);
                controller = controller.watches_stream(source_stream::<Bucket>(&client, ns), mapper);
            }
            controller.graceful_shutdown_on(shutdown.clone()).run(reconcile, error_policy, ctx.clone()).for_each(
                |result| async move {
                    if let Err(error) = result {
                        tracing::debug!(%error, "reconcile ended with an error");
                    }
                },
            )
        })
        .collect();
    let sampler = tokio::spawn(sample_workqueue_depth(stores, ctx.metrics.workqueue_depth.clone()));
    futures::future::join_all(controllers).await;
    sampler.abort();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use jaas_render::{LimitArgs, RenderError, Renderer, WorkerCommand};
    use jaas_shared::{LocalStore, StoreError};
    use kube::core::Status;

    use super::*;
    use crate::crd::JsonnetSnippetSpec;
    use crate::events::EventPublisher;
    use crate::metrics::Metrics;
    use backoff::{FailureBackoff, MAX_BACKOFF, MIN_BACKOFF};
    use memo::RenderMemo;

    /// A context whose client points at nothing: error_policy makes no calls.
    async fn context(storage: &std::path::Path) -> Arc<Context> {
        let sources = crate::source::SourceArgs {
            source_cache_dir: Some(storage.join("sources")),
            ..crate::source::SourceArgs::default()
        };
        let client = Client::try_from(kube::Config::new("http://127.0.0.1:9".parse().unwrap())).unwrap();
        let worker = WorkerCommand { program: "false".into(), args: Vec::new() };
        Arc::new(Context {
            client: client.clone(),
            store: Arc::new(LocalStore::new(storage.to_path_buf(), Duration::from_mins(1))),
            renderer: Arc::new(Renderer::new(LimitArgs::default().limits(), 1, worker)),
            base_url: "http://srv".to_owned(),
            gc_grace: Duration::ZERO,
            max_withdraw_wait: Duration::ZERO,
            metrics: Metrics::new().unwrap(),
            events: EventPublisher::new(client, "test"),
            memo: RenderMemo::default(),
            own_writes: crate::reconcile::own_writes::OwnWrites::default(),
            retention: crate::reconcile::retention::Settled::default(),
            artifacts: crate::reconcile::watched::WatchedCache::default(),
            libraries: crate::reconcile::watched::WatchedCache::default(),
            rerenders: crate::reconcile::throttle::RerenderLimit::new(0.0, 1),
            backoff: FailureBackoff::default(),
            sources: sources.build_cache().await.unwrap(),
            no_cross_namespace_refs: true,
            served_source_kinds: std::collections::BTreeSet::new(),
        })
    }

    fn snippet(name: &str) -> Arc<JsonnetSnippet> {
        let mut snippet = JsonnetSnippet::new(name, serde_json::from_str::<JsonnetSnippetSpec>("{}").unwrap());
        snippet.metadata.namespace = Some("team".to_owned());
        Arc::new(snippet)
    }

    #[tokio::test]
    async fn every_failed_reconcile_backs_off_further_until_one_succeeds() {
        let storage = tempfile::tempdir().unwrap();
        let ctx = context(storage.path()).await;
        let web = snippet("web");
        let conflict = Status::failure("the object has been modified", "Conflict").with_code(409);
        let failures = [
            Error::Render(RenderError::LibraryNotFound("JsonnetLibrary \"lib\" does not exist".to_owned())),
            Error::Kube(kube::Error::Api(conflict.boxed())),
            Error::Storage(StoreError::Unavailable("LIST timed out".to_owned())),
            Error::Render(RenderError::EvaluationFailed("boom".to_owned())),
            Error::InvalidSpec("spec.interval \"1s\" must be between 30s and 24h".to_owned()),
        ];
        let delays: Vec<Action> = failures.iter().map(|error| error_policy(web.clone(), error, ctx.clone())).collect();
        let doubling: Vec<Action> = [2, 4, 8, 16, 32].map(|s| Action::requeue(Duration::from_secs(s))).into();
        assert_eq!(delays, doubling, "each kind of failure counts");
        for _ in 0..5 {
            error_policy(web.clone(), &failures[0], ctx.clone());
        }
        assert_eq!(error_policy(web.clone(), &failures[0], ctx.clone()), Action::requeue(MAX_BACKOFF));
        assert_eq!(error_policy(snippet("other"), &failures[0], ctx.clone()), Action::requeue(MIN_BACKOFF));

        ctx.backoff.succeeded(&snippet_key(&web));
        assert_eq!(error_policy(web.clone(), &failures[2], ctx.clone()), Action::requeue(MIN_BACKOFF));
    }
}
