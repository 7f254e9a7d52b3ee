//! What to render: the snippet's files, its libraries, variables and the output mode, plus the checks
//! that make a request safe to evaluate (clean relative paths, unique names, an existing entry file).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::RenderError;

/// One render job. File maps are keyed by clean relative paths (`main.jsonnet`, `lib/util.libsonnet`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderRequest {
    /// Path (a key of `files`) of the file whose value is rendered.
    pub entry_file: String,
    /// The snippet's own files, mounted at the root of the import tree.
    pub files: BTreeMap<String, String>,
    /// Libraries, each mounted under `<name>/` and used as an import search path, in this order.
    #[serde(default)]
    pub libraries: Vec<Library>,
    /// External variables (`std.extVar`).
    #[serde(default)]
    pub ext_vars: Vec<Variable>,
    /// Top-level arguments, applied when the entry file evaluates to a function.
    #[serde(default)]
    pub tlas: Vec<Variable>,
    /// Whether to evaluate (`rendered`) or to ship the sources (`source`).
    #[serde(default)]
    pub output: OutputMode,
}

/// A named set of Jsonnet files, as a `JsonnetLibrary` object holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Library {
    /// The library's name: its mount directory and how snippets refer to it.
    pub name: String,
    /// Files keyed by clean relative paths.
    pub files: BTreeMap<String, String>,
}

/// An external variable or top-level argument: a string, or Jsonnet code when `code` is true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variable {
    /// The variable's name.
    pub name: String,
    /// Its value: a plain string, or Jsonnet source when `code` is set.
    #[serde(default)]
    pub value: String,
    /// Whether `value` is Jsonnet code (`--ext-code`) rather than a string (`--ext-str`).
    #[serde(default)]
    pub code: bool,
}

/// What the artifact contains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputMode {
    /// Evaluated manifests as YAML files plus `rendered.json`.
    #[default]
    Rendered,
    /// The snippet files and library files, unevaluated.
    Source,
}

impl RenderRequest {
    /// Checks everything that can be checked without evaluating: clean relative file paths, valid and
    /// unique library names that do not clash with snippet files, unique variable names, and an entry
    /// file that is one of the snippet's files.
    pub fn validate(&self) -> Result<(), RenderError> {
        for path in self.files.keys() {
            check_file_path(path).map_err(|why| invalid(format!("file {path:?}: {why}")))?;
        }
        let mut library_names = BTreeSet::new();
        for library in &self.libraries {
            check_library_name(&library.name)?;
            if !library_names.insert(library.name.as_str()) {
                return Err(invalid(format!("library {:?} is listed twice", library.name)));
            }
            let prefix = format!("{}/", library.name);
            if let Some(clash) = self.files.keys().find(|path| path.starts_with(&prefix)) {
                return Err(invalid(format!(
                    "file {clash:?} lies inside the mount directory of library {:?}",
                    library.name
                )));
            }
            for path in library.files.keys() {
                check_file_path(path)
                    .map_err(|why| invalid(format!("library {:?} file {path:?}: {why}", library.name)))?;
            }
        }
        check_variable_names("external variable", &self.ext_vars)?;
        check_variable_names("top-level argument", &self.tlas)?;
        if !self.files.contains_key(&self.entry_file) {
            let known: Vec<&str> = self.files.keys().map(String::as_str).collect();
            return Err(invalid(format!(
                "entry file {:?} is not among the snippet's files ({})",
                self.entry_file,
                if known.is_empty() { "there are none".to_owned() } else { known.join(", ") }
            )));
        }
        Ok(())
    }
}

fn invalid(message: String) -> RenderError {
    RenderError::InvalidSpec(message)
}

/// A clean relative path: `/`-separated, no empty, `.` or `..` segments, no backslashes or NULs.
pub(crate) fn check_file_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("the path is empty");
    }
    if path.starts_with('/') {
        return Err("the path must be relative");
    }
    if path.contains('\\') || path.contains('\0') {
        return Err("the path must not contain backslashes or NUL characters");
    }
    if path.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..") {
        return Err("the path must not contain empty, '.' or '..' segments");
    }
    Ok(())
}

