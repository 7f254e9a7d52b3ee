//! The Dockerfiles and `.dockerignore` against the workspace, read as files (no docker needed): every workspace
//! member reaches both images, the base images are pinned by digest, the builds are locked (and offline after one
//! fetch), and each image ships its binary and that binary's SBOM and runs as nonroot. A new crate, a renamed binary
//! or a base image named by tag alone fails here instead of in the first image build after it.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, ensure};
use jaas_e2e::{repo_root, run};
use serde_json::Value;

const DOCKERFILES: [&str; 2] = ["Dockerfile.controller", "Dockerfile.server"];
const RUNTIME_IMAGE: &str = "gcr.io/distroless/cc-debian12:nonroot";
const SBOM_IN_IMAGE: &str = "/usr/share/doc/jaas/sbom.cdx.json";

/// A workspace member: its package name, its directory relative to the repository root and its binaries.
struct Member {
    name: String,
    dir: String,
    binaries: Vec<String>,
}

/// The members of the root `Cargo.toml`'s `[workspace] members`, as cargo reads them (globs included), and the
/// workspace's `rust-version`.
fn workspace() -> Result<(Vec<Member>, String)> {
    let root = repo_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command.current_dir(&root).args(["metadata", "--no-deps", "--offline", "--format-version", "1"]);
    let metadata: Value = serde_json::from_str(&run(&mut command, None)?.ok()?).context("cargo metadata's JSON")?;
    let root = Path::new(metadata["workspace_root"].as_str().context("workspace_root")?).to_path_buf();
    let mut members = Vec::new();
    let mut rust_version = String::new();
    for package in metadata["packages"].as_array().context("packages")? {
        let manifest = Path::new(package["manifest_path"].as_str().context("manifest_path")?);
        let dir = manifest.parent().and_then(|dir| dir.strip_prefix(&root).ok()).context("member outside the root")?;
        let binaries = package["targets"].as_array().context("targets")?.iter();
        members.push(Member {
            name: package["name"].as_str().context("name")?.to_string(),
            dir: dir.to_string_lossy().replace('\\', "/"),
            binaries: binaries
                .filter(|target| target["kind"].as_array().is_some_and(|kinds| kinds.iter().any(|k| k == "bin")))
                .filter_map(|target| target["name"].as_str().map(str::to_string))
                .collect(),
        });
        rust_version = package["rust_version"].as_str().unwrap_or_default().to_string();
    }
    ensure!(!members.is_empty(), "cargo metadata lists no workspace member");
    Ok((members, rust_version))
}

/// One Dockerfile instruction: its keyword in upper case and its arguments, continuation lines joined.
struct Instruction {
    keyword: String,
    args: String,
}

/// The instructions of a Dockerfile; comment lines (also inside a continued instruction) are dropped, as Docker does.
fn instructions(text: &str) -> Vec<Instruction> {
    let mut parsed = Vec::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(line);
        let (keyword, args) = current.split_once(char::is_whitespace).unwrap_or((current.as_str(), ""));
        parsed.push(Instruction { keyword: keyword.to_uppercase(), args: args.trim().to_string() });
        current.clear();
    }
    parsed
}

fn read_dockerfile(name: &str) -> Result<Vec<Instruction>> {
    let path = repo_root().join(name);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(instructions(&text))
}

/// `.dockerignore` as Docker applies it: the last pattern that matches a path or one of its parent directories
/// decides, `!` lets in again; `*` and `?` stay inside one path segment, `**` spans segments.
struct DockerIgnore {
    rules: Vec<(bool, Vec<String>)>,
}

