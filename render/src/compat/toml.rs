//! std.manifestTomlEx and std.manifestToml as go-jsonnet writes them (a port of its `builtinManifestTomlEx`).
//!
//! jrsonnet's TOML differs in the blank lines around tables and in how numbers are spelled (go-jsonnet uses
//! its `%.17g` `unparseNumber`, so `1e-7` becomes `9.9999999999999995e-08`).

use jrsonnet_evaluator::{IStr, ObjValue, Result, Val, bail, function::builtin, val::ArrValue};

use super::escape::unparse_string;
use super::number::unparse_number;
use super::yaml::{field_value, sorted_fields};

/// A section is an object, or a non-empty array whose elements are all objects.
fn is_section(value: &Val) -> Result<bool> {
    Ok(match value {
        Val::Obj(_) => true,
        Val::Arr(array) if !array.is_empty() => {
            for element in array.iter() {
                if !matches!(element?, Val::Obj(_)) {
                    return Ok(false);
                }
            }
            true
        }
        _ => false,
    })
}

/// Bare keys are `[A-Za-z0-9_-]+`; the empty key is `''`; anything else is quoted like a string.
fn encode_key(key: &str) -> String {
    if key.is_empty() {
        return "''".to_owned();
    }
    if key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return key.to_owned();
    }
    let mut buf = String::new();
    unparse_string(key, &mut buf);
    buf
}

fn path_text(path: &[IStr]) -> String {
    path.iter().map(|key| encode_key(key)).collect::<Vec<_>>().join(".")
}

fn render_value(value: &Val, indent: &str, path: &str, inline: bool, current: &str) -> Result<String> {
    Ok(match value {
        Val::Null => bail!("Tried to manifest \"null\" at {}", path),
        Val::Bool(flag) => flag.to_string(),
        Val::Num(number) => {
            let mut buf = String::new();
            unparse_number(**number, &mut buf);
            buf
        }
        Val::Str(string) => {
            let mut buf = String::new();
            unparse_string(&string.clone().into_flat(), &mut buf);
            buf
        }
        Val::Func(_) => bail!("Tried to manifest function at {}", path),
        Val::Arr(array) => render_array(array, indent, path, inline, current)?,
        Val::Obj(object) => {
            let mut parts = Vec::new();
            for field in sorted_fields(object) {
                let rendered = render_value(&field_value(object, &field)?, indent, path, true, "")?;
                parts.push(format!("{} = {rendered}", encode_key(&field)));
            }
            format!("{{ {} }}", parts.join(", "))
        }
    })
}

fn render_array(array: &ArrValue, indent: &str, path: &str, inline: bool, current: &str) -> Result<String> {
    if array.is_empty() {
        return Ok("[]".to_owned());
    }
    let (element_indent, separator) = if inline { (String::new(), " ") } else { (format!("{current}{indent}"), "\n") };
    let mut out = format!("[{separator}");
    for (index, element) in array.iter().enumerate() {
        if index > 0 {
            out.push(',');
            out.push_str(separator);
        }
        out.push_str(&element_indent);
        out.push_str(&render_value(&element?, indent, path, true, "")?);
    }
    out.push_str(separator);
    if inline {
        out.push_str(current);
    }
    out.push(']');
    Ok(out)
}

fn render_table(object: &ObjValue, indent: &str, path: &[IStr], current: &str) -> Result<String> {
    let mut out = format!("{current}[{}]", path_text(path));
    if !object.fields().is_empty() {
        out.push('\n');
    }
    out.push_str(&table_body(object, indent, path, &format!("{current}{indent}"))?);
    Ok(out)
}

fn render_table_array(array: &ArrValue, indent: &str, path: &[IStr], current: &str) -> Result<String> {
    let mut sections = Vec::new();
    for element in array.iter() {
        let Val::Obj(object) = element? else {
            bail!("invalid type for section");
        };
        let mut section = format!("{current}[[{}]]", path_text(path));
        if !object.fields().is_empty() {
            section.push('\n');
        }
        section.push_str(&table_body(&object, indent, path, &format!("{current}{indent}"))?);
        sections.push(section);
    }
    Ok(sections.join("\n\n"))
}

/// go-jsonnet's `tomlTableInternal`: key/value lines first, then each section preceded by a blank line pair
/// (its section list starts with an empty entry, which is where the leading `\n\n` comes from).
fn table_body(object: &ObjValue, indent: &str, path: &[IStr], current: &str) -> Result<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut sections = vec![String::new()];
    for field in sorted_fields(object) {
        let value = field_value(object, &field)?;
        if is_section(&value)? {
            let mut child = path.to_vec();
            child.push(field.clone());
            match &value {
                Val::Obj(inner) => sections.push(render_table(inner, indent, &child, current)?),
                Val::Arr(inner) => sections.push(render_table_array(inner, indent, &child, current)?),
                _ => bail!("invalid type for section"),
            }
        } else {
            let rendered = render_value(&value, indent, &field, false, "")?;
            let line = format!("{} = {rendered}", encode_key(&field));
            lines.extend(line.split('\n').map(str::to_owned));
        }
    }
    let mut out = String::new();
    if !lines.is_empty() {
        out.push_str(current);
    }
    out.push_str(&lines.join(&format!("\n{current}")));
    out.push_str(&sections.join("\n\n"));
    Ok(out)
}

/// std.manifestTomlEx(value, indent), as go-jsonnet writes it.
#[builtin]
pub fn builtin_go_manifest_toml_ex(value: Val, indent: IStr) -> Result<String> {
    let Val::Obj(object) = &value else {
        bail!("TOML body must be an object. Got {}", value.value_type());
    };
    table_body(object, &indent, &[], "")
}

/// std.manifestToml(value): std.manifestTomlEx with two spaces.
#[builtin]
pub fn builtin_go_manifest_toml(value: Val) -> Result<String> {
    builtin_go_manifest_toml_ex(value, "  ".into())
}
