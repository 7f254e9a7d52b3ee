//! The whole JaaS story with real processes, once on the local storage backend and once on S3: our CRDs and Flux's
//! ExternalArtifact CRD on a real kube-apiserver, the artifact server and the controller as host processes, a
//! JsonnetLibrary and a JsonnetSnippet importing it; then the artifact fetched and unpacked exactly as Flux does,
//! an edit that keeps the old revision downloadable, one that lets it be collected, and the deletion that withdraws
//! everything. Needs `KUBECONFIG` (e2e/kube-start.sh) and, for S3, the variables of e2e/s3-start.sh; run by
//! `bash e2e/run-tests.sh`. What it measures is written to stderr, uncaptured, so CI logs show the story.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use jaas_e2e::cluster::{self, external_artifacts, libraries, snippets};
use jaas_e2e::stack::{Backend, Binaries, Stack};
use jaas_e2e::{flux, processes, repo_root, required_env};
use serde_json::{Value, json};

/// The snippet's name (from e2e/fixtures/story/snippet.yaml).
const SNIPPET: &str = "story";
/// The longest the controller may take to publish a revision.
const READY_TIMEOUT: Duration = Duration::from_mins(1);

/// One line of the story on stderr, bypassing the test harness's capture.
fn say(backend: &Backend, line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "story[{}]: {line}", backend.label());
}

fn fixture(name: &str) -> Result<Value> {
    let path = repo_root().join("e2e/fixtures/story").join(name);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    cluster::yaml_documents(&text, name)?.into_iter().next().with_context(|| format!("{name} is empty"))
}

/// The snippet fixture with `color` as its external variable and `history` revisions kept.
fn snippet(color: &str, history: u32) -> Result<Value> {
    let mut doc = fixture("snippet.yaml")?;
    doc["spec"]["externalVariables"][0]["value"] = json!(color);
    doc["spec"]["history"] = json!(history);
    Ok(doc)
}