impl DockerIgnore {
    fn read() -> Result<Self> {
        let text = std::fs::read_to_string(repo_root().join(".dockerignore")).context("reading .dockerignore")?;
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| {
                let (admit, pattern) = line.strip_prefix('!').map_or((false, line), |rest| (true, rest));
                (admit, pattern.trim_matches('/').split('/').map(str::to_string).collect())
            })
            .collect();
        Ok(Self { rules })
    }

    /// The file at `path` (relative, `/`-separated) is in the build context.
    fn admits(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').collect();
        let mut admitted = true;
        for (admit, pattern) in &self.rules {
            if (1..=segments.len()).any(|n| matches_path(pattern, &segments[..n])) {
                admitted = *admit;
            }
        }
        admitted
    }
}

fn matches_path(pattern: &[String], path: &[&str]) -> bool {
    match (pattern.split_first(), path.split_first()) {
        (None, None) => true,
        (Some((first, rest)), _) if first == "**" => {
            matches_path(rest, path) || (!path.is_empty() && matches_path(pattern, &path[1..]))
        }
        (Some((first, rest)), Some((segment, path_rest))) => {
            matches_segment(first.as_bytes(), segment.as_bytes()) && matches_path(rest, path_rest)
        }
        _ => false,
    }
}

fn matches_segment(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| matches_segment(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && matches_segment(rest, &name[1..]),
        Some((byte, rest)) => name.first() == Some(byte) && matches_segment(rest, &name[1..]),
    }
}

