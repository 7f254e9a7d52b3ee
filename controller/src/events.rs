//! Kubernetes Events about snippets (`events.k8s.io/v1`, through kube-runtime's `Recorder`): a Warning with the
//! Jsonnet error text when a render fails, a Normal one when a new revision is published. Failing to publish an
//! Event never fails a reconcile.

use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

use crate::conditions::clip;
use crate::crd::JsonnetSnippet;

/// The `reportingController` of our Events.
pub const REPORTING_CONTROLLER: &str = "jaas-controller";

/// The longest note the API server accepts on an `events.k8s.io/v1` Event.
const MAX_NOTE_LEN: usize = 1024;

/// Publishes Events about snippets.
#[derive(Clone)]
pub struct EventPublisher {
    recorder: Recorder,
}

impl std::fmt::Debug for EventPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventPublisher").finish_non_exhaustive()
    }
}

impl EventPublisher {
    /// A publisher reporting as `jaas-controller`, instance `identity`.
    pub fn new(client: kube::Client, identity: &str) -> Self {
        let reporter = Reporter { controller: REPORTING_CONTROLLER.to_owned(), instance: Some(identity.to_owned()) };
        Self { recorder: Recorder::new(client, reporter) }
    }

    async fn publish(&self, snippet: &JsonnetSnippet, type_: EventType, reason: &str, action: &str, note: &str) {
        let event = Event {
            type_,
            reason: reason.to_owned(),
            note: Some(clip(note, MAX_NOTE_LEN)),
            action: action.to_owned(),
            secondary: None,
        };
        if let Err(error) = self.recorder.publish(&event, &snippet.object_ref(&())).await {
            // A denial is quoted as the API server words it (verb, resource), without the debug dump of its Status.
            let error = crate::error::Error::from(error);
            tracing::warn!(%error, reason, "cannot publish an Event");
        }
    }

    /// A Warning Event: `reason` is the condition reason, `note` the error text.
    pub async fn warn(&self, snippet: &JsonnetSnippet, reason: &str, action: &str, note: &str) {
        self.publish(snippet, EventType::Warning, reason, action, note).await;
    }

    /// A Normal Event.
    pub async fn info(&self, snippet: &JsonnetSnippet, reason: &str, action: &str, note: &str) {
        self.publish(snippet, EventType::Normal, reason, action, note).await;
    }
}
