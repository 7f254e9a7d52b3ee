//! The apply half of a reconcile: one snippet's pipeline, read top to bottom in [`apply`]. Inputs (its libraries and
//! Flux sources, the render request, their fingerprint) → decision (the render memo: render now, or wait) → render →
//! store → publish (the ExternalArtifact and its status) → retention → the snippet's status. A failed render, store or
//! publish leaves the last good artifact published; a suspended snippet stops before the inputs.

use std::time::{Duration, Instant, SystemTime};

use jaas_shared::SnippetRef;
use kube::ResourceExt;
use kube::runtime::controller::Action;

use crate::conditions::{self, REASON_RERENDER_THROTTLED, REASON_SUCCEEDED, REASON_SUSPENDED, REASON_UNCHANGED};
use crate::crd::JsonnetSnippet;
use crate::crd::source_ref::validate_source_choice;
use crate::error::{Error, Result};
use crate::reconcile::REQUESTED_AT_ANNOTATION;
use crate::reconcile::artifact;
use crate::reconcile::context::{Context, snippet_key};
use crate::reconcile::inputs;
use crate::reconcile::memo::Decision;
use crate::reconcile::publish;
use crate::reconcile::record;
use crate::reconcile::retention;
use crate::reconcile::status;

/// The apply half of a reconcile: every step in order; the first failure ends it.
pub async fn apply(snippet: &JsonnetSnippet, ctx: &Context) -> Result<Action> {
    let key = snippet_key(snippet);
    let at = SnippetRef::new(&snippet.namespace().unwrap_or_default(), &snippet.name_any())?;
    let interval = snippet.spec.interval().map_err(Error::InvalidSpec)?;
    validate_source_choice(&snippet.spec).map_err(Error::InvalidSpec)?;
    if snippet.spec.suspend {
        return suspend(ctx, snippet, &key).await;
    }
    let published = status::published_revision(snippet);

    let inputs = inputs::gather(ctx, snippet).await?;
    let requested = reconcile_request(snippet);
    let decision = if requested.is_some() {
        Decision::Render
    } else {
        ctx.memo.decide(&key, inputs.fingerprint, interval, ctx.backoff.delay(&key), Instant::now())
    };
    if decision == Decision::Render
        && let Err(wait) = ctx.rerenders.take(&key, Instant::now())
    {
        return Ok(throttled(ctx, snippet, wait).await);
    }
    let stored = match decision {
        Decision::Render => {
            let attempt = async {
                let (rendered, timing) = artifact::render(ctx, &inputs.request).await?;
                let stored = store(ctx, snippet, &inputs, &at, rendered, timing).await?;
                publish::publish(ctx, snippet, &stored, published, inputs.origin.as_ref()).await?;
                Ok::<_, Error>(stored)
            }
            .await;
            if attempt.is_err() {
                ctx.memo.record(&key, inputs.fingerprint, false, Instant::now());
            }
            Some(attempt?)
        }
        Decision::UpToDate(_) | Decision::RetryLater(_) => None,
    };
    let current = stored.as_ref().map_or(published, |stored| Some(stored.key.digest()));
    let retained = retain(ctx, snippet, &key, &at, current, stored.is_some()).await?;
    let mut new_status = status::applied(snippet, stored.as_ref(), retained.history, &ctx.base_url, SystemTime::now());
    if let Some(requested) = requested {
        new_status.last_handled_reconcile_at = Some(requested.to_owned());
    }
    status::write(ctx, snippet, new_status).await?;
    // Only now are these inputs up to date: had retention or the status write failed after a publish, the status
    // would still name the previous revision, and the next reconcile must publish (and record) this one again
    // rather than take the stale status for the current revision.
    if stored.is_some() {
        ctx.memo.record(&key, inputs.fingerprint, true, Instant::now());
    }

    succeeded(ctx, &key, decision);
    Ok(next_reconcile(decision, interval, retained.recheck).map_or_else(Action::await_change, Action::requeue))
}

/// Stores a render with its record, unless it is the revision the ExternalArtifact serves already, with its record.
async fn store(
    ctx: &Context,
    snippet: &JsonnetSnippet,
    inputs: &inputs::Inputs,
    at: &SnippetRef,
    rendered: jaas_render::RenderedArtifact,
    timing: record::RenderTiming,
) -> Result<artifact::Stored> {
    let serving = publish::serving(ctx, snippet).await?;
    if let Some(stored) = artifact::already_stored(ctx, at, &rendered, serving.as_ref()).await {
        return Ok(stored);
    }
    let (origins, limits) = (inputs.origins.clone(), ctx.renderer.limits());
    let record = record::encode(snippet, &inputs.request, &rendered, origins, limits, timing)?;
    artifact::store(ctx, at, rendered, record).await
}

