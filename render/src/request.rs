//! What to render: the snippet's files, its libraries, variables and the output mode, plus the checks
//! that make a request safe to evaluate (clean relative paths, unique names, an existing entry file).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::PathBuf,
};

use serde::{Deserialize, Serialize};

use super::RenderError;

/// One render job. The snippet's tree is either in memory (`files`, keyed by clean relative paths such as
/// `main.jsonnet` or `lib/util.libsonnet`) or a directory on disk (`directory`), whose files are read only when an
/// import names them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderRequest {
    /// Tree path of the file whose value is rendered.
    pub entry_file: String,
    /// The snippet's own files, mounted at the root of the import tree (empty when `directory` is set).
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// A directory on disk mounted at the root of the import tree instead of `files`. Nothing outside it is read: a
    /// symlink is followed only when its fully resolved target stays inside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<PathBuf>,
    /// Tree directories searched, in this order, for an import not found next to the importing file (as
    /// `jsonnet -J`, e.g. `lib` then `vendor`); searched before the libraries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub import_paths: Vec<String>,
    /// Libraries, each mounted under its import path (`<name>/` by default) and searched by imports, in this order.
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

/// A named set of Jsonnet files, as a `JsonnetLibrary` object holds them (in memory) or a `-J` directory (on disk).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Library {
    /// The library's name: how errors and the snippet refer to it.
    pub name: String,
    /// The directory of the tree the library is mounted under, so `import '<importPath>/x.libsonnet'` reaches it;
    /// the library's name when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_path: Option<String>,
    /// Files keyed by clean relative paths (empty when `directory` is set).
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// A directory on disk holding the library instead of `files`, read only when an import names a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<PathBuf>,
}

