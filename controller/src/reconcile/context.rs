//! What every step of a reconcile reads: the clients, the flags that shape reconciling, the shared cache of Flux
//! source trees, and the two per-snippet memories (the render memo and the failure backoff), with the key both are
//! kept under.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use jaas_render::Renderer;
use jaas_shared::ArtifactStore;
use kube::{Client, ResourceExt};

use crate::crd::{ExternalArtifact, FluxSourceKind, JsonnetLibrary, JsonnetSnippet};
use crate::events::EventPublisher;
use crate::metrics::Metrics;
use crate::reconcile::backoff::FailureBackoff;
use crate::reconcile::memo::RenderMemo;
use crate::reconcile::own_writes::OwnWrites;
use crate::reconcile::retention::Settled;
use crate::reconcile::throttle::RerenderLimit;
use crate::reconcile::watched::WatchedCache;
use crate::source::SourceCache;

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
    /// Which snippets' storage matched their history when last listed.
    pub retention: Settled,
    /// `--rerender-rate` / `--rerender-burst`.
    pub rerenders: RerenderLimit,
    /// The ExternalArtifacts as watched.
    pub artifacts: WatchedCache<ExternalArtifact>,
    /// The JsonnetLibraries as watched.
    pub libraries: WatchedCache<JsonnetLibrary>,
    /// Our writes to snippets that the watch may not show yet.
    pub own_writes: OwnWrites,
    /// Consecutive failed reconciles of each snippet, which set how long to wait before the next attempt.
    pub backoff: FailureBackoff,
    /// Extracted Flux source trees, one download per digest.
    pub sources: SourceCache,
    /// `--no-cross-namespace-refs`.
    pub no_cross_namespace_refs: bool,
    /// The Flux source kinds the API server served when the controller started (those are watched).
    pub served_source_kinds: BTreeSet<FluxSourceKind>,
}

/// The key a snippet's render memo and failure backoff are kept under: `namespace/name`.
pub fn snippet_key(snippet: &JsonnetSnippet) -> String {
    format!("{}/{}", snippet.namespace().unwrap_or_default(), snippet.name_any())
}
