//! std.toString, std.escapeStringJson, std.manifestJsonEx and the `jsonnet` command's output as go-jsonnet writes
//! them.
//!
//! jrsonnet spells non-integral numbers with the fewest digits (`0.1`, `1e-7` as `0.0000001`) where go-jsonnet's
//! std.toString uses `%.17g` (`0.10000000000000001`, `9.9999999999999995e-08`); its std.manifestJsonEx writes
//! empty containers as `[ ]`/`{ }` where go-jsonnet writes `[` newline newline `]`; and the two escape different
//! control characters.

use jrsonnet_evaluator::{IStr, Result, Val, bail, function::builtin, in_description_frame};

use super::escape::{go_json_string, unparse_string};
use super::number::{format_shortest, unparse_number};
use super::yaml::{field_value, sorted_fields};

/// go-jsonnet's `valueToString`: a string as it is, anything else as single-line JSON.
pub fn go_to_string(value: &Val) -> Result<String> {
    if let Val::Str(string) = value {
        return Ok(string.clone().into_flat().to_string());
    }
    let mut buf = String::new();
    serialize_json(value, false, &mut String::new(), &mut buf)?;
    Ok(buf)
}

/// `value` as the `jsonnet` command prints it (without the final newline): go-jsonnet's
/// `serializeJSON(multiline=true)`, one element per line, each level indented by three more spaces.
pub fn go_manifest_json(value: &Val) -> Result<String> {
    let mut buf = String::new();
    serialize_json(value, true, &mut String::new(), &mut buf)?;
    Ok(buf)
}

/// The indentation `jsonnet` adds per level.
const MULTILINE_INDENT: &str = "   ";

/// go-jsonnet's `serializeJSON` over its `manifestJSON`: object assertions checked, keys sorted, `[ ]` and `{ }`
/// when empty, strings via `unparseString`, numbers via `unparseNumber` (`%.17g`, integers in full); on one line
/// (`[1, 2]`, `{"a": 1}`) or, with `multiline`, one element per line below `indent`.
fn serialize_json(value: &Val, multiline: bool, indent: &mut String, buf: &mut String) -> Result<()> {
    match value {
        Val::Null => buf.push_str("null"),
        Val::Bool(true) => buf.push_str("true"),
        Val::Bool(false) => buf.push_str("false"),
        Val::Num(number) => unparse_number(**number, buf),
        Val::Str(string) => unparse_string(&string.clone().into_flat(), buf),
        Val::Arr(array) => {
            if array.is_empty() {
                buf.push_str("[ ]");
                return Ok(());
            }
            let outer = enter_container(indent, multiline);
            for (index, element) in array.iter().enumerate() {
                open_element(buf, '[', index, multiline, indent);
                let element = element?;
                in_description_frame(
                    || format!("elem <{index}> manifestification"),
                    || serialize_json(&element, multiline, indent, buf),
                )?;
            }
            close_container(buf, ']', multiline, indent, outer);
        }
        Val::Obj(object) => {
            object.run_assertions()?;
            let fields = sorted_fields(object);
            if fields.is_empty() {
                buf.push_str("{ }");
                return Ok(());
            }
            let outer = enter_container(indent, multiline);
            for (index, field) in fields.iter().enumerate() {
                open_element(buf, '{', index, multiline, indent);
                unparse_string(field, buf);
                buf.push_str(": ");
                let value = field_value(object, field)?;
                in_description_frame(
                    || format!("field <{field}> manifestification"),
                    || serialize_json(&value, multiline, indent, buf),
                )?;
            }
            close_container(buf, '}', multiline, indent, outer);
        }
        Val::Func(_) => bail!("couldn't manifest function as JSON"),
    }
    Ok(())
}

/// Indents the elements of a container one more level (on several lines only); returns the container's own
/// indentation length, which [`close_container`] goes back to.
fn enter_container(indent: &mut String, multiline: bool) -> usize {
    let outer = indent.len();
    if multiline {
        indent.push_str(MULTILINE_INDENT);
    }
    outer
}

/// What goes before an element: the opening bracket or the separator, then (on several lines) the element's
/// indentation.
fn open_element(buf: &mut String, bracket: char, index: usize, multiline: bool, indent: &str) {
    match (index, multiline) {
        (0, true) => {
            buf.push(bracket);
            buf.push('\n');
        }
        (0, false) => buf.push(bracket),
        (_, true) => buf.push_str(",\n"),
        (_, false) => buf.push_str(", "),
    }
    buf.push_str(indent);
}