impl Library {
    /// The tree directory the library is mounted under: its import path, or its name.
    pub fn mount_directory(&self) -> &str {
        self.import_path.as_deref().unwrap_or(&self.name)
    }
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
    /// Checks everything that can be checked without evaluating: a tree given one way (files or a directory),
    /// clean relative file paths and import paths, valid and unique library mount directories that do not clash with
    /// snippet files, unique variable names, and an entry file that is one of the snippet's files (for a directory,
    /// a clean relative path; whether it exists shows when it is read).
    pub fn validate(&self) -> Result<(), RenderError> {
        self.validate_tree()?;
        if self.directory.is_some() {
            return self.validate_entry_name();
        }
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

    /// [`Self::validate`] for Jsonnet given inline in place of the entry file: the entry file only names it, so it
    /// need not be among the files, but it must be a clean relative path.
    pub fn validate_for_inline_code(&self) -> Result<(), RenderError> {
        self.validate_tree()?;
        self.validate_entry_name()
    }

    fn validate_entry_name(&self) -> Result<(), RenderError> {
        check_file_path(&self.entry_file).map_err(|why| invalid(format!("entry file {:?}: {why}", self.entry_file)))
    }

    /// Everything [`Self::validate`] checks but the entry file.
    fn validate_tree(&self) -> Result<(), RenderError> {
        if self.directory.is_some() && !self.files.is_empty() {
            return Err(invalid("give the snippet's files or a directory, not both".to_owned()));
        }
        for path in self.files.keys() {
            check_file_path(path).map_err(|why| invalid(format!("file {path:?}: {why}")))?;
        }
        for import_path in &self.import_paths {
            check_file_path(import_path).map_err(|why| invalid(format!("import path {import_path:?}: {why}")))?;
        }
        let mut mounts = BTreeSet::new();
        for library in &self.libraries {
            let mount = library.mount_directory();
            check_library_name(mount)?;
            if !mounts.insert(mount) {
                return Err(invalid(format!("library {:?} is listed twice (mounted at {mount:?})", library.name)));
            }
            if let Some(outer) = mounts.iter().find(|other| **other != mount && nested(mount, other)) {
                return Err(invalid(format!(
                    "library {:?} is mounted at {mount:?}, inside or around another library's {outer:?}",
                    library.name
                )));
            }
            if library.directory.is_some() && !library.files.is_empty() {
                return Err(invalid(format!("library {:?}: give files or a directory, not both", library.name)));
            }
            let prefix = format!("{mount}/");
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
        check_variable_names("top-level argument", &self.tlas)
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
    let bad_segment = |segment: &str| segment.is_empty() || segment == "." || segment == "..";
    if name.split('/').any(bad_segment) || name.contains(['\\', '\0']) {
        return Err(invalid(format!(
            "library mount directory {name:?} is not a clean relative path (e.g. `grafonnet` or \
             `github.com/grafana/grafonnet`)"
        )));
    }
    Ok(())
}

/// Whether one of two mount directories lies inside the other (`a` and `a/b`).
fn nested(a: &str, b: &str) -> bool {
    a.strip_prefix(b).is_some_and(|rest| rest.starts_with('/'))
        || b.strip_prefix(a).is_some_and(|rest| rest.starts_with('/'))
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
                .map(|(name, files)| Library { name: (*name).to_owned(), files: map(files), ..Library::default() })
                .collect(),
            ..RenderRequest::default()
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
            (request(&["main.jsonnet"], "main.jsonnet", &[("github.com/x/y", &[])]), None),
            (request(&["main.jsonnet"], "main.jsonnet", &[("a//b", &[])]), Some("not a clean relative path")),
            (request(&["main.jsonnet"], "main.jsonnet", &[("..", &[])]), Some("not a clean relative path")),
            (request(&["main.jsonnet"], "main.jsonnet", &[("a/./b", &[])]), Some("not a clean relative path")),
            (request(&["main.jsonnet"], "main.jsonnet", &[("k", &[]), ("k/x", &[])]), Some("inside or around")),
            (request(&["main.jsonnet"], "main.jsonnet", &[("k/x", &[]), ("k", &[])]), Some("inside or around")),
            (request(&["main.jsonnet"], "main.jsonnet", &[("k", &[]), ("kx", &[])]), None),
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
    fn directory_trees_and_import_paths_are_checked() {
        let on_disk = |entry: &str, import_paths: &[&str]| RenderRequest {
            entry_file: entry.to_owned(),
            directory: Some(PathBuf::from("/tree")),
            import_paths: import_paths.iter().map(|p| (*p).to_owned()).collect(),
            ..RenderRequest::default()
        };
        assert_eq!(on_disk("main.jsonnet", &["vendor", "lib"]).validate(), Ok(()));
        let aliased = RenderRequest {
            libraries: vec![
                Library { name: "a".to_owned(), import_path: Some("k".to_owned()), ..Library::default() },
                Library { name: "k".to_owned(), import_path: Some("other".to_owned()), ..Library::default() },
            ],
            ..on_disk("main.jsonnet", &[])
        };
        assert_eq!(aliased.validate(), Ok(()));
        let mut both = on_disk("main.jsonnet", &[]);
        both.files.insert("main.jsonnet".to_owned(), "{}".to_owned());
        let cases = [
            (on_disk("../main.jsonnet", &[]), "entry file \"../main.jsonnet\""),
            (on_disk("main.jsonnet", &["../vendor"]), "import path \"../vendor\""),
            (on_disk("main.jsonnet", &["/vendor"]), "must be relative"),
            (both, "not both"),
            (
                RenderRequest {
                    libraries: vec![
                        Library { name: "a".to_owned(), import_path: Some("k".to_owned()), ..Library::default() },
                        Library { name: "k".to_owned(), ..Library::default() },
                    ],
                    ..on_disk("main.jsonnet", &[])
                },
                "listed twice (mounted at \"k\")",
            ),
            (
                RenderRequest {
                    libraries: vec![Library {
                        name: "a".to_owned(),
                        import_path: Some("x/../y".to_owned()),
                        ..Library::default()
                    }],
                    ..on_disk("main.jsonnet", &[])
                },
                "not a clean relative path",
            ),
        ];
        for (request, fragment) in cases {
            match request.validate() {
                Err(RenderError::InvalidSpec(message)) => {
                    assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
                }
                other => panic!("{request:?}: got {other:?}, expected an error with {fragment:?}"),
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
