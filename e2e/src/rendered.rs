//! What the controller must publish for a snippet, computed the way a user would check it: `jaas render` of the
//! same document, whose tarball is byte-for-byte the artifact the controller stores (the render is reproducible).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::run;

/// The digest (`sha256:<hex>`) of `jaas render` of the snippet `document` (JSON, as applied): what the controller
/// must publish for it. `scratch` holds the files it needs.
pub async fn expected_digest(jaas: &Path, document: &Value, scratch: &Path) -> Result<String> {
    let (jaas, scratch) = (jaas.to_owned(), scratch.to_owned());
    let name = document["metadata"]["name"].as_str().unwrap_or("snippet").to_owned();
    // JSON is YAML; `jaas render` takes a snippet file by its .yaml extension.
    let (input, output) = (scratch.join(format!("{name}.yaml")), scratch.join(format!("{name}.tar.gz")));
    std::fs::write(&input, serde_json::to_vec(document)?)?;
    let tarball = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
        run(Command::new(&jaas).arg("render").arg(&input).arg("-o").arg(&output), None)?.ok()?;
        std::fs::read(&output).with_context(|| format!("reading {}", output.display()))
    })
    .await??;
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(&tarball))))
}
