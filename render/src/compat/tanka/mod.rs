//! Tanka's native functions, reachable as `std.native('<name>')` in every evaluation, with Tanka's semantics
//! (grafana/tanka `pkg/jsonnet/native`): Jsonnet written for Tanka (grafana/jsonnet-libs and many platform
//! repositories) calls them. Each is a Rust port of the Go library Tanka calls: `encoding/json`,
//! gopkg.in/yaml.v3, `regexp` (RE2 syntax) and `crypto/sha256`. `helmTemplate` and `kustomizeBuild` exist but
//! fail with a clear error: JaaS runs no helm or kustomize. docs/fidelity.md lists each function.

// `#[builtin]` functions receive their Jsonnet arguments by value, whether or not they consume them.
#![allow(clippy::needless_pass_by_value)]

mod go_json;
mod go_regex;
mod go_regex_class;
mod go_regex_syntax;
mod go_strconv;
mod go_time;
mod go_unicode;
mod json_indent;
mod yaml_v3_decode;
mod yaml_v3_emit;
mod yaml_v3_key_order;
mod yaml_v3_nodes;
mod yaml_v3_resolve;
mod yaml_v3_scalar_style;

use jrsonnet_evaluator::{IStr, Result, Val, bail, function::builtin};
use sha2::{Digest, Sha256};

/// Registers Tanka's native functions in `stdlib`'s settings, where `std.native` looks them up.
pub fn register_natives(stdlib: &jrsonnet_stdlib::ContextInitializer) {
    stdlib.add_native("parseJson", builtin_parse_json {});
    stdlib.add_native("parseYaml", builtin_parse_yaml {});
    stdlib.add_native("manifestJsonFromJson", builtin_manifest_json_from_json {});
    stdlib.add_native("manifestYamlFromJson", builtin_manifest_yaml_from_json {});
    stdlib.add_native("escapeStringRegex", builtin_escape_string_regex {});
    stdlib.add_native("regexMatch", builtin_regex_match {});
    stdlib.add_native("regexSubst", builtin_regex_subst {});
    stdlib.add_native("sha256", builtin_sha256 {});
    stdlib.add_native("helmTemplate", builtin_helm_template {});
    stdlib.add_native("kustomizeBuild", builtin_kustomize_build {});
}

/// parseJson(json): the value of a JSON text, as Go's `json.Unmarshal` reads it.
#[builtin]
fn builtin_parse_json(json: IStr) -> Result<Val> {
    match go_json::unmarshal(&json) {
        Ok(value) => Ok(value.to_val()),
        Err(message) => bail!("parseJson: {}", message),
    }
}

/// parseYaml(yaml): an array with the value of each document of a YAML stream, as yaml.v3 decodes it.
#[builtin]
fn builtin_parse_yaml(yaml: IStr) -> Result<Val> {
    match yaml_v3_decode::parse_yaml_stream(&yaml) {
        Ok(value) => Ok(value),
        Err(message) => bail!("parseYaml: {}", message),
    }
}