fn check_library_name(name: &str) -> Result<(), RenderError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(invalid(format!("library name {name:?} is not a valid directory name")));
    }
    Ok(())
}

fn check_variable_names(what: &str, variables: &[Variable]) -> Result<(), RenderError> {
    let mut seen = BTreeSet::new();
    for variable in variables {
        if variable.name.is_empty() {
            return Err(invalid(format!("a {what} has an empty name")));
        }
        if !seen.insert(variable.name.as_str()) {
            return Err(invalid(format!("{what} {:?} is given twice", variable.name)));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn request(files: &[&str], entry: &str, libraries: &[(&str, &[&str])]) -> RenderRequest {
        let map = |paths: &[&str]| paths.iter().map(|p| ((*p).to_owned(), "{}".to_owned())).collect();
        RenderRequest {
            entry_file: entry.to_owned(),
            files: map(files),
            libraries: libraries
                .iter()
                .map(|(name, files)| Library { name: (*name).to_owned(), files: map(files) })
                .collect(),
            ext_vars: Vec::new(),
            tlas: Vec::new(),
            output: OutputMode::Rendered,
        }
    }

    #[test]
    fn validation_table() {
        let cases: &[(RenderRequest, Option<&str>)] = &[
            (request(&["main.jsonnet"], "main.jsonnet", &[]), None),
            (request(&["main.jsonnet", "lib/a.libsonnet"], "main.jsonnet", &[("k", &["x.libsonnet"])]), None),
            (request(&["other.jsonnet"], "main.jsonnet", &[]), Some("entry file \"main.jsonnet\" is not among")),
            (request(&[], "main.jsonnet", &[]), Some("there are none")),
            (request(&["main.jsonnet", "../x"], "main.jsonnet", &[]), Some("'..' segments")),
            (request(&["main.jsonnet", "/etc/x"], "main.jsonnet", &[]), Some("must be relative")),
            (request(&["main.jsonnet", "a//b"], "main.jsonnet", &[]), Some("empty")),
            (request(&["main.jsonnet"], "main.jsonnet", &[("a/b", &[])]), Some("not a valid directory name")),
            (request(&["main.jsonnet"], "main.jsonnet", &[("..", &[])]), Some("not a valid directory name")),
            (request(&["main.jsonnet"], "main.jsonnet", &[("k", &[]), ("k", &[])]), Some("listed twice")),
            (request(&["main.jsonnet", "k/x"], "main.jsonnet", &[("k", &[])]), Some("mount directory")),
            (request(&["main.jsonnet"], "main.jsonnet", &[("k", &["./x"])]), Some("library \"k\" file")),
        ];
        for (request, expected) in cases {
            match (request.validate(), expected) {
                (Ok(()), None) => {}
                (Err(RenderError::InvalidSpec(message)), Some(fragment)) => {
                    assert!(message.contains(fragment), "{message:?} should contain {fragment:?}");
                }
                (outcome, expected) => panic!("{request:?}: got {outcome:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn duplicate_variables_are_rejected() {
        let mut request = request(&["main.jsonnet"], "main.jsonnet", &[]);
        let variable = Variable { name: "x".to_owned(), value: "1".to_owned(), code: false };
        request.tlas = vec![variable.clone(), variable];
        assert!(matches!(request.validate(), Err(RenderError::InvalidSpec(m)) if m.contains("given twice")));
    }

    #[test]
    fn output_mode_serialises_lowercase_and_defaults_to_rendered() {
        assert_eq!(serde_json::to_string(&OutputMode::Source).ok().as_deref(), Some("\"source\""));
        let parsed: RenderRequest = serde_json::from_str(r#"{"entryFile":"m","files":{}}"#).unwrap();
        assert_eq!(parsed.output, OutputMode::Rendered);
    }
}
