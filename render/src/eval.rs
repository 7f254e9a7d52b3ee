//! Evaluating any Jsonnet value the way the `jsonnet` command (go-jsonnet) prints it: the value as JSON, a string
//! (`-S`), a YAML stream of JSON documents (`-y`) or one file per field (`-m`), byte for byte, with the evaluator,
//! std and import sandbox that rendering uses. `jaas eval` writes what this returns.

use std::{collections::BTreeMap, thread};

use jrsonnet_evaluator::{ObjValue, Result as JsonnetResult, Val, bail};

use crate::{
    RenderError, RenderRequest,
    compat::go_manifest_json,
    evaluate::{Cleanup, evaluate_and_manifest},
};

/// Native stack of the evaluation thread, as the worker process has it: jrsonnet recurses on the native stack and
/// `max_stack` is meant to stop runaway recursion long before this is exhausted. Only touched pages use memory.
pub const EVALUATION_STACK_BYTES: usize = 256 * 1024 * 1024;

/// One evaluation: the tree, variables and entry file of a render request, optionally Jsonnet code standing in for
/// the entry file, and how the value becomes output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalRequest {
    /// The import tree, external variables, top-level arguments and entry file (`output` is not used).
    pub tree: RenderRequest,
    /// Jsonnet evaluated instead of the entry file's contents (`jsonnet -e`): it goes by the entry file's name
    /// (`std.thisFile`, error locations) and imports as a file at the root of the tree does.
    pub code: Option<String>,
    /// What the value must be and how it is written.
    pub format: EvalFormat,
    /// Maximum Jsonnet stack depth (`jsonnet --max-stack`).
    pub max_stack: usize,
}

/// How the value becomes output, as the `jsonnet` command's flags choose it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EvalFormat {
    /// Any value, as JSON (the default).
    #[default]
    Json,
    /// A string, as it is (`-S`).
    String,
    /// An array, as a YAML stream with one JSON document per element (`-y`).
    YamlStream,
    /// An object of file name to JSON value (`-m`), or to string with `strings` (`-m` with `-S`).
    Files {
        /// Whether each field must be a string, written as it is.
        strings: bool,
    },
}

/// What an evaluation produced, exactly as go-jsonnet's `jsonnet` command writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalOutput {
    /// The text printed on stdout (or written to `-o`): a JSON document or a string with a final newline, or a YAML
    /// stream (empty for an empty array).
    Text(String),
    /// File name to contents, in the order go-jsonnet writes and lists them; each file ends in a newline.
    Files(BTreeMap<String, String>),
}

impl EvalRequest {
    /// Evaluates on the calling thread, which needs a large stack ([`EVALUATION_STACK_BYTES`]). Fails when the tree
    /// is invalid, the evaluation fails, or the value does not have the shape `format` requires.
    pub fn evaluate(&self, cleanup: Cleanup) -> Result<EvalOutput, RenderError> {
        match self.code {
            Some(_) => self.tree.validate_for_inline_code()?,
            None => self.tree.validate()?,
        }
        evaluate_and_manifest(&self.tree, self.code.as_deref(), self.max_stack, cleanup, |value, _| {
            self.format.manifest(value)
        })
    }

    /// Evaluates on a new thread with a stack of [`EVALUATION_STACK_BYTES`] and waits for it; a panic of the
    /// evaluator is an internal error.
    pub fn evaluate_on_large_stack(self, cleanup: Cleanup) -> Result<EvalOutput, RenderError> {
        let spawned = thread::Builder::new()
            .name("jsonnet-eval".to_owned())
            .stack_size(EVALUATION_STACK_BYTES)
            .spawn(move || self.evaluate(cleanup))
            .map_err(|error| RenderError::Internal(format!("cannot start the evaluation thread: {error}")))?;
        spawned.join().unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(RenderError::Internal(format!("the evaluation panicked: {message}")))
        })
    }
}

impl EvalFormat {
    /// Writes `value` in this format, failing (as go-jsonnet does, with its wording) when it has the wrong type.
    fn manifest(self, value: &Val) -> JsonnetResult<EvalOutput> {
        match (self, value) {
            (Self::Json, _) => Ok(EvalOutput::Text(with_newline(go_manifest_json(value)?))),
            (Self::String, Val::Str(string)) => Ok(EvalOutput::Text(with_newline(string.to_string()))),
            (Self::String, _) => bail!("expected string result, got: {}", value.value_type()),
            (Self::YamlStream, Val::Arr(array)) => {
                let mut stream = String::new();
                for element in array.iter() {
                    stream.push_str("---\n");
                    stream.push_str(&go_manifest_json(&element?)?);
                    stream.push('\n');
                }
                if !stream.is_empty() {
                    stream.push_str("...\n");
                }
                Ok(EvalOutput::Text(stream))
            }
            (Self::YamlStream, _) => bail!(
                "stream mode: top-level object was a {}, should be an array whose elements hold the JSON for each \
                 document in the stream.",
                value.value_type()
            ),
            (Self::Files { strings }, Val::Obj(object)) => files(object, strings).map(EvalOutput::Files),
            (Self::Files { .. }, _) => bail!(
                "multi mode: top-level object was a {}, should be an object whose keys are filenames and values hold \
                 the JSON for that file.",
                value.value_type()
            ),
        }
    }
}

