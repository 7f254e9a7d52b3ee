//! Reconciling JsonnetSnippets: the shared [`Context`], the finalizer around the apply and cleanup halves, the
//! error policy, and the wiring of kube-runtime `Controller`s (one per watched namespace, or one for all).

pub mod apply;
pub mod cleanup;
pub mod memo;
pub mod publish;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jaas_shared::ArtifactStore;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};

use crate::crd::{ExternalArtifact, JsonnetLibrary, JsonnetSnippet};
use crate::error::{Error, Result};
use crate::events::EventPublisher;
use crate::metrics::Metrics;
use jaas_render::Renderer;
use memo::RenderMemo;

/// The finalizer that keeps a deleted snippet until its artifacts are withdrawn.
pub const FINALIZER: &str = "jaas.metio.wtf/finalizer";

/// Everything a reconcile needs.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// Where tarballs are stored.
    pub store: Arc<dyn ArtifactStore>,
    /// Evaluates snippets.
    pub renderer: Arc<Renderer>,
    /// `--storage-base-url`, without a trailing slash.
    pub base_url: String,
    /// `--artifact-gc-grace`.
    pub gc_grace: Duration,
    /// `--max-withdraw-wait`.
    pub max_withdraw_wait: Duration,
    /// The metrics.
    pub metrics: Metrics,
    /// Publishes Events.
    pub events: EventPublisher,
    /// Last render outcomes, so that our own writes never cause a render.
    pub memo: RenderMemo,
}

/// Reconciles one snippet: the finalizer first, then apply or cleanup.
pub async fn reconcile(snippet: Arc<JsonnetSnippet>, ctx: Arc<Context>) -> Result<Action> {
    let api: Api<JsonnetSnippet> = Api::namespaced(ctx.client.clone(), &snippet.namespace().unwrap_or_default());
    // The reflector's copy may predate our own last status write; a status applied on top of it would drop
    // fields we wrote since (server-side apply removes what the manager no longer sends). Read it fresh.
    let snippet = match api.get_opt(&snippet.name_any()).await {
        Ok(Some(fresh)) => Arc::new(fresh),
        Ok(None) => return Ok(Action::await_change()),
        Err(error) => {
            let error = Error::from(error);
            ctx.metrics.reconciles.with_label_values(&["error", error.reason()]).inc();
            return Err(error);
        }
    };
    let result = finalizer(&api, FINALIZER, snippet.clone(), |event| async {
        match event {
            Event::Apply(snippet) => match apply::apply(&snippet, &ctx).await {
                Ok(action) => Ok(action),
                Err(error) => Err(apply::report_failure(&ctx, &snippet, error).await),
            },
            Event::Cleanup(snippet) => cleanup::cleanup(&snippet, &ctx).await,
        }
    })
    .await;
    result.map_err(|error| {
        let error = match error {
            kube::runtime::finalizer::Error::ApplyFailed(error)
            | kube::runtime::finalizer::Error::CleanupFailed(error) => error,
            other => Error::Finalizer(other.to_string()),
        };
        ctx.metrics.reconciles.with_label_values(&["error", error.reason()]).inc();
        error
    })
}

/// Retries with a per-snippet exponential backoff; records the failure on the snippet first.
#[allow(clippy::needless_pass_by_value)] // the signature kube-runtime's Controller::run expects
pub fn error_policy(snippet: Arc<JsonnetSnippet>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = format!("{}/{}", snippet.namespace().unwrap_or_default(), snippet.name_any());
    let failures = ctx.memo.failures(&key).max(1);
    tracing::warn!(snippet = %key, %error, failures, "reconcile failed");
    Action::requeue(memo::backoff(failures))
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

/// Runs the controllers until `shutdown` resolves, then lets in-flight reconciles finish.
pub async fn run_controllers(
    ctx: Arc<Context>,
    namespaces: &[String],
    label_selector: Option<&str>,
    shutdown: impl Future<Output = ()> + Send + Sync + Clone + 'static,
) {
    let client = ctx.client.clone();
    let mut config = watcher::Config::default();
    if let Some(selector) = label_selector {
        config = config.labels(selector);
    }
    let controllers = scopes(namespaces).into_iter().map(|namespace| {
        let ns = namespace.as_deref();
        let controller = Controller::new(api_in::<JsonnetSnippet>(&client, ns), config.clone());
        let snippets = controller.store();
        controller
            .owns(api_in::<ExternalArtifact>(&client, ns), watcher::Config::default())
            .watches(api_in::<JsonnetLibrary>(&client, ns), watcher::Config::default(), move |library| {
                let (namespace, name) = (library.namespace(), library.name_any());
                snippets
                    .state()
                    .into_iter()
                    .filter(|s| s.namespace() == namespace && s.spec.libraries.contains(&name))
                    .map(|s| ObjectRef::from_obj(&*s))
                    .collect::<Vec<_>>()
            })
            .graceful_shutdown_on(shutdown.clone())
            .run(reconcile, error_policy, ctx.clone())
            .for_each(|result| async move {
                if let Err(error) = result {
                    tracing::debug!(%error, "reconcile ended with an error");
                }
            })
    });
    futures::future::join_all(controllers).await;
}
