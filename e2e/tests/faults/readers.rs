//! Continuous readers, as Flux's kustomize-controllers would be: every URL ever published (the test adds those it
//! confirms, a collector adds whatever the ExternalArtifacts show, polled every [`COLLECT_EVERY`]) is fetched over
//! and over by a few tasks, each body's sha256 checked against the published digest. No URL is ever retired during
//! the test (the snippets keep [`crate::snippets::HISTORY`] revisions), so any answer but 200 with the right bytes
//! is a bad read.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Result;
use jaas_e2e::cluster::{self, external_artifacts};
use jaas_e2e::published::served;
use tokio::task::JoinHandle;

/// How often the collector lists the ExternalArtifacts.
const COLLECT_EVERY: Duration = Duration::from_millis(250);
/// A reader's pause between two fetches, so the readers leave CPU to the processes under test.
const READ_PAUSE: Duration = Duration::from_millis(20);
/// Bad reads quoted in the report.
const EXAMPLES: usize = 5;

/// What the readers share.
#[derive(Default)]
struct Shared {
    /// Every URL published so far, with its digest (`sha256:<hex>`).
    urls: Mutex<BTreeMap<String, String>>,
    stop: AtomicBool,
    reads: AtomicU64,
    bad: AtomicU64,
    examples: Mutex<Vec<String>>,
}

/// What the readers saw, once stopped.
pub struct ReadReport {
    /// Fetches that got 200 and the published bytes.
    pub good: u64,
    /// Fetches that got anything else: an error status, a transport error, or a body whose sha256 differs.
    pub bad: u64,
    /// The first few bad reads, described.
    pub examples: Vec<String>,
    /// Every URL published during the test, with its digest.
    pub urls: BTreeMap<String, String>,
}

/// The running readers and collector.
pub struct Readers {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl Readers {
    /// Starts `count` readers and the collector of the ExternalArtifacts of `namespace`.
    pub fn start(count: usize, client: &kube::Client, namespace: &str) -> Result<Self> {
        let shared = Arc::new(Shared::default());
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        let mut tasks = vec![tokio::spawn(collect(shared.clone(), client.clone(), namespace.to_owned()))];
        for reader in 0..count {
            tasks.push(tokio::spawn(read(shared.clone(), http.clone(), reader, count)));
        }
        Ok(Self { shared, tasks })
    }

    /// Adds a published URL (the collector may not have seen it yet).
    pub fn add(&self, url: &str, digest: &str) {
        lock(&self.shared.urls).insert(url.to_owned(), digest.to_owned());
    }

    /// Fetches so far, good and bad.
    pub fn reads(&self) -> u64 {
        self.shared.reads.load(Ordering::Relaxed)
    }

    /// Stops every task and reports.
    pub async fn stop(self) -> ReadReport {
        self.shared.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            let _ = task.await;
        }
        let bad = self.shared.bad.load(Ordering::Relaxed);
        ReadReport {
            good: self.shared.reads.load(Ordering::Relaxed) - bad,
            bad,
            examples: lock(&self.shared.examples).clone(),
            urls: lock(&self.shared.urls).clone(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Adds every `status.artifact` of the namespace's ExternalArtifacts to the URLs, until stopped. A failed list is
/// skipped: the API server is not under test here.
async fn collect(shared: Arc<Shared>, client: kube::Client, namespace: String) {
    while !shared.stop.load(Ordering::Relaxed) {
        if let Ok(artifacts) = cluster::list(&client, &external_artifacts(), &namespace).await {
            let mut urls = lock(&shared.urls);
            for artifact in artifacts {
                let artifact = &artifact["status"]["artifact"];
                if let (Some(url), Some(digest)) = (artifact["url"].as_str(), artifact["digest"].as_str()) {
                    urls.insert(url.to_owned(), digest.to_owned());
                }
            }
        }
        tokio::time::sleep(COLLECT_EVERY).await;
    }
}

/// Reader `reader` of `count`: fetches the URLs in turn (each reader from its own offset), until stopped.
async fn read(shared: Arc<Shared>, http: reqwest::Client, reader: usize, count: usize) {
    let mut next = reader;
    while !shared.stop.load(Ordering::Relaxed) {
        let urls: Vec<(String, String)> = lock(&shared.urls).iter().map(|(u, d)| (u.clone(), d.clone())).collect();
        if urls.is_empty() {
            tokio::time::sleep(READ_PAUSE).await;
            continue;
        }
        let (url, digest) = &urls[next % urls.len()];
        next += count;
        let result = served(&http, url, digest).await;
        shared.reads.fetch_add(1, Ordering::Relaxed);
        if let Err(error) = result {
            shared.bad.fetch_add(1, Ordering::Relaxed);
            let mut examples = lock(&shared.examples);
            if examples.len() < EXAMPLES {
                examples.push(format!("{error:#}"));
            }
        }
        tokio::time::sleep(READ_PAUSE).await;
    }
}
