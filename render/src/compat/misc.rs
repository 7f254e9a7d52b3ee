//! Smaller go-jsonnet behaviours: std.manifestXmlJsonml leaves text unescaped, std.base64 refuses characters
//! above U+00FF (then encodes the UTF-8 bytes), and std.parseInt takes a leading `+`.

use std::fmt::Write as _;

use jrsonnet_evaluator::{Either, Result, Val, bail, function::builtin, typed::Either2};

use super::json::go_to_string;
use super::yaml::{field_value, sorted_fields};

/// The standard base64 alphabet (RFC 4648), by value.
pub(super) const BASE64_TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with `=` padding.
fn encode_base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (position, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if position <= chunk.len() {
                out.push(char::from(BASE64_TABLE[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// std.base64(input), as go-jsonnet does it: a string whose code points are all at most 255 (encoded as
/// UTF-8), or an array of numbers 0–255.
#[builtin]
pub fn builtin_go_base64(input: Either![String, Vec<Val>]) -> Result<String> {
    let mut bytes = Vec::new();
    match input {
        Either2::A(string) => {
            // go-jsonnet checks code points but then encodes the UTF-8 bytes.
            if let Some(c) = string.chars().find(|&c| u32::from(c) > 255) {
                bail!(
                    "base64 encountered invalid codepoint value in the array (must be 0 <= X <= 255), got {}",
                    u32::from(c)
                );
            }
            bytes.extend_from_slice(string.as_bytes());
        }
        Either2::B(values) => {
            for value in values {
                let Val::Num(number) = value else {
                    bail!("base64 encountered a non-number in the array");
                };
                let number = *number;
                if !(0.0..=255.0).contains(&number) || number.fract() != 0.0 {
                    bail!(
                        "base64 encountered invalid codepoint value in the array (must be 0 <= X <= 255), got {}",
                        number
                    );
                }
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                bytes.push(number as u8);
            }
        }
    }
    Ok(encode_base64(&bytes))
}

/// std.parseInt(str), as go-jsonnet does it (`strconv.ParseInt(str, 10, 64)`): an optional `+` or `-` and
/// decimal digits that fit in 64 bits.
#[builtin]
pub fn builtin_go_parse_int(str: String) -> Result<f64> {
    let digits = str.strip_prefix(['+', '-']).unwrap_or(&str);
    let parsed =
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) { str.parse::<i64>().ok() } else { None };
    match parsed {
        #[allow(clippy::cast_precision_loss)]
        Some(value) => Ok(value as f64),
        None => bail!("{} is not a base 10 integer", str),
    }
}

fn write_jsonml(value: &Val, buf: &mut String) -> Result<()> {
    let element = match value {
        Val::Str(text) => {
            buf.push_str(&text.clone().into_flat());
            return Ok(());
        }
        Val::Arr(element) => element,
        other => bail!("Expected a JSONML value (an array), got {}", other.value_type()),
    };
    let items: Vec<Val> = element.iter().collect::<Result<_>>()?;
    let Some(tag) = items.first() else {
        bail!("JSONML element has no tag");
    };
    let tag = go_to_string(tag)?;
    let (attributes, children) = match items.get(1) {
        Some(Val::Obj(attributes)) => (Some(attributes), &items[2..]),
        _ => (None, &items[1..]),
    };
    buf.push('<');
    buf.push_str(&tag);
    if let Some(attributes) = attributes {
        for field in sorted_fields(attributes) {
            let value = go_to_string(&field_value(attributes, &field)?)?;
            let _ = write!(buf, " {field}=\"{value}\"");
        }
    }
    buf.push('>');
    for child in children {
        write_jsonml(child, buf)?;
    }
    buf.push_str("</");
    buf.push_str(&tag);
    buf.push('>');
    Ok(())
}

/// std.manifestXmlJsonml(value), as std.jsonnet defines it: text and attribute values are not escaped.
#[builtin]
pub fn builtin_go_manifest_xml_jsonml(value: Val) -> Result<String> {
    if !matches!(value, Val::Arr(_)) {
        bail!("Expected a JSONML value (an array), got {}", value.value_type());
    }
    let mut buf = String::new();
    write_jsonml(&value, &mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::encode_base64;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")];
        for (input, want) in cases {
            assert_eq!(encode_base64(input.as_bytes()), want, "{input:?}");
        }
    }
}