/// The files of `-m`: each visible field's value as JSON, or as it is when `strings` (then it must be a string).
fn files(object: &ObjValue, strings: bool) -> JsonnetResult<BTreeMap<String, String>> {
    object.run_assertions()?;
    let mut files = BTreeMap::new();
    for name in object.fields() {
        let Some(value) = object.get(name.clone())? else {
            bail!("field {name} vanished while manifesting");
        };
        let contents = match (&value, strings) {
            (_, false) => go_manifest_json(&value)?,
            (Val::Str(string), true) => string.to_string(),
            (_, true) => bail!(
                "multi mode: top-level object's key {name} has a value of type {}, should be a string",
                value.value_type()
            ),
        };
        files.insert(name.to_string(), with_newline(contents));
    }
    Ok(files)
}

fn with_newline(mut text: String) -> String {
    text.push('\n');
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! The formats on small values; the byte-for-byte comparison with go-jsonnet is controller/tests/eval_cli.

    use super::*;

    fn eval(code: &str, format: EvalFormat) -> Result<EvalOutput, RenderError> {
        let tree = RenderRequest {
            entry_file: "main.jsonnet".to_owned(),
            files: BTreeMap::from([("main.jsonnet".to_owned(), code.to_owned())]),
            ..RenderRequest::default()
        };
        EvalRequest { tree, code: None, format, max_stack: 500 }.evaluate_on_large_stack(Cleanup::Collect)
    }

    fn text(code: &str, format: EvalFormat) -> String {
        match eval(code, format).unwrap() {
            EvalOutput::Text(text) => text,
            EvalOutput::Files(files) => panic!("{code}: expected text, got files {files:?}"),
        }
    }

    #[test]
    fn json_is_indented_by_three_spaces_with_sorted_keys() {
        let cases = [
            (
                "{ b: [1, { }], a: [ ], c: 'x', h:: 1 }",
                "{\n   \"a\": [ ],\n   \"b\": [\n      1,\n      { }\n   ],\n   \"c\": \"x\"\n}\n",
            ),
            ("[]", "[ ]\n"),
            ("{}", "{ }\n"),
            ("0.1", "0.10000000000000001\n"),
            ("1e21", "1000000000000000000000\n"),
            ("'\\u007f\\t'", "\"\\u007f\\t\"\n"),
            ("null", "null\n"),
        ];
        for (code, want) in cases {
            assert_eq!(text(code, EvalFormat::Json), want, "{code}");
        }
    }

    #[test]
    fn strings_streams_and_files() {
        assert_eq!(text("'a\\nb'", EvalFormat::String), "a\nb\n");
        assert_eq!(text("[1, { a: [] }]", EvalFormat::YamlStream), "---\n1\n---\n{\n   \"a\": [ ]\n}\n...\n");
        assert_eq!(text("[]", EvalFormat::YamlStream), "");
        let files = eval("{ 'b.json': { x: 1 }, 'a.txt': 'hi', h:: 0 }", EvalFormat::Files { strings: false }).unwrap();
        let expected = BTreeMap::from([
            ("a.txt".to_owned(), "\"hi\"\n".to_owned()),
            ("b.json".to_owned(), "{\n   \"x\": 1\n}\n".to_owned()),
        ]);
        assert_eq!(files, EvalOutput::Files(expected));
        let raw = eval("{ 'a.txt': 'hi' }", EvalFormat::Files { strings: true }).unwrap();
        assert_eq!(raw, EvalOutput::Files(BTreeMap::from([("a.txt".to_owned(), "hi\n".to_owned())])));
    }

    #[test]
    fn a_value_of_the_wrong_shape_fails_naming_its_type() {
        let cases = [
            ("{}", EvalFormat::String, "expected string result, got: object"),
            ("{}", EvalFormat::YamlStream, "stream mode: top-level object was a object"),
            ("[]", EvalFormat::Files { strings: false }, "multi mode: top-level object was a array"),
            ("{ a: 1 }", EvalFormat::Files { strings: true }, "key a has a value of type number"),
            ("{ assert false : 'checked' }", EvalFormat::Json, "checked"),
            ("{ a: function(x) x }", EvalFormat::Json, "couldn't manifest function"),
        ];
        for (code, format, fragment) in cases {
            let error = eval(code, format).unwrap_err();
            assert_eq!(error.reason(), "EvaluationFailed", "{code}: {error}");
            assert!(error.to_string().contains(fragment), "{code}: {error} lacks {fragment:?}");
        }
    }

    #[test]
    fn inline_code_goes_by_the_entry_name_and_imports_from_the_root() {
        let tree = RenderRequest {
            entry_file: "<cmdline>".to_owned(),
            files: BTreeMap::from([("lib/a.libsonnet".to_owned(), "{ a: 1 }".to_owned())]),
            ..RenderRequest::default()
        };
        let request = EvalRequest {
            tree,
            code: Some("{ file: std.thisFile, a: (import 'lib/a.libsonnet').a }".to_owned()),
            format: EvalFormat::Json,
            max_stack: 500,
        };
        let output = request.evaluate_on_large_stack(Cleanup::Collect).unwrap();
        assert_eq!(output, EvalOutput::Text("{\n   \"a\": 1,\n   \"file\": \"<cmdline>\"\n}\n".to_owned()));
    }
}