/// Every file under `dir`, relative to the repository root.
fn files_under(dir: &str) -> Result<Vec<String>> {
    let root = repo_root();
    let mut files = Vec::new();
    let mut todo = vec![root.join(dir)];
    while let Some(current) = todo.pop() {
        for entry in std::fs::read_dir(&current).with_context(|| format!("listing {}", current.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push(path.strip_prefix(&root)?.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    Ok(files)
}

#[test]
fn every_workspace_member_reaches_both_images() -> Result<()> {
    let (members, _) = workspace()?;
    let ignore = DockerIgnore::read()?;
    for member in &members {
        ensure!(
            !member.dir.contains('/'),
            "workspace member {} lives in {}, below the top level: the Dockerfiles find members with the glob \
             `*/Cargo.toml` and .dockerignore lets in `*/Cargo.toml` and `*/src/`; extend both",
            member.name,
            member.dir
        );
        let sources = files_under(&format!("{}/src", member.dir))?;
        ensure!(!sources.is_empty(), "{} has no files under {}/src", member.name, member.dir);
        for file in std::iter::once(format!("{}/Cargo.toml", member.dir)).chain(sources) {
            ensure!(ignore.admits(&file), ".dockerignore keeps {file} (of member {}) out of the images", member.name);
        }
    }
    for name in DOCKERFILES {
        let dockerfile = read_dockerfile(name)?;
        for copy in dockerfile.iter().filter(|i| i.keyword == "COPY" && !i.args.starts_with("--from")) {
            ensure!(
                copy.args == ". .",
                "{name}: `COPY {}` picks files by name; copy the whole context (`COPY . .`) so that \
                 .dockerignore alone decides, and no member can be forgotten",
                copy.args
            );
        }
        let runs: Vec<&str> = dockerfile.iter().filter(|i| i.keyword == "RUN").map(|i| i.args.as_str()).collect();
        ensure!(
            runs.iter().any(|run| run.contains("for manifest in */Cargo.toml")),
            "{name}: the dependency layer must give every member (`*/Cargo.toml`) dummy sources"
        );
    }
    Ok(())
}

/// The directories of the root `Cargo.toml`'s `[patch.crates-io]` path entries: crates carried with a change.
fn patched_crate_dirs() -> Result<Vec<String>> {
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).context("reading Cargo.toml")?;
    let Some((_, section)) = manifest.split_once("[patch.crates-io]") else { return Ok(Vec::new()) };
    Ok(section
        .lines()
        .take_while(|line| !line.starts_with('['))
        .filter_map(|line| line.split_once("path = \"")?.1.split_once('"').map(|(path, _)| path.to_owned()))
        .collect())
}

/// A crate carried with a patch is a dependency: the dependency layer builds it, so the `manifests` stage keeps its
/// whole tree (not only its Cargo.toml) and .dockerignore lets all of it in.
#[test]
fn crates_carried_with_a_patch_reach_the_dependency_layer() -> Result<()> {
    let dirs = patched_crate_dirs()?;
    ensure!(!dirs.is_empty(), "Cargo.toml has no [patch.crates-io] path entry (this test reads `path = \"...\"`)");
    let ignore = DockerIgnore::read()?;
    for dir in &dirs {
        let files = files_under(dir)?;
        ensure!(files.iter().any(|f| f.ends_with("/src/lib.rs")), "{dir} has no src/lib.rs");
        for file in &files {
            ensure!(ignore.admits(file), ".dockerignore keeps {file} (a crate carried with a patch) out");
        }
        let top = dir.split('/').next().context("an empty patch path")?;
        for name in DOCKERFILES {
            let dockerfile = read_dockerfile(name)?;
            let keeps = dockerfile.iter().any(|i| {
                i.keyword == "RUN" && i.args.contains("-delete") && i.args.contains(&format!("! -path './{top}/*'"))
            });
            ensure!(keeps, "{name}: the manifests stage deletes {dir}'s sources (add `! -path './{top}/*'`)");
        }
    }
    Ok(())
}

#[test]
fn the_build_context_holds_sources_and_manifests_only() -> Result<()> {
    let ignore = DockerIgnore::read()?;
    for admitted in ["Cargo.toml", "Cargo.lock", "e2e/sbom.py", "render/src/lib.rs"] {
        ensure!(ignore.admits(admitted), ".dockerignore keeps {admitted} out, but the image build needs it");
    }
    for left_out in [
        "target/release/jaas",
        ".git/HEAD",
        "e2e/tests/dockerfiles.rs",
        "e2e/run-tests.sh",
        "charts/jaas/Chart.yaml",
        "docs/architecture.md",
        "examples/plain/main.jsonnet",
        "Dockerfile.controller",
    ] {
        ensure!(!ignore.admits(left_out), ".dockerignore lets {left_out} into the build context");
    }
    Ok(())
}

/// `name:tag` and the digest of an image reference `name:tag@sha256:<64 hex>`, or `None` when it has no digest.
fn pinned(reference: &str) -> Option<(&str, &str)> {
    let (image, digest) = reference.split_once("@sha256:")?;
    let hex = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (hex && image.contains(':')).then_some((image, digest))
}

#[test]
fn base_images_are_pinned_by_digest_and_agree() -> Result<()> {
    let (_, rust_version) = workspace()?;
    let mut digests = std::collections::BTreeMap::new();
    for name in DOCKERFILES {
        let dockerfile = read_dockerfile(name)?;
        let mut stages: Vec<String> = Vec::new();
        let mut last_image = String::new();
        for from in dockerfile.iter().filter(|i| i.keyword == "FROM") {
            let words: Vec<&str> = from.args.split_whitespace().filter(|w| !w.starts_with("--")).collect();
            let reference = *words.first().context("FROM without an image")?;
            if let [_, alias, stage] = words.as_slice()
                && alias.eq_ignore_ascii_case("as")
            {
                stages.push((*stage).to_string());
            }
            if stages.iter().any(|stage| stage == reference) {
                continue;
            }
            let (image, digest) = pinned(reference).with_context(|| {
                format!("{name}: `FROM {reference}` is not pinned as IMAGE:TAG@sha256:<64 hex digits>")
            })?;
            let earlier = digests.entry(image.to_string()).or_insert_with(|| digest.to_string());
            ensure!(
                earlier == digest,
                "{image} is pinned to two digests ({earlier} and {digest}) across the Dockerfiles"
            );
            last_image = image.to_string();
        }
        ensure!(last_image == RUNTIME_IMAGE, "{name}: the image must be {RUNTIME_IMAGE}, not {last_image}");
    }
    let builder = format!("rust:{rust_version}-bookworm");
    ensure!(
        digests.contains_key(&builder),
        "the builder must be {builder} (the workspace's rust-version), found {:?}",
        digests.keys()
    );
    Ok(())
}

#[test]
fn images_build_locked_and_ship_the_binary_its_sbom_and_nonroot() -> Result<()> {
    let (members, _) = workspace()?;
    for name in DOCKERFILES {
        let dockerfile = read_dockerfile(name)?;
        let runs: Vec<&str> = dockerfile.iter().filter(|i| i.keyword == "RUN").map(|i| i.args.as_str()).collect();
        let words: Vec<&str> = runs.iter().flat_map(|run| run.split_whitespace()).collect();
        let steps: Vec<&str> = runs.iter().flat_map(|run| run.split("&&")).map(str::trim).collect();
        for build in steps.iter().filter(|step| step.contains("cargo build")) {
            ensure!(build.contains("--frozen"), "{name}: `{build}` must be --frozen (Cargo.lock, offline)");
        }
        ensure!(steps.iter().any(|step| step.starts_with("cargo fetch --locked")), "{name}: no `cargo fetch --locked`");

        let packages: std::collections::BTreeSet<&str> = steps
            .iter()
            .filter(|step| step.contains("cargo build") || step.contains("e2e/sbom.py"))
            .flat_map(|step| {
                step.split_whitespace()
                    .collect::<Vec<_>>()
                    .windows(2)
                    .filter(|pair| pair[0] == "-p")
                    .map(|pair| pair[1])
                    .collect::<Vec<_>>()
            })
            .collect();
        ensure!(packages.len() == 1, "{name}: builds and describes one package, not {packages:?}");
        let package = *packages.iter().next().context("no -p")?;
        let member = members
            .iter()
            .find(|m| m.name == package)
            .with_context(|| format!("{name}: `-p {package}` is no workspace member"))?;
        ensure!(runs.iter().any(|run| run.contains("python3 e2e/sbom.py -p")), "{name}: no SBOM is written");
        let binary = member
            .binaries
            .iter()
            .find(|bin| words.contains(&format!("target/release/{bin}").as_str()))
            .with_context(|| format!("{name}: installs none of {package}'s binaries {:?}", member.binaries))?;

        let last_stage = dockerfile.iter().rposition(|i| i.keyword == "FROM").context("no FROM")?;
        let image = &dockerfile[last_stage..];
        let has = |keyword: &str, args: &str| image.iter().any(|i| i.keyword == keyword && i.args == args);
        ensure!(
            has("COPY", &format!("--from=builder /out/{binary} /usr/local/bin/{binary}")),
            "{name}: the image must hold /usr/local/bin/{binary}"
        );
        ensure!(
            has("ENTRYPOINT", &format!("[\"/usr/local/bin/{binary}\"]")),
            "{name}: the entrypoint must be /usr/local/bin/{binary}"
        );
        ensure!(
            has("COPY", &format!("--from=builder /out/sbom.cdx.json {SBOM_IN_IMAGE}")),
            "{name}: the image must hold its SBOM at {SBOM_IN_IMAGE}"
        );
        ensure!(has("USER", "65532:65532"), "{name}: the image must run as the nonroot user 65532:65532");
    }
    Ok(())
}

#[test]
fn the_dockerignore_matcher_follows_docker() {
    let ignore = DockerIgnore {
        rules: vec![
            (false, vec!["*".into()]),
            (true, vec!["*".into(), "src".into()]),
            (false, vec!["**".into(), "*.tmp".into()]),
        ],
    };
    assert!(ignore.admits("shared/src/lib.rs"), "a parent directory's match decides");
    assert!(ignore.admits("shared/src/deep/mod.rs"));
    assert!(!ignore.admits("shared/tests/x.rs"));
    assert!(!ignore.admits("a/b/src/lib.rs"), "`*` is one segment");
    assert!(!ignore.admits("shared/src/x.tmp"), "`**` spans segments and the last match wins");
    assert!(!ignore.admits("Cargo.toml"));
}
