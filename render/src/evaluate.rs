//! Jsonnet evaluation with jrsonnet: building the evaluation state (the one place where the standard
//! library, import resolution and variables are set up, and where std overrides belong) and turning the
//! entry file's value into output: JSON for rendering, the `jsonnet` command's formats for `jaas eval`.
//!
//! Everything here runs on one thread: jrsonnet's `State` is neither `Send` nor `Sync`.

use std::{collections::HashMap, mem::ManuallyDrop};

use jrsonnet_evaluator::{
    AsPathLike, IStr, ImportResolver, SourcePath, StackTraceElement, State, Val, apply_tla,
    error::{Error, ErrorKind},
    manifest::JsonFormat,
    stack::limit_stack_depth,
    tla::TlaArg,
    trace::{CompactFormat, PathResolver, TraceFormat},
};
use jrsonnet_gcmodule::Acyclic;

use super::{
    RenderError, RenderRequest, Variable,
    compat::GoCompatStd,
    record::PackedInputs,
    resolver::{FORBIDDEN_PREFIX, FilesRead, TreeFile, TreeResolver},
};

/// Lines of Jsonnet stack trace kept in error messages.
const MAX_TRACE: usize = 20;

thread_local! {
    /// This thread's `std`, built on its first evaluation and kept for the next ones: building it (some hundred
    /// functions, twice: jrsonnet's and the go-jsonnet layer over it) costs more than evaluating a small snippet.
    /// Its functions are pure; what changes per evaluation, the external variables, lives in its settings and is
    /// set anew by [`new_state`]. Never dropped: at thread exit the evaluator's own thread-locals it refers to may
    /// be gone already.
    static THREAD_STD: ManuallyDrop<GoCompatStd> =
        ManuallyDrop::new(super::compat::register(jrsonnet_stdlib::ContextInitializer::new(PathResolver::Absolute)));
}

/// Builds this thread's `std` now, so that its first evaluation does not wait for it (a fresh worker process
/// calls it before its first job).
pub fn prepare_thread() {
    THREAD_STD.with(|_| {});
}

/// Builds the evaluation state for `request`: jrsonnet's standard library with the request's external
/// variables, and the import tree (snippet files or directory at the root, libraries under their mount
/// directories, import paths and libraries on the search path). `code`, when given, is read as the entry file's
/// contents. Register std overrides and native functions here. The [`FilesRead`] log fills as the evaluation
/// reads tree files.
pub fn new_state(request: &RenderRequest, code: Option<&str>) -> Result<(State, FilesRead), RenderError> {
    let tree = TreeResolver::for_request(request)?;
    let files_read = tree.files_read();
    let resolver = InlineEntry { tree, entry: code.map(|code| (request.entry_file.clone(), code.as_bytes().to_vec())) };
    let std = THREAD_STD.with(|std| GoCompatStd::clone(std));
    // Tree files have no host path, so the initializer's path resolver only matters for sources that do (none).
    let settings = std.settings();
    settings.settings_mut().ext_vars.clear();
    for variable in &request.ext_vars {
        if variable.code {
            settings.add_ext_code(&variable.name, &variable.value).map_err(|error| {
                RenderError::EvaluationFailed(format!("external variable {:?}: {}", variable.name, describe(&error)))
            })?;
        } else {
            settings.add_ext_str(variable.name.as_str().into(), variable.value.as_str().into());
        }
    }
    let mut builder = State::builder();
    builder.import_resolver(resolver).context_initializer(std);
    Ok((builder.build(), files_read))
}

/// The import tree, whose entry file may be Jsonnet given inline: the code is then read as that file's contents, so
/// its `std.thisFile`, error locations and relative imports are those of a file at the entry's tree path.
#[derive(Acyclic)]
struct InlineEntry {
    tree: TreeResolver,
    /// The entry file's tree path and the code standing in for its contents.
    entry: Option<(String, Vec<u8>)>,
}

impl ImportResolver for InlineEntry {
    fn resolve_from(&self, from: &SourcePath, path: &dyn AsPathLike) -> jrsonnet_evaluator::Result<SourcePath> {
        self.tree.resolve_from(from, path)
    }

    fn load_file_contents(&self, resolved: &SourcePath) -> jrsonnet_evaluator::Result<Vec<u8>> {
        if let (Some((entry, code)), Some(file)) = (&self.entry, resolved.downcast_ref::<TreeFile>())
            && file.0 == *entry
        {
            return Ok(code.clone());
        }
        self.tree.load_file_contents(resolved)
    }
}

