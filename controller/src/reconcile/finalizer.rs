//! Our finalizer on a snippet: added before anything is published, removed once everything is withdrawn. Each
//! change is a merge patch of the finalizer list carrying the `resourceVersion` it was computed from, so it never
//! drops a finalizer someone else added meanwhile: a conflict reads the snippet afresh and tries once more.
//!
//! Adding it does not wait for the watch to bring the change back (the watch passes only spec changes on): the
//! reconcile goes on with the same snippet, and [`super::own_writes`] remembers the addition until the watch shows it.

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::crd::JsonnetSnippet;
use crate::error::Result;
use crate::reconcile::context::Context;

/// The finalizer that keeps a deleted snippet until its artifacts are withdrawn.
pub const FINALIZER: &str = "jaas.metio.wtf/finalizer";

/// Whether `snippet` carries our finalizer.
pub fn present(snippet: &JsonnetSnippet) -> bool {
    snippet.finalizers().iter().any(|finalizer| finalizer == FINALIZER)
}

/// Adds our finalizer to `snippet`.
pub async fn add(ctx: &Context, snippet: &JsonnetSnippet) -> Result<()> {
    change(ctx, snippet, |finalizers| {
        if finalizers.iter().any(|f| f == FINALIZER) {
            return false;
        }
        finalizers.push(FINALIZER.to_owned());
        true
    })
    .await?;
    ctx.own_writes.added_finalizer(snippet);
    Ok(())
}

/// Removes our finalizer from `snippet`, which lets the API server delete it.
pub async fn remove(ctx: &Context, snippet: &JsonnetSnippet) -> Result<()> {
    change(ctx, snippet, |finalizers| {
        let before = finalizers.len();
        finalizers.retain(|f| f != FINALIZER);
        finalizers.len() != before
    })
    .await
}

/// Applies `edit` (which says whether it changed anything) to the finalizer list of `snippet`, reading it afresh
/// after a conflict. A snippet that is gone needs no change.
async fn change(ctx: &Context, snippet: &JsonnetSnippet, edit: impl Fn(&mut Vec<String>) -> bool) -> Result<()> {
    let api: Api<JsonnetSnippet> = Api::namespaced(ctx.client.clone(), &snippet.namespace().unwrap_or_default());
    let name = snippet.name_any();
    let mut current = snippet.meta().clone();
    for attempt in 0..2 {
        let mut finalizers = current.finalizers.clone().unwrap_or_default();
        if !edit(&mut finalizers) {
            return Ok(());
        }
        let patch = json!({ "metadata": { "finalizers": finalizers, "resourceVersion": current.resource_version } });
        match api.patch_metadata(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
            Err(kube::Error::Api(status)) if status.code == 409 && attempt == 0 => {
                match api.get_metadata_opt(&name).await? {
                    Some(fresh) => current = fresh.metadata,
                    None => return Ok(()),
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}