/// Waits until the snippet is Ready at its current generation with a revision other than `previous`.
async fn wait_ready(client: &kube::Client, ns: &str, stack: &mut Stack, previous: Option<&str>) -> Result<Value> {
    let start = Instant::now();
    loop {
        stack.controller.ensure_running()?;
        let object = cluster::get(client, &snippets(), ns, SNIPPET).await?.context("the snippet disappeared")?;
        let status = &object["status"];
        let ready_condition = cluster::condition(&object, "Ready");
        let ready = ready_condition.is_some_and(|c| c["status"] == "True");
        let generation = &object["metadata"]["generation"];
        let current_generation = &status["observedGeneration"] == generation
            || ready_condition.is_some_and(|c| &c["observedGeneration"] == generation);
        let revision = status["revision"].as_str();
        if ready && current_generation && revision.is_some() && revision != previous {
            return Ok(object);
        }
        if start.elapsed() > READY_TIMEOUT {
            anyhow::bail!(
                "the snippet {ns}/{SNIPPET} is not Ready with a new revision after {READY_TIMEOUT:?}; status:\n{}\n{}",
                serde_json::to_string_pretty(status)?,
                stack.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The error, followed by what both processes logged last (the error first, so it reads top-down).
fn with_logs<T>(result: Result<T>, stack: &Stack) -> Result<T> {
    result.map_err(|error| anyhow::anyhow!("{error:#}\n{}", stack.logs()))
}

/// What the ExternalArtifact publishes, checked against the snippet's status.
struct Published {
    url: String,
    digest: String,
    size: u64,
}

async fn published(client: &kube::Client, ns: &str, stack: &Stack, snippet: &Value) -> Result<Published> {
    let ea = cluster::get(client, &external_artifacts(), ns, SNIPPET)
        .await?
        .with_context(|| format!("no ExternalArtifact {ns}/{SNIPPET} although the snippet is Ready"))?;
    let artifact = &ea["status"]["artifact"];
    let (url, digest) = (artifact["url"].as_str().unwrap_or_default(), artifact["digest"].as_str().unwrap_or_default());
    let hex = digest.strip_prefix("sha256:").with_context(|| format!("digest {digest:?} is not sha256:<hex>"))?;
    ensure!(hex.len() == 64, "digest {digest:?} is not a sha256");
    let path = format!("{ns}/{SNIPPET}/sha256-{hex}.tar.gz");
    ensure!(url == format!("{}/{path}", stack.base_url), "status.artifact.url {url:?} is not served by our server");
    ensure!(artifact["path"] == path.as_str(), "status.artifact.path {} (want {path})", artifact["path"]);
    ensure!(artifact["revision"] == digest, "status.artifact.revision {} (want {digest})", artifact["revision"]);
    ensure!(artifact["lastUpdateTime"].is_string(), "status.artifact.lastUpdateTime is missing");
    ensure!(
        cluster::condition(&ea, "Ready").is_some_and(|c| c["status"] == "True"),
        "the ExternalArtifact is not Ready"
    );
    ensure!(ea["spec"]["sourceRef"]["name"] == SNIPPET, "spec.sourceRef {}", ea["spec"]["sourceRef"]);
    ensure!(snippet["status"]["revision"] == digest, "snippet status.revision {}", snippet["status"]["revision"]);
    ensure!(snippet["status"]["artifactURL"] == url, "snippet status.artifactURL {}", snippet["status"]["artifactURL"]);
    let size = artifact["size"].as_u64().context("status.artifact.size is missing")?;
    Ok(Published { url: url.to_owned(), digest: digest.to_owned(), size })
}

/// Fetches the artifact as Flux would and checks it holds what the fixtures render with `color`.
async fn fetch_and_check(published: &Published, color: &str) -> Result<flux::Artifact> {
    let artifact = flux::fetch(&published.url, &published.digest).await?;
    ensure!(artifact.size == published.size, "downloaded {} bytes, status says {}", artifact.size, published.size);
    let docs = artifact.manifests()?;
    let find = |kind: &str, name: &str| {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .with_context(|| format!("no {kind} {name} in the artifact"))
    };
    let greeting = find("ConfigMap", "story-greeting")?;
    ensure!(greeting["data"]["greeting"] == "hello, story (from the library)", "library not used: {greeting}");
    ensure!(greeting["data"]["color"] == color, "extVar color: {} (want {color})", greeting["data"]["color"]);
    ensure!(find("ConfigMap", "story-config")?["data"]["port"] == "8080", "the top-level argument was not used");
    ensure!(find("Service", "story")?["spec"]["ports"][0]["port"] == 8080, "Service port");
    for file in ["greeting.yaml", "app.yaml"] {
        ensure!(artifact.files.contains_key(file), "no {file} in the artifact: {:?}", artifact.files.keys());
    }
    Ok(artifact)
}

/// The revisions listed in the snippet's `status.history`, with their URLs.
fn history(snippet: &Value) -> Vec<(String, String)> {
    let entries = snippet["status"]["history"].as_array().cloned().unwrap_or_default();
    entries
        .iter()
        .map(|e| {
            (e["revision"].as_str().unwrap_or_default().to_owned(), e["url"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

/// The story after the cluster is prepared, in namespace `ns`.
async fn story_in(client: &kube::Client, ns: &str, bins: &Binaries, backend: &Backend) -> Result<()> {
    let work = tempfile::tempdir()?;
    // Superseded revisions are deleted 2 s after they leave the history, so the story can watch it happen.
    let controller_args = ["--leader-election=false", "--artifact-gc-grace", "2s"];
    let mut stack = Stack::start(bins, backend, ns, work.path(), &controller_args).await?;
    say(
        backend,
        &format!("artifact server ready in {:?}, controller in {:?}", stack.ready_after.0, stack.ready_after.1),
    );

    // 1. A library and a snippet that imports it: Ready, published, fetchable as Flux fetches.
    cluster::apply(client, &libraries(), ns, fixture("library.yaml")?).await?;
    let applied = Instant::now();
    cluster::apply(client, &snippets(), ns, snippet("blue", 1)?).await?;
    let first = wait_ready(client, ns, &mut stack, None).await?;
    let rev1 = published(client, ns, &stack, &first).await?;
    say(backend, &format!("Ready {:?} after apply: revision {} ({} bytes)", applied.elapsed(), rev1.digest, rev1.size));
    let artifact = fetch_and_check(&rev1, "blue").await?;
    say(backend, &format!("fetched like Flux: sha256 ok, gzip, files {:?}", artifact.files.keys()));

    // 2. An edit (new content, history 2): a new revision; the old one stays listed and downloadable.
    tokio::time::sleep(Duration::from_millis(1100)).await; // distinct storage timestamps (whole seconds on S3)
    let edited = Instant::now();
    cluster::apply(client, &snippets(), ns, snippet("green", 2)?).await?;
    let second = wait_ready(client, ns, &mut stack, Some(&rev1.digest)).await?;
    let rev2 = published(client, ns, &stack, &second).await?;
    say(backend, &format!("edit -> Ready {:?} later: revision {}", edited.elapsed(), rev2.digest));
    fetch_and_check(&rev2, "green").await?;
    let listed = history(&second);
    ensure!(
        listed == [(rev2.digest.clone(), rev2.url.clone()), (rev1.digest.clone(), rev1.url.clone())],
        "status.history should list the new then the old revision, got {listed:?}"
    );
    fetch_and_check(&rev1, "blue").await.context("the previous revision must stay downloadable")?;
    say(backend, "status.history lists both revisions; the old URL still serves the old tarball");

    // 3. One more edit: the first revision leaves the history of 2 and is deleted after --artifact-gc-grace (2s).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    cluster::apply(client, &snippets(), ns, snippet("red", 2)?).await?;
    let third = wait_ready(client, ns, &mut stack, Some(&rev2.digest)).await?;
    let rev3 = published(client, ns, &stack, &third).await?;
    let collected = stack.wait_withdrawn(backend, &rev1.url).await?;
    ensure!(flux::status_of(&rev2.url).await? == 200, "revision 2 is still in the history and must be served");
    let start = Instant::now();
    let trimmed = loop {
        let object = cluster::get(client, &snippets(), ns, SNIPPET).await?.context("the snippet disappeared")?;
        let revisions: Vec<String> = history(&object).into_iter().map(|(r, _)| r).collect();
        if revisions == [rev3.digest.clone(), rev2.digest.clone()] {
            break start.elapsed();
        }
        ensure!(start.elapsed() < Duration::from_secs(30), "status.history is {revisions:?} (want rev3, rev2)");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    say(
        backend,
        &format!(
            "revision 3 {}: revision 1 answered 404 after {collected:?}, history trimmed to 2 after {trimmed:?}",
            rev3.digest
        ),
    );

    // 4. Deleting the snippet withdraws the ExternalArtifact and every stored revision.
    let deleted = Instant::now();
    cluster::delete(client, &snippets(), ns, SNIPPET).await?;
    with_logs(cluster::wait_gone(client, &snippets(), ns, SNIPPET, READY_TIMEOUT).await, &stack)?;
    cluster::wait_gone(client, &external_artifacts(), ns, SNIPPET, READY_TIMEOUT).await?;
    for published in [&rev2, &rev3] {
        stack.wait_withdrawn(backend, &published.url).await?;
    }
    say(
        backend,
        &format!("deleted: snippet, ExternalArtifact and all artifacts (404) gone in {:?}", deleted.elapsed()),
    );
    Ok(())
}

/// Prepares the cluster (CRDs, a namespace), runs the story and removes the namespace whatever happened.
async fn story(backend: Backend) -> Result<()> {
    required_env("KUBECONFIG").context("start the API server with `eval \"$(bash e2e/kube-start.sh)\"`")?;
    let bins = Binaries { controller: processes::binary("jaas")?, server: processes::binary("jaas-artifact-server")? };
    let client = kube::Client::try_default().await.context("cannot build a client from KUBECONFIG")?;

    cluster::install_all_crds(&client, &bins.controller).await?;
    let ns = cluster::create_test_namespace(&client, "story", backend.label()).await?;
    say(
        &backend,
        &format!("namespace {ns}, binaries in {}", bins.controller.parent().unwrap_or(&bins.controller).display()),
    );
    let started = Instant::now();
    let result = story_in(&client, &ns, &bins, &backend).await;
    cluster::delete_namespace(&client, &ns).await;
    match &result {
        Ok(()) => say(&backend, &format!("PASSED in {:?}", started.elapsed())),
        Err(error) => say(&backend, &format!("FAILED after {:?}: {error:#}", started.elapsed())),
    }
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_on_local_storage() -> Result<()> {
    story(Backend::Local).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_on_s3_storage() -> Result<()> {
    story(Backend::s3_from_env()?).await
}