/// What happens to the evaluator's heap (the state and every value it made) once the JSON text is out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cleanup {
    /// Free it and run the cycle collector, so a thread that renders again stays flat in memory.
    Collect,
    /// Leave it to the operating system: for a one-shot worker process that exits right after its reply,
    /// where freeing the heap object by object would only delay that reply.
    LeaveToProcessExit,
}

/// Evaluates the request's entry file in the calling thread, applies its top-level arguments and returns the
/// value as JSON; the thread's cycle collector runs afterwards, so a long-lived thread can evaluate again and
/// again. Recursion deeper than `max_stack` fails with [`RenderError::StackOverflow`]. jrsonnet recurses on the
/// native stack: call this on a thread with a large stack (the worker uses 256 MiB). Nothing bounds its time;
/// [`crate::Renderer`] runs it in a killable process instead.
pub fn evaluate(request: &RenderRequest, max_stack: usize) -> Result<serde_json::Value, RenderError> {
    let json = evaluate_to_json_text(request, max_stack, Cleanup::Collect)?;
    serde_json::from_str(&json)
        .map_err(|error| RenderError::Internal(format!("jrsonnet produced JSON that does not parse: {error}")))
}

/// Like [`evaluate`], but returns the minified JSON text as jrsonnet wrote it, unparsed.
pub fn evaluate_to_json_text(
    request: &RenderRequest,
    max_stack: usize,
    cleanup: Cleanup,
) -> Result<String, RenderError> {
    evaluate_and_manifest(request, None, max_stack, cleanup, |value, _| value.manifest(JsonFormat::minify()))
}

/// Evaluates the request's entry file, or `code` in its place (Jsonnet given inline, such as `jaas eval -e`, which
/// then goes by the entry file's name and imports as a file at the root of the tree does), applies the top-level
/// arguments and hands the value to `manifest` while the evaluator is live, so that it can read the value lazily,
/// with the tree files it read (complete once the value is manifested: imports are lazy too).
/// The stack limit and the cleanup are those of [`evaluate_to_json_text`]; call it on a thread with a large stack.
pub fn evaluate_and_manifest<T>(
    request: &RenderRequest,
    code: Option<&str>,
    max_stack: usize,
    cleanup: Cleanup,
    manifest: impl FnOnce(&Val, &FilesLoaded<'_>) -> jrsonnet_evaluator::Result<T>,
) -> Result<T, RenderError> {
    let (state, files_read) = new_state(request, code)?;
    let output = {
        let _entered = state.enter();
        let _depth = limit_stack_depth(max_stack);
        evaluate_entered(&state, request).and_then(|value| {
            let loaded = FilesLoaded { state: &state, log: &files_read };
            let output = manifest(&value, &loaded).map_err(|error| classify(&error));
            finish(value, cleanup);
            output
        })
    };
    finish(state, cleanup);
    if cleanup == Cleanup::Collect {
        // Values may form reference cycles that only the cycle collector frees.
        jrsonnet_gcmodule::collect_thread_cycles();
    }
    output
}

/// The tree files an evaluation read, while its evaluator is live: their paths, and their bytes as the evaluator
/// holds them.
pub struct FilesLoaded<'a> {
    state: &'a State,
    log: &'a FilesRead,
}

