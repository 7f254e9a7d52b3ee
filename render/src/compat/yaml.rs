//! std.manifestYamlDoc and std.manifestYamlStream as go-jsonnet writes them (a port of its
//! `builtinManifestYamlDoc` and std.jsonnet's `manifestYamlStream`).
//!
//! jrsonnet differs in three ways that change rendered ConfigMaps: it writes a multi-line string without a
//! trailing newline as a `|-` block (go-jsonnet quotes it), it escapes fewer control characters, and its rules
//! for leaving a key bare under `quote_keys=false` are not go-jsonnet's.

use jrsonnet_evaluator::{ObjValue, Result, Val, bail, function::builtin, in_description_frame};

use super::escape::unparse_string;
use super::number::format_shortest;
use super::yaml_key::bare_safe;

/// One level of YAML indentation, as go-jsonnet writes it.
const INDENT: &str = "  ";

/// The options of std.manifestYamlDoc.
#[derive(Clone, Copy)]
struct YamlOptions {
    indent_array_in_object: bool,
    quote_keys: bool,
}

/// Writes `value` as one YAML document, exactly as go-jsonnet's std.manifestYamlDoc.
fn manifest_yaml_doc(value: &Val, options: YamlOptions) -> Result<String> {
    let mut buf = String::new();
    write_value(value, &mut buf, &mut String::new(), options)?;
    Ok(buf)
}

/// Visible field names in go-jsonnet's order (byte order of UTF-8, which is code point order).
pub(super) fn sorted_fields(object: &ObjValue) -> Vec<jrsonnet_evaluator::IStr> {
    let mut fields = object.fields();
    fields.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    fields
}

pub(super) fn field_value(object: &ObjValue, field: &jrsonnet_evaluator::IStr) -> Result<Val> {
    match object.get(field.clone())? {
        Some(value) => Ok(value),
        None => bail!("field {} vanished while manifesting", field),
    }
}

fn is_non_empty_array(value: &Val) -> bool {
    matches!(value, Val::Arr(array) if !array.is_empty())
}

fn write_value(value: &Val, buf: &mut String, indent: &mut String, options: YamlOptions) -> Result<()> {
    match value {
        Val::Null => buf.push_str("null"),
        Val::Bool(true) => buf.push_str("true"),
        Val::Bool(false) => buf.push_str("false"),
        Val::Num(number) => format_shortest(**number, buf),
        Val::Str(string) => write_string(&string.clone().into_flat(), buf, indent),
        Val::Arr(array) => {
            if array.is_empty() {
                buf.push_str("[]");
                return Ok(());
            }
            for (index, element) in array.iter().enumerate() {
                let element = element?;
                if index != 0 {
                    buf.push('\n');
                    buf.push_str(indent);
                }
                buf.push('-');
                if is_non_empty_array(&element) {
                    buf.push('\n');
                    buf.push_str(indent);
                    buf.push_str(INDENT);
                } else {
                    buf.push(' ');
                }
                let previous = indent.len();
                if matches!(element, Val::Arr(_) | Val::Obj(_)) {
                    indent.push_str(INDENT);
                }
                in_description_frame(
                    || format!("elem <{index}> manifestification"),
                    || write_value(&element, buf, indent, options),
                )?;
                indent.truncate(previous);
            }
        }
        Val::Obj(object) => {
            let fields = sorted_fields(object);
            if fields.is_empty() {
                buf.push_str("{}");
                return Ok(());
            }
            for (index, field) in fields.iter().enumerate() {
                let value = field_value(object, field)?;
                if index != 0 {
                    buf.push('\n');
                    buf.push_str(indent);
                }
                if !options.quote_keys && bare_safe(field) {
                    buf.push_str(field);
                } else {
                    unparse_string(field, buf);
                }
                buf.push(':');
                let previous = indent.len();
                match &value {
                    Val::Arr(array) if !array.is_empty() => {
                        buf.push('\n');
                        buf.push_str(indent);
                        if options.indent_array_in_object {
                            buf.push_str(INDENT);
                            indent.push_str(INDENT);
                        }
                    }
                    Val::Obj(inner) if !inner.fields().is_empty() => {
                        buf.push('\n');
                        buf.push_str(indent);
                        buf.push_str(INDENT);
                        indent.push_str(INDENT);
                    }
                    _ => buf.push(' '),
                }
                in_description_frame(
                    || format!("field <{field}> manifestification"),
                    || write_value(&value, buf, indent, options),
                )?;
                indent.truncate(previous);
            }
        }
        Val::Func(_) => bail!("tried to manifest function"),
    }
    Ok(())
}

/// go-jsonnet writes a string that ends in a newline as a `|` block and every other string quoted.
fn write_string(string: &str, buf: &mut String, indent: &str) {
    if string.is_empty() {
        buf.push_str("\"\"");
    } else if let Some(body) = string.strip_suffix('\n') {
        buf.push('|');
        for line in body.split('\n') {
            buf.push('\n');
            buf.push_str(indent);
            buf.push_str(INDENT);
            buf.push_str(line);
        }
    } else {
        unparse_string(string, buf);
    }
}

/// std.manifestYamlDoc(value, indent_array_in_object=false, quote_keys=true), as go-jsonnet writes it.
#[builtin]
pub fn builtin_go_manifest_yaml_doc(
    value: Val,
    #[default(false)] indent_array_in_object: bool,
    #[default(true)] quote_keys: bool,
) -> Result<String> {
    manifest_yaml_doc(&value, YamlOptions { indent_array_in_object, quote_keys })
}

/// std.manifestYamlStream(value, indent_array_in_object=false, c_document_end=true, quote_keys=true), as
/// go-jsonnet writes it: `---` before the first document even when there is none.
#[builtin]
pub fn builtin_go_manifest_yaml_stream(
    value: Val,
    #[default(false)] indent_array_in_object: bool,
    #[default(true)] c_document_end: bool,
    #[default(true)] quote_keys: bool,
) -> Result<String> {
    let Val::Arr(documents) = &value else {
        bail!("manifestYamlStream only takes arrays, got {}", value.value_type());
    };
    let options = YamlOptions { indent_array_in_object, quote_keys };
    let mut out = String::from("---\n");
    for (index, document) in documents.iter().enumerate() {
        if index != 0 {
            out.push_str("\n---\n");
        }
        out.push_str(&manifest_yaml_doc(&document?, options)?);
    }
    out.push_str(if c_document_end { "\n...\n" } else { "\n" });
    Ok(out)
}
