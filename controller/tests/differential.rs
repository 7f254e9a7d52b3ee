//! Differential test against go-jsonnet, the reference implementation: every program under
//! `tests/differential/corpus/` is rendered by the real `jaas render … --format json` and evaluated by
//! go-jsonnet's Python binding, and the two values must agree (strings byte for byte; see docs/fidelity.md).

mod render_support;

use std::path::{Path, PathBuf};

use render_support::go_jsonnet::{self, GoJob, Outcome};

/// The corpus directory: one small Jsonnet program per file, each exercising std functions manifests rely on.
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/differential/corpus");
/// Fewer programs than this means the corpus went missing, not that everything agrees.
const MIN_CORPUS: usize = 100;

/// Programs that still differ, each with the reason it cannot be fixed by overriding std (docs/fidelity.md).
/// They must keep differing: one that starts to agree fails the test so that it leaves this list.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "string_escape_unpaired_surrogate.jsonnet",
    "a go-jsonnet quirk: it decodes `\\uD83D\\u0041` (a high surrogate, then no low one) to U+FFFD and drops the \
         `A`; jrsonnet and C++ jsonnet reject the literal",
)];

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .unwrap_or_else(|e| panic!("cannot read the corpus {CORPUS}: {e}"))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonnet"))
        .collect();
    files.sort();
    files
}

/// The entry file `jaas render` gets: the renderer only accepts Kubernetes manifests, so the program's value
/// rides in a ConfigMap's `data.value` and comes back out of `rendered.json`.
const WRAPPER: &str = "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'differential' }, \
                       data: { value: import 'program.jsonnet' } }\n";

/// Renders one program exactly as a user would: `jaas render main.jsonnet --format json`, with the program
/// copied next to the wrapper (a plain entry file brings its directory along).
fn jaas_render(file: &Path) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(file, dir.path().join("program.jsonnet")).expect("copy the program");
    std::fs::write(dir.path().join("main.jsonnet"), WRAPPER).expect("write the wrapper");
    let output = render_support::jaas()
        .arg("render")
        .arg(dir.path().join("main.jsonnet"))
        // The test checks results, not speed: a debug build on a busy CI machine may need longer than 5 s.
        .args(["--format", "json", "--evaluation-timeout", "120s"])
        .output()
        .expect("run jaas render");
    match Outcome::of_jaas_json(&output) {
        Outcome::Value(rendered) => match rendered.pointer("/data/value") {
            Some(value) => Outcome::Value(value.clone()),
            None => Outcome::Error(format!("rendered.json has no data.value:\n{rendered}")),
        },
        error @ Outcome::Error(_) => error,
    }
}

#[test]
fn corpus_agrees_with_go_jsonnet() {
    let files = corpus_files();
    assert!(files.len() >= MIN_CORPUS, "expected at least {MIN_CORPUS} programs in {CORPUS}, found {}", files.len());
    let jobs: Vec<GoJob> =
        files.iter().map(|file| GoJob { file: file.to_string_lossy().into_owned(), ..GoJob::default() }).collect();
    let reference = go_jsonnet::evaluate(&jobs);
    let mut disagreements = Vec::new();
    let mut still_known = 0;
    for (file, expected) in files.iter().zip(&reference) {
        let name = file.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let ours = jaas_render(file);
        let agree = ours.agrees_with(expected);
        let known = KNOWN_DIFFERENCES.iter().find(|(known, _)| *known == name);
        match (agree, known) {
            (true, None) => {}
            (false, Some(_)) => still_known += 1,
            (true, Some(_)) => disagreements.push(format!(
                "--- {name} now agrees with go-jsonnet: remove it from KNOWN_DIFFERENCES and docs/fidelity.md\n"
            )),
            (false, None) => disagreements.push(format!(
                "--- {name}\ngo-jsonnet:\n{}\njaas:\n{}\n",
                expected.describe(),
                ours.describe()
            )),
        }
    }
    for (known, _) in KNOWN_DIFFERENCES {
        assert!(
            files.iter().any(|file| file.ends_with(known)),
            "KNOWN_DIFFERENCES names {known}, which is not in the corpus"
        );
    }
    let agreed = files.len() - still_known - disagreements.len();
    println!(
        "differential: {agreed}/{} programs agree with go-jsonnet, {still_known} known differences (docs/fidelity.md)",
        files.len()
    );
    assert!(disagreements.is_empty(), "{} programs are wrong:\n{}", disagreements.len(), disagreements.join("\n"));
}