/// The `flux reconcile` request not handled yet: the annotation's value when the status has not recorded it.
fn reconcile_request(snippet: &JsonnetSnippet) -> Option<&str> {
    let requested = snippet.annotations().get(REQUESTED_AT_ANNOTATION)?;
    let handled = snippet.status.as_ref().and_then(|status| status.last_handled_reconcile_at.as_ref());
    (handled != Some(requested)).then_some(requested.as_str())
}

/// Retention after a publish, or when it may have something to decide; otherwise the status's history stands.
async fn retain(
    ctx: &Context,
    snippet: &JsonnetSnippet,
    key: &str,
    at: &SnippetRef,
    current: Option<jaas_shared::Digest>,
    published: bool,
) -> Result<retention::Retained> {
    let history = snippet.spec.history;
    if !published && ctx.retention.holds(key, current, history) {
        let history = snippet.status.as_ref().map(|status| status.history.clone()).unwrap_or_default();
        return Ok(retention::Retained { history, recheck: None });
    }
    let retained = retention::enforce(ctx, at, current, history).await?;
    ctx.retention.record(key, current, history, &retained);
    Ok(retained)
}

/// Puts a render beyond `--rerender-rate`/`--rerender-burst` off by `wait`, saying so in a Warning Event.
async fn throttled(ctx: &Context, snippet: &JsonnetSnippet, wait: Duration) -> Action {
    ctx.metrics.rerenders_throttled.inc();
    let note = format!(
        "renders more often than --rerender-rate allows; the next render in {}",
        humantime::format_duration(Duration::from_millis(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)))
    );
    ctx.events.warn(snippet, REASON_RERENDER_THROTTLED, "Render", &note).await;
    Action::requeue(wait)
}

/// Marks the snippet suspended; nothing is rendered, published or deleted.
async fn suspend(ctx: &Context, snippet: &JsonnetSnippet, key: &str) -> Result<Action> {
    let suspended = status::with_conditions(snippet, conditions::suspended(snippet.metadata.generation));
    status::write(ctx, snippet, suspended).await?;
    ctx.backoff.succeeded(key);
    ctx.metrics.reconciles.with_label_values(&["success", REASON_SUSPENDED]).inc();
    Ok(Action::await_change())
}

/// Counts a reconcile that ran every step. One that left the snippet up to date ends its failure streak; one that
/// only waited for the retry of a failed render does not, so the next failure backs off further.
fn succeeded(ctx: &Context, key: &str, decision: Decision) {
    let reason = match decision {
        Decision::Render => REASON_SUCCEEDED,
        Decision::UpToDate(_) | Decision::RetryLater(_) => REASON_UNCHANGED,
    };
    if !matches!(decision, Decision::RetryLater(_)) {
        ctx.backoff.succeeded(key);
    }
    ctx.metrics.reconciles.with_label_values(&["success", reason]).inc();
}

/// When to look at the snippet again without a change: the sooner of what the render decision asks for (the
/// interval after a render, what is left of it, or of a failed render's retry delay) and retention's recheck.
fn next_reconcile(decision: Decision, interval: Option<Duration>, recheck: Option<Duration>) -> Option<Duration> {
    let wait = match decision {
        Decision::Render => interval,
        Decision::UpToDate(wait) => wait,
        Decision::RetryLater(wait) => Some(wait),
    };
    match (wait, recheck) {
        (Some(wait), Some(recheck)) => Some(wait.min(recheck)),
        (wait, recheck) => wait.or(recheck),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(seconds: u64) -> Duration {
        Duration::from_secs(seconds)
    }

    #[test]
    fn the_next_reconcile_is_the_soonest_one_asked_for() {
        let cases = [
            (Decision::Render, None, None, None),
            (Decision::Render, Some(secs(60)), None, Some(secs(60))),
            (Decision::Render, Some(secs(60)), Some(secs(5)), Some(secs(5))),
            (Decision::UpToDate(None), Some(secs(60)), None, None),
            (Decision::UpToDate(Some(secs(20))), Some(secs(60)), Some(secs(30)), Some(secs(20))),
            (Decision::UpToDate(None), None, Some(secs(30)), Some(secs(30))),
            (Decision::RetryLater(secs(8)), None, None, Some(secs(8))),
            (Decision::RetryLater(secs(8)), Some(secs(60)), Some(secs(3)), Some(secs(3))),
        ];
        for (decision, interval, recheck, expected) in cases {
            assert_eq!(next_reconcile(decision, interval, recheck), expected, "{decision:?} {interval:?} {recheck:?}");
        }
    }
}