impl FilesLoaded<'_> {
    /// Their tree paths, in the order first read.
    pub fn paths(&self) -> Vec<String> {
        self.log.paths()
    }

    /// The files, packed in the order first read, for a revision record: from the evaluator's own file cache,
    /// where each file's bytes already are (nothing read or copied again).
    pub fn pack(&self) -> Result<PackedInputs, RenderError> {
        let paths = self.log.paths();
        let contents = paths
            .iter()
            .map(|path| {
                self.state.import_resolved_bin(SourcePath::new(TreeFile(path.clone()))).map_err(|error| {
                    RenderError::Internal(format!("the evaluator no longer holds {path:?}: {}", describe(&error)))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        PackedInputs::pack(paths.iter().map(String::as_str).zip(contents.iter().map(|bytes| &bytes[..])))
    }
}

/// Drops `heap_object`, or forgets it when the process is about to exit anyway.
fn finish<T>(heap_object: T, cleanup: Cleanup) {
    match cleanup {
        Cleanup::Collect => drop(heap_object),
        Cleanup::LeaveToProcessExit => std::mem::forget(heap_object),
    }
}

/// The value of the entry file with the top-level arguments applied.
fn evaluate_entered(state: &State, request: &RenderRequest) -> Result<Val, RenderError> {
    let entry = SourcePath::new(TreeFile(request.entry_file.clone()));
    let value = state.import_resolved(entry).map_err(|error| classify(&error))?;
    #[allow(clippy::mutable_key_type, reason = "apply_tla takes a HashMap keyed by IStr; keys are never mutated")]
    let tlas: HashMap<IStr, TlaArg> = request.tlas.iter().map(tla_arg).collect();
    apply_tla(&tlas, value).map_err(|error| classify(&error))
}

fn tla_arg(variable: &Variable) -> (IStr, TlaArg) {
    let value = if variable.code {
        TlaArg::InlineCode(variable.value.clone())
    } else {
        TlaArg::String(variable.value.as_str().into())
    };
    (variable.name.as_str().into(), value)
}

/// Maps a jrsonnet error to the render error a user sees, keeping the message and its stack trace.
fn classify(error: &Error) -> RenderError {
    match error.error() {
        ErrorKind::StackOverflow => RenderError::StackOverflow(describe(error)),
        ErrorKind::ImportCallbackError(message) if message.starts_with(FORBIDDEN_PREFIX) => {
            let described = describe(error);
            RenderError::ImportForbidden(described.strip_prefix(FORBIDDEN_PREFIX).unwrap_or(&described).to_owned())
        }
        _ => RenderError::EvaluationFailed(describe(error)),
    }
}

/// The error text followed by its locations (`file:line:col`), one per line, as the jsonnet CLI prints them.
fn describe(error: &Error) -> String {
    let format = CompactFormat { resolver: PathResolver::Absolute, max_trace: MAX_TRACE, padding: 4 };
    let located = with_static_error_locations(error);
    let error = located.as_ref().unwrap_or(error);
    format.format(error).unwrap_or_else(|_| error.error().to_string())
}

/// A static error (an unknown variable, say) comes without a stack trace; this gives it one from where its
/// diagnostics point, so that it names the file and line too. `None` for any other error.
fn with_static_error_locations(error: &Error) -> Option<Error> {
    let ErrorKind::StaticAnalysisError(diagnostics) = error.error() else {
        return None;
    };
    let mut located = error.clone();
    for diagnostic in diagnostics {
        let location = diagnostic.span.clone();
        located.trace_mut().0.push(StackTraceElement { location, desc: diagnostic.message.clone() });
    }
    Some(located)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! Tests of in-process evaluation: variables, imports, errors and their classification.

    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::Library;

    fn request(files: &[(&str, &str)]) -> RenderRequest {
        RenderRequest {
            entry_file: "main.jsonnet".to_owned(),
            files: files.iter().map(|(p, c)| ((*p).to_owned(), (*c).to_owned())).collect(),
            ..RenderRequest::default()
        }
    }

    fn var(name: &str, value: &str, code: bool) -> Variable {
        Variable { name: name.to_owned(), value: value.to_owned(), code }
    }

    #[test]
    fn evaluates_with_variables_and_tlas() {
        let mut req = request(&[(
            "main.jsonnet",
            "function(name, replicas=1, extra) { s: std.extVar('s'), c: std.extVar('c'), name: name, replicas: replicas, extra: extra }",
        )]);
        req.ext_vars = vec![var("s", "text", false), var("c", "{ n: 1 + 1 }", true)];
        req.tlas = vec![var("name", "web", false), var("replicas", "3", true), var("extra", "[1, 'two']", true)];
        let value = evaluate(&req, 500).unwrap();
        assert_eq!(value, json!({"s": "text", "c": {"n": 2}, "name": "web", "replicas": 3, "extra": [1, "two"]}));
    }

    #[test]
    fn a_thread_evaluating_again_sees_only_the_new_requests_variables() {
        let mut first = request(&[("main.jsonnet", "{ s: std.extVar('s'), file: std.thisFile }")]);
        first.ext_vars = vec![var("s", "first", false)];
        assert_eq!(evaluate(&first, 500).unwrap(), json!({"s": "first", "file": "main.jsonnet"}));

        let mut second = request(&[("other.jsonnet", "{ t: std.extVar('t'), file: std.thisFile }")]);
        second.entry_file = "other.jsonnet".to_owned();
        second.ext_vars = vec![var("t", "second", false)];
        assert_eq!(evaluate(&second, 500).unwrap(), json!({"t": "second", "file": "other.jsonnet"}));

        let error = evaluate(&request(&[("main.jsonnet", "std.extVar('s')")]), 500).unwrap_err();
        assert!(error.to_string().contains("external variable is not defined: s"), "{error}");
    }

    #[test]
    fn imports_resolve_through_the_tree_only() {
        let mut req = request(&[
            (
                "main.jsonnet",
                "{ a: import 'sub/a.libsonnet', k: (import 'k.libsonnet').k, txt: importstr 'data.txt', bin: importbin 'data.txt', file: std.thisFile }",
            ),
            ("sub/a.libsonnet", "{ b: (import 'b.libsonnet') }"),
            ("sub/b.libsonnet", "'b'"),
            ("data.txt", "hi\n"),
        ]);
        req.libraries = vec![Library {
            name: "lib".to_owned(),
            files: BTreeMap::from([
                ("k.libsonnet".to_owned(), "{ k: import 'lib/v.json' }".to_owned()),
                ("v.json".to_owned(), "42".to_owned()),
            ]),
            ..Library::default()
        }];
        let value = evaluate(&req, 500).unwrap();
        assert_eq!(
            value,
            json!({"a": {"b": "b"}, "k": 42, "txt": "hi\n", "bin": [104, 105, 10], "file": "main.jsonnet"})
        );
    }

    #[test]
    fn a_library_is_reached_through_its_import_path_alias() {
        let mut req = request(&[(
            "main.jsonnet",
            "{ via_alias: (import 'grafonnet/g.libsonnet').g, searched: (import 'g.libsonnet').g, file: (import 'g.libsonnet').file }",
        )]);
        req.libraries = vec![Library {
            name: "grafonnet-7".to_owned(),
            import_path: Some("grafonnet".to_owned()),
            files: BTreeMap::from([("g.libsonnet".to_owned(), "{ g: 'grafana', file: std.thisFile }".to_owned())]),
            ..Library::default()
        }];
        let value = evaluate(&req, 500).unwrap();
        assert_eq!(value, json!({"via_alias": "grafana", "searched": "grafana", "file": "grafonnet/g.libsonnet"}));
        let missing = request(&[("main.jsonnet", "import 'grafonnet-7/g.libsonnet'")]);
        assert!(evaluate(&missing, 500).is_err());
    }

    #[test]
    fn tail_calls_run_in_constant_stack_and_other_deep_recursion_stops_at_the_limit() {
        // A million `tailstrict` self-calls in tail position, under a stack limit of 100 frames.
        let tail = "local count(n, acc) = if n == 0 then acc else count(n - 1, acc + 1) tailstrict; count(1000000, 0)";
        assert_eq!(evaluate(&request(&[("main.jsonnet", tail)]), 100).unwrap(), json!(1_000_000));
        for code in [
            // tailstrict, but not in tail position
            "local sum(n) = if n == 0 then 0 else n + sum(n - 1) tailstrict; sum(1000)",
            // in tail position, but not tailstrict
            "local sum(n, acc) = if n == 0 then acc else sum(n - 1, acc + n); sum(1000, 0)",
            // tailstrict in tail position with named arguments: made as an ordinary call
            "local sum(n, acc=0) = if n == 0 then acc else sum(n=n - 1, acc=acc + n) tailstrict; sum(1000)",
        ] {
            let error = evaluate(&request(&[("main.jsonnet", code)]), 100).unwrap_err();
            assert_eq!(error.reason(), "StackOverflow", "{code}: {error}");
        }
    }

    #[test]
    fn errors_are_classified_and_located() {
        let cases = [
            ("local x = 1;\n{ a: error 'boom' }", "EvaluationFailed", "main.jsonnet:2:"),
            ("{ a: }", "EvaluationFailed", "main.jsonnet:1:"),
            ("{\n  a: nope,\n}", "EvaluationFailed", "main.jsonnet:2:6"),
            ("import '/etc/passwd'", "ImportForbidden", "\"/etc/passwd\": absolute"),
            ("importstr '../x'", "ImportForbidden", "\"../x\""),
            ("import 'http://example.com/a.libsonnet'", "ImportForbidden", "URLs"),
            ("import 'nope.libsonnet'", "EvaluationFailed", "import not found: \"nope.libsonnet\""),
            ("local f(n) = f(n + 1) + 1; f(0)", "StackOverflow", "stack overflow"),
            ("std.extVar('missing')", "EvaluationFailed", "missing"),
            // The rounding step of %f overflows: an error, as in go-jsonnet, not a loop over infinity.
            ("'%.25f' % 1e300", "EvaluationFailed", "overflow"),
        ];
        for (code, reason, fragment) in cases {
            let error = evaluate(&request(&[("main.jsonnet", code)]), 100).unwrap_err();
            assert_eq!(error.reason(), reason, "{code}: {error}");
            assert!(error.to_string().contains(fragment), "{code}: {error} lacks {fragment:?}");
        }
    }
}
