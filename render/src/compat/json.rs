//! std.toString, std.escapeStringJson and std.manifestJsonEx as go-jsonnet writes them.
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
    write_single_line(value, &mut buf)?;
    Ok(buf)
}

/// go-jsonnet's `serializeJSON(multiline=false)`: `[1, 2]`, `{"a": 1}`, `[ ]`, `{ }`, numbers via `%.17g`.
fn write_single_line(value: &Val, buf: &mut String) -> Result<()> {
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
            for (index, element) in array.iter().enumerate() {
                buf.push_str(if index == 0 { "[" } else { ", " });
                let element = element?;
                in_description_frame(
                    || format!("elem <{index}> manifestification"),
                    || write_single_line(&element, buf),
                )?;
            }
            buf.push(']');
        }
        Val::Obj(object) => {
            let fields = sorted_fields(object);
            if fields.is_empty() {
                buf.push_str("{ }");
                return Ok(());
            }
            for (index, field) in fields.iter().enumerate() {
                buf.push_str(if index == 0 { "{" } else { ", " });
                unparse_string(field, buf);
                buf.push_str(": ");
                let value = field_value(object, field)?;
                in_description_frame(
                    || format!("field <{field}> manifestification"),
                    || write_single_line(&value, buf),
                )?;
            }
            buf.push('}');
        }
        Val::Func(_) => bail!("couldn't manifest function as JSON"),
    }
    Ok(())
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