/// manifestJsonFromJson(json, indent): a JSON text re-indented by `indent` spaces (Go's `json.Indent`),
/// newline-terminated.
#[builtin]
fn builtin_manifest_json_from_json(json: IStr, indent: f64) -> Result<String> {
    // Go converts the number with int(), which truncates toward zero; a negative count panics in Go.
    if !(0.0..1e6).contains(&indent.trunc()) {
        bail!("manifestJsonFromJson: indent must be between 0 and 999999, got {}", indent);
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // range checked above
    let indent = indent.trunc() as usize;
    match json_indent::manifest_json_from_json(&json, indent) {
        Ok(text) => Ok(text),
        Err(message) => bail!("manifestJsonFromJson: {}", message),
    }
}

/// manifestYamlFromJson(json): a JSON text as the YAML document yaml.v3's `Marshal` writes.
#[builtin]
fn builtin_manifest_yaml_from_json(json: IStr) -> Result<String> {
    match go_json::unmarshal(&json) {
        Ok(value) => Ok(yaml_v3_emit::marshal(&value)),
        Err(message) => bail!("manifestYamlFromJson: {}", message),
    }
}

/// escapeStringRegex(str): `str` with every regular expression metacharacter escaped (Go's `QuoteMeta`).
#[builtin]
fn builtin_escape_string_regex(str: IStr) -> String {
    go_regex::quote_meta(&str)
}

/// regexMatch(regex, string): whether the RE2 regular expression matches anywhere in `string`.
#[builtin]
fn builtin_regex_match(regex: IStr, string: IStr) -> Result<bool> {
    match go_regex::compile(&regex) {
        Ok(compiled) => Ok(compiled.is_match(&string)),
        Err(message) => bail!("regexMatch: {}", message),
    }
}

/// regexSubst(regex, src, repl): every match in `src` replaced by `repl`, with Go's `$1`/`${name}` expansion.
#[builtin]
fn builtin_regex_subst(regex: IStr, src: IStr, repl: IStr) -> Result<String> {
    match go_regex::compile(&regex) {
        Ok(compiled) => Ok(compiled.replace_all(&src, &repl)),
        Err(message) => bail!("regexSubst: {}", message),
    }
}

/// sha256(str): the SHA-256 of the string's UTF-8 bytes, as lowercase hex.
#[builtin]
fn builtin_sha256(str: IStr) -> String {
    hex::encode(Sha256::digest(str.as_bytes()))
}

/// helmTemplate(name, chart, opts): Tanka runs `helm template`; JaaS runs no external programs.
#[builtin]
fn builtin_helm_template(name: Option<Val>, chart: Option<Val>, opts: Option<Val>) -> Result<Val> {
    let _ = (name, chart, opts);
    bail!(
        "std.native('helmTemplate') is not available in JaaS: it does not run helm. Render the chart with \
         `helm template` and commit the output (or point a Flux HelmRelease at the chart) instead"
    )
}

/// kustomizeBuild(path, opts): Tanka runs `kustomize build`; JaaS runs no external programs.
#[builtin]
fn builtin_kustomize_build(path: Option<Val>, opts: Option<Val>) -> Result<Val> {
    let _ = (path, opts);
    bail!(
        "std.native('kustomizeBuild') is not available in JaaS: it does not run kustomize. Render the \
         kustomization with `kustomize build` and commit the output (or use a Flux Kustomization) instead"
    )
}

#[cfg(test)]
mod tests {
    //! The natives as Jsonnet reaches them: through `std.native` in a real evaluation, positional and named
    //! arguments. Expected values are Tanka's documented results (docs/docs/jsonnet/native-functions.md).

    use serde_json::json;

    use crate::{RenderRequest, evaluate};

    fn evaluate_code(code: &str) -> Result<serde_json::Value, String> {
        let request = RenderRequest {
            entry_file: "main.jsonnet".to_owned(),
            files: [("main.jsonnet".to_owned(), code.to_owned())].into(),
            ..RenderRequest::default()
        };
        evaluate(&request, 500).map_err(|error| error.to_string())
    }

    #[test]
    fn gives_tankas_documented_results() {
        let code = r#"{
          sum: std.native('sha256')('Hello, World!'),
          array: std.native('parseJson')('[0, 1, 2]'),
          object: std.native('parseJson')('{ "foo": "bar" }'),
          yaml: std.native('parseYaml')(|||
            ---
            foo: bar
            ---
            bar: baz
          |||),
          indentWithEightSpaces: std.native('manifestJsonFromJson')('{ "foo": { "bar": "baz" } }', 8),
          yamlFromJson: std.native('manifestYamlFromJson')('{ "foo": { "bar": "baz" } }'),
          escaped: std.native('escapeStringRegex')('"([0-9]+"'),
          matched: std.native('regexMatch')('.', 'a'),
          substituted: std.native('regexSubst')('p[^m]*', 'pm', 'poe'),
          named: std.native('regexSubst')(regex='(\\w+)-(\\d+)', src='web-1 db-22', repl='${2}_$1'),
        }"#;
        let want = json!({
            "sum": "dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f",
            "array": [0, 1, 2],
            "object": {"foo": "bar"},
            "yaml": [{"foo": "bar"}, {"bar": "baz"}],
            "indentWithEightSpaces": "{\n        \"foo\": {\n                \"bar\": \"baz\"\n        }\n}\n",
            "yamlFromJson": "foo:\n    bar: baz\n",
            "escaped": "\"\\(\\[0-9\\]\\+\"",
            "matched": true,
            "substituted": "poem",
            "named": "1_web 22_db",
        });
        assert_eq!(evaluate_code(code), Ok(want));
    }

    #[test]
    fn errors_name_the_function() {
        let cases = [
            ("std.native('parseJson')('{')", "parseJson: unexpected end of JSON input"),
            ("std.native('regexMatch')('[0-', 'b')", "regexMatch: error parsing regexp: missing closing ]: `[0-`"),
            ("std.native('manifestJsonFromJson')('{}', -1)", "manifestJsonFromJson: indent must be between"),
            (
                "std.native('helmTemplate')('grafana', './charts/grafana', {})",
                "std.native('helmTemplate') is not available in JaaS: it does not run helm",
            ),
            ("std.native('helmTemplate')()", "does not run helm"),
            (
                "std.native('kustomizeBuild')('./base')",
                "std.native('kustomizeBuild') is not available in JaaS: it does not run kustomize",
            ),
        ];
        for (code, fragment) in cases {
            let error = evaluate_code(code).expect_err(code);
            assert!(error.contains(fragment), "{code}: {error} lacks {fragment:?}");
        }
    }
}
