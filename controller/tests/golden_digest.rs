//! Golden digests: a fixed snippet (tests/golden/) must render to a tarball with a known sha256.
//!
//! The digest names the artifact and is its Flux revision, so bytes that change after a dependency bump (flate2,
//! zlib-rs, tar, serde-saphyr, serde_json, jrsonnet) or a change of our own output code would republish every
//! snippet in every cluster on upgrade, and restart whatever hashes those manifests. This test turns such a change
//! into a deliberate one: when it fails, check that the new bytes are intended, update the digest here and say so
//! in the changelog of the release.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use jaas_render::{Limits, OutputMode, Renderer, WorkerCommand, plain_request};

/// The artifact of `tests/golden/main.jsonnet`, evaluated.
const RENDERED_SHA256: &str = "3b34834422c4e7314e3fae76c1639ea9c1540118b859892326d44f74ebad8491";
/// The artifact of the same files with `output: source`.
const SOURCE_SHA256: &str = "f9ecfb510773d75b77aa3ba0687f2c10b132e2a73654b6a4323b6f7625158cbe";

fn renderer() -> Renderer {
    let limits = Limits { evaluation_timeout: Duration::from_mins(1), max_stack: 500, max_artifact_bytes: 0 };
    let worker = WorkerCommand { program: env!("CARGO_BIN_EXE_jaas").into(), args: vec!["eval-worker".to_owned()] };
    Renderer::new(limits, 1, worker)
}

async fn digest_of(output: OutputMode) -> (String, usize) {
    let entry = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/main.jsonnet");
    let mut request = plain_request(&entry, &[]).unwrap();
    request.output = output;
    let artifact = renderer().render(&request).await.unwrap();
    (hex::encode(artifact.sha256), artifact.tarball.len())
}

fn assert_golden(what: &str, (actual, size): (String, usize), expected: &str) {
    assert_eq!(
        actual, expected,
        "the {what} artifact of tests/golden/ changed ({size} bytes now). Every snippet would be republished on \
         upgrade: make sure the new bytes are intended, then update the digest in this test."
    );
}

#[tokio::test]
async fn the_rendered_golden_snippet_keeps_its_digest() {
    let rendered = digest_of(OutputMode::Rendered).await;
    // Large enough to cover many 256 KiB slices of the parallel gzip, or the test would miss a change there.
    assert!(rendered.1 > 4 * 256 * 1024, "the golden artifact shrank to {} bytes", rendered.1);
    assert_golden("rendered", rendered, RENDERED_SHA256);
}

#[tokio::test]
async fn the_source_golden_snippet_keeps_its_digest() {
    assert_golden("source", digest_of(OutputMode::Source).await, SOURCE_SHA256);
}
