//! Scalar resolution, tags and key spelling, with the answers go-jsonnet 0.22 (go-yaml v2, sigs.k8s.io/yaml
//! 1.4) gives.

use super::*;

#[test]
fn resolves_plain_scalars_as_yaml_1_1() {
    let cases: &[(&str, Decoded)] = &[
        ("010", Decoded::Int(8)),
        ("0755", Decoded::Int(493)),
        ("08", Decoded::Float(8.0)),
        ("09.5", Decoded::Float(9.5)),
        ("00", Decoded::Int(0)),
        ("0x1F", Decoded::Int(31)),
        ("0X1f", Decoded::Int(31)),
        ("0o17", Decoded::Int(15)),
        ("0O17", Decoded::Int(15)),
        ("0b101", Decoded::Int(5)),
        ("-0b101", Decoded::Int(-5)),
        ("+0x10", Decoded::Int(16)),
        ("-0x10", Decoded::Int(-16)),
        ("1_000", Decoded::Int(1000)),
        ("0x_1F", Decoded::Int(31)),
        ("1_0.5", Decoded::Float(10.5)),
        ("-0", Decoded::Int(0)),
        ("9223372036854775807", Decoded::Int(i64::MAX)),
        ("-9223372036854775808", Decoded::Int(i64::MIN)),
        ("9223372036854775808", Decoded::Uint(1 << 63)),
        ("0x8000000000000000", Decoded::Uint(1 << 63)),
        ("18446744073709551616", Decoded::Float(18_446_744_073_709_551_616.0)),
        ("1e3", Decoded::Float(1000.0)),
        ("1.0e+3", Decoded::Float(1000.0)),
        ("1.", Decoded::Float(1.0)),
        ("-.5", Decoded::Float(-0.5)),
        ("+.5", Decoded::Float(0.5)),
        (".5e3", Decoded::Float(500.0)),
        (".5_5", Decoded::Float(0.55)),
        (".5e1_0", Decoded::Float(5e9)),
        ("1e-400", Decoded::Float(0.0)),
        (".inf", Decoded::Float(f64::INFINITY)),
        ("+.Inf", Decoded::Float(f64::INFINITY)),
        ("-.INF", Decoded::Float(f64::NEG_INFINITY)),
        ("yes", Decoded::Bool(true)),
        ("Y", Decoded::Bool(true)),
        ("On", Decoded::Bool(true)),
        ("TRUE", Decoded::Bool(true)),
        ("n", Decoded::Bool(false)),
        ("NO", Decoded::Bool(false)),
        ("off", Decoded::Bool(false)),
        ("False", Decoded::Bool(false)),
        ("", Decoded::Null),
        ("~", Decoded::Null),
        ("Null", Decoded::Null),
    ];
    for (text, want) in cases {
        assert_eq!(&resolve_plain(text), want, "{text:?}");
    }
    let strings = [
        "yEs", "tRue", "nULL", "_10", "0x", "0o", "0b2", "08x", "1e400", ".5e400", ".e3", "._5", ".5_", ".5__5",
        ".5_e3", "1e", "-", "+",
    ];
    let more_strings =
        ["-.", ".5.5", "0x1p3", "+inf", "Infinity", "1,000", "1:20", "2001-12-14", "<<", "=", "-0x8000000000000001"];
    for text in strings.iter().chain(&more_strings) {
        assert_eq!(resolve_plain(text), Decoded::Str((*text).to_owned()), "{text:?}");
    }
    assert!(matches!(resolve_plain(".NaN"), Decoded::Float(nan) if nan.is_nan()));
    assert!(matches!(resolve_plain("-0.0"), Decoded::Float(zero) if zero == 0.0 && zero.is_sign_negative()));
}

#[test]
fn honours_tags_as_go_yaml_does() {
    let ok: &[(&str, ScalarTag<'_>, Decoded)] = &[
        ("010", ScalarTag::Quoted, Decoded::Str("010".to_owned())),
        ("10", ScalarTag::Yaml(Some("str")), Decoded::Str("10".to_owned())),
        ("10", ScalarTag::Yaml(Some("int")), Decoded::Int(10)),
        ("1", ScalarTag::Yaml(Some("float")), Decoded::Float(1.0)),
        ("yes", ScalarTag::Yaml(Some("bool")), Decoded::Bool(true)),
        ("", ScalarTag::Yaml(Some("null")), Decoded::Null),
        ("2001-12-14", ScalarTag::Yaml(Some("timestamp")), Decoded::Str("2001-12-14".to_owned())),
        ("10", ScalarTag::Yaml(None), Decoded::Str("10".to_owned())),
        ("x", ScalarTag::Yaml(Some("merge")), Decoded::Str("x".to_owned())),
        ("aGVs\nbG8=", ScalarTag::Yaml(Some("binary")), Decoded::Str("hello".to_owned())),
        ("4oI=", ScalarTag::Yaml(Some("binary")), Decoded::Str("\u{fffd}\u{fffd}".to_owned())),
        ("", ScalarTag::Yaml(Some("binary")), Decoded::Str(String::new())),
    ];
    for (text, tag, want) in ok {
        assert_eq!(decode_scalar(text, *tag).as_ref(), Ok(want), "{tag:?} {text:?}");
    }
    let rejected: &[(&str, &str)] = &[
        ("1.5", "int"),
        ("", "int"),
        ("18446744073709551615", "float"),
        ("maybe", "bool"),
        ("x", "null"),
        ("12", "timestamp"),
        ("aGk", "binary"),
        ("aGk= ", "binary"),
        ("aGk=aGk=", "binary"),
        ("a===", "binary"),
    ];
    for (text, tag) in rejected {
        assert!(decode_scalar(text, ScalarTag::Yaml(Some(tag))).is_err(), "!!{tag} {text:?} should be rejected");
    }
}

#[test]
fn spells_keys_as_sigs_yaml() {
    let cases: &[(Decoded, &str)] = &[
        (Decoded::Str("a".to_owned()), "a"),
        (Decoded::Int(-8), "-8"),
        (Decoded::Bool(true), "true"),
        (Decoded::Float(1.5), "1.5"),
        (Decoded::Float(0.1), "0.1"),
        (Decoded::Float(1000.0), "1000"),
        (Decoded::Float(100_000.0), "100000"),
        (Decoded::Float(1e6), "1e+06"),
        (Decoded::Float(1e21), "1e+21"),
        (Decoded::Float(123_456_789.5), "1.2345679e+08"),
        (Decoded::Float(0.0001), "0.0001"),
        (Decoded::Float(0.000_01), "1e-05"),
        (Decoded::Float(-0.0), "-0"),
        (Decoded::Float(1e300), ".inf"),
        (Decoded::Float(f64::NEG_INFINITY), "-.inf"),
        (Decoded::Float(f64::NAN), ".nan"),
    ];
    for (key, want) in cases {
        assert_eq!(json_key(key).as_deref(), Ok(*want), "{key:?}");
    }
    for key in [Decoded::Null, Decoded::Uint(1 << 63), Decoded::Seq(Rc::from(Vec::new()))] {
        assert!(json_key(&key).is_err(), "{key:?} is not a valid key");
    }
}
