//! Query parameters as top-level arguments: `?name=value` is the string TLA `name`, a repeated parameter the TLA
//! of the list of its values. Bounded: the query's length and the number of distinct arguments; a name must be a
//! Jsonnet identifier, since only those can be parameters of the snippet's function.

use std::collections::BTreeMap;

use jaas_render::Variable;

/// The bounds on one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// `--max-query-bytes`.
    pub max_bytes: usize,
    /// `--max-tlas`.
    pub max_arguments: usize,
}

/// The TLAs a raw (still encoded) query string gives, sorted by name; an error says what is wrong.
pub fn tlas_from_query(query: &str, limits: QueryLimits) -> Result<Vec<Variable>, String> {
    if query.len() > limits.max_bytes {
        return Err(format!("the query is {} bytes, more than --max-query-bytes={}", query.len(), limits.max_bytes));
    }
    let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|error| format!("the query cannot be decoded: {error}"))?
        .into_inner();
    let mut arguments: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in pairs {
        if !is_identifier(&name) {
            return Err(format!("query parameter {name:?} is not a Jsonnet identifier, so it cannot be an argument"));
        }
        arguments.entry(name).or_default().push(value);
        if arguments.len() > limits.max_arguments {
            return Err(format!("more than --max-tlas={} distinct query parameters", limits.max_arguments));
        }
    }
    Ok(arguments
        .into_iter()
        .map(|(name, mut values)| {
            if values.len() == 1 {
                Variable { name, value: values.remove(0), code: false }
            } else {
                let list = serde_json::to_string(&values).unwrap_or_else(|_| "[]".to_owned());
                Variable { name, value: list, code: true }
            }
        })
        .collect())
}

/// Whether `name` is a Jsonnet identifier (and not a keyword).
fn is_identifier(name: &str) -> bool {
    const KEYWORDS: [&str; 19] = [
        "assert",
        "else",
        "error",
        "false",
        "for",
        "function",
        "if",
        "import",
        "importstr",
        "importbin",
        "in",
        "local",
        "null",
        "tailstrict",
        "then",
        "self",
        "super",
        "true",
        "$",
    ];
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const LIMITS: QueryLimits = QueryLimits { max_bytes: 100, max_arguments: 3 };

    #[test]
    fn parameters_become_string_tlas_and_repeated_ones_lists() {
        let tlas = tlas_from_query("replicas=3&name=web%20app&tag=a&tag=b%22", LIMITS).unwrap();
        let as_tuples: Vec<(&str, &str, bool)> =
            tlas.iter().map(|v| (v.name.as_str(), v.value.as_str(), v.code)).collect();
        assert_eq!(as_tuples, [("name", "web app", false), ("replicas", "3", false), ("tag", r#"["a","b\""]"#, true)]);
        assert!(tlas_from_query("", LIMITS).unwrap().is_empty());
    }

    #[test]
    fn bad_names_and_oversized_queries_are_refused() {
        for bad in ["1a=x", "a-b=x", "local=x", "%00=x", "=x"] {
            assert!(tlas_from_query(bad, LIMITS).unwrap_err().contains("identifier"), "{bad}");
        }
        assert!(tlas_from_query(&"a=x&".repeat(30), LIMITS).unwrap_err().contains("--max-query-bytes"));
        assert!(tlas_from_query("a=1&b=2&c=3&d=4", LIMITS).unwrap_err().contains("--max-tlas=3"));
        assert!(tlas_from_query("a=1&a=2&a=3&a=4", LIMITS).is_ok(), "repeats count once");
    }
}
