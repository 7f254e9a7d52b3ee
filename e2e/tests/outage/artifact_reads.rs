//! Reads through the artifact server while S3 is down, as Flux's kustomize-controller would make them: a revision
//! the server has cached must still come back 200 with the published bytes; one it never served must come back
//! 503 with a `Retry-After`, promptly. Every request has a timeout, so a hang is a failed read, never a stuck test;
//! the slowest answer is kept to show how far from a hang the server stayed.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use jaas_e2e::published::served;

/// Limit on one request, body included. The server's own `--backend-timeout` is 10 s.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Bad reads quoted in the report.
const EXAMPLES: usize = 5;

/// The reads so far.
pub struct ArtifactReads {
    http: reqwest::Client,
    /// Cached revisions served 200 with the published bytes.
    pub served_cached: u64,
    /// Uncached revisions answered 503 with a `Retry-After`.
    pub unavailable: u64,
    /// Any other answer, a transport error or a timeout.
    pub bad: u64,
    /// The first few bad reads, described.
    pub examples: Vec<String>,
    /// The slowest answer.
    pub slowest: Duration,
    /// The `Retry-After` values seen, in seconds (the smallest and the largest).
    pub retry_after: Option<(u64, u64)>,
}

impl ArtifactReads {
    /// No reads yet.
    pub fn new() -> Result<Self> {
        let http = reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build()?;
        Ok(Self {
            http,
            served_cached: 0,
            unavailable: 0,
            bad: 0,
            examples: Vec::new(),
            slowest: Duration::ZERO,
            retry_after: None,
        })
    }

    /// Reads `url`, which the server has cached: 200 and a body whose sha256 is `digest`.
    pub async fn read_cached(&mut self, url: &str, digest: &str) {
        let start = Instant::now();
        let result = served(&self.http, url, digest).await;
        self.slowest = self.slowest.max(start.elapsed());
        match result {
            Ok(()) => self.served_cached += 1,
            Err(error) => self.bad(format!("cached {error:#}")),
        }
    }

    /// Reads `url`, which the server never served: 503 with a `Retry-After` of whole seconds.
    pub async fn read_uncached(&mut self, url: &str) {
        let start = Instant::now();
        let result = unavailable(&self.http, url).await;
        self.slowest = self.slowest.max(start.elapsed());
        match result {
            Ok(seconds) => {
                self.unavailable += 1;
                let (low, high) = self.retry_after.unwrap_or((seconds, seconds));
                self.retry_after = Some((low.min(seconds), high.max(seconds)));
            }
            Err(error) => self.bad(format!("uncached {error:#}")),
        }
    }

    fn bad(&mut self, example: String) {
        self.bad += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push(example);
        }
    }
}

/// GET `url`: 503 with `Retry-After: <seconds>`; returns the seconds.
async fn unavailable(http: &reqwest::Client, url: &str) -> Result<u64> {
    let response = http.get(url).send().await.with_context(|| format!("GET {url}"))?;
    let status = response.status();
    ensure!(status == reqwest::StatusCode::SERVICE_UNAVAILABLE, "GET {url}: HTTP {status} (want 503)");
    let retry_after = response.headers().get(reqwest::header::RETRY_AFTER).context("a 503 without Retry-After")?;
    let seconds = retry_after.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok());
    seconds.with_context(|| format!("GET {url}: Retry-After {retry_after:?} is not whole seconds"))
}