/// Ends a container: back to its own indentation, on a line of its own when on several lines.
fn close_container(buf: &mut String, bracket: char, multiline: bool, indent: &mut String, outer: usize) {
    indent.truncate(outer);
    if multiline {
        buf.push('\n');
        buf.push_str(indent);
    }
    buf.push(bracket);
}

/// The separators of std.manifestJsonEx.
struct JsonLayout<'a> {
    indent: &'a str,
    newline: &'a str,
    key_val_sep: &'a str,
}

/// go-jsonnet's `builtinManifestJSONEx`: every container opens with a newline, even an empty one.
fn write_json_ex(value: &Val, buf: &mut String, current: &str, layout: &JsonLayout<'_>) -> Result<()> {
    match value {
        Val::Null => buf.push_str("null"),
        Val::Bool(true) => buf.push_str("true"),
        Val::Bool(false) => buf.push_str("false"),
        Val::Num(number) => format_shortest(**number, buf),
        Val::Str(string) => go_json_string(&string.clone().into_flat(), buf),
        Val::Arr(array) => {
            let inner = format!("{current}{}", layout.indent);
            buf.push('[');
            buf.push_str(layout.newline);
            for (index, element) in array.iter().enumerate() {
                if index != 0 {
                    buf.push(',');
                    buf.push_str(layout.newline);
                }
                buf.push_str(&inner);
                let element = element?;
                in_description_frame(
                    || format!("elem <{index}> manifestification"),
                    || write_json_ex(&element, buf, &inner, layout),
                )?;
            }
            buf.push_str(layout.newline);
            buf.push_str(current);
            buf.push(']');
        }
        Val::Obj(object) => {
            let inner = format!("{current}{}", layout.indent);
            buf.push('{');
            buf.push_str(layout.newline);
            for (index, field) in sorted_fields(object).iter().enumerate() {
                if index != 0 {
                    buf.push(',');
                    buf.push_str(layout.newline);
                }
                buf.push_str(&inner);
                go_json_string(field, buf);
                buf.push_str(layout.key_val_sep);
                let value = field_value(object, field)?;
                in_description_frame(
                    || format!("field <{field}> manifestification"),
                    || write_json_ex(&value, buf, &inner, layout),
                )?;
            }
            buf.push_str(layout.newline);
            buf.push_str(current);
            buf.push('}');
        }
        Val::Func(_) => bail!("tried to manifest function"),
    }
    Ok(())
}

/// std.toString(a), as go-jsonnet writes it.
#[builtin]
pub fn builtin_go_to_string(a: Val) -> Result<String> {
    go_to_string(&a)
}

/// std.escapeStringJson(str_) (and std.escapeStringPython), as go-jsonnet writes it.
#[builtin]
pub fn builtin_go_escape_string_json(str_: Val) -> Result<String> {
    let mut buf = String::new();
    unparse_string(&go_to_string(&str_)?, &mut buf);
    Ok(buf)
}

/// std.manifestJsonEx(value, indent, newline='\n', key_val_sep=': '), as go-jsonnet writes it.
#[builtin]
pub fn builtin_go_manifest_json_ex(
    value: Val,
    indent: IStr,
    newline: Option<IStr>,
    key_val_sep: Option<IStr>,
) -> Result<String> {
    let layout = JsonLayout {
        indent: &indent,
        newline: newline.as_deref().unwrap_or("\n"),
        key_val_sep: key_val_sep.as_deref().unwrap_or(": "),
    };
    let mut buf = String::new();
    write_json_ex(&value, &mut buf, "", &layout)?;
    Ok(buf)
}

/// std.manifestJson(value): std.manifestJsonEx with four spaces.
#[builtin]
pub fn builtin_go_manifest_json(value: Val) -> Result<String> {
    let layout = JsonLayout { indent: "    ", newline: "\n", key_val_sep: ": " };
    let mut buf = String::new();
    write_json_ex(&value, &mut buf, "", &layout)?;
    Ok(buf)
}

/// std.manifestJsonMinified(value): std.manifestJsonEx(value, '', '', ':').
#[builtin]
pub fn builtin_go_manifest_json_minified(value: Val) -> Result<String> {
    let layout = JsonLayout { indent: "", newline: "", key_val_sep: ":" };
    let mut buf = String::new();
    write_json_ex(&value, &mut buf, "", &layout)?;
    Ok(buf)
}
