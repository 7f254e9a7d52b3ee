//! Parsing of the request headers that change what is served: `If-None-Match`, `Range` and `If-Range`.
//! Pure functions over header values; the handler decides what to do with the answers.

use jaas_shared::ByteRange;

/// What a `Range` header (after `If-Range`) asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable `Range`: serve the whole artifact with 200. Covers a missing header, a syntactically invalid one
    /// (RFC 9110 §14.2: a server ignores a `Range` it does not understand), another unit, and a failed `If-Range`.
    Whole,
    /// Exactly one byte range: serve 206, or 416 if it cannot be satisfied.
    Single(ByteRange),
    /// Several ranges: we answer 200 with the whole artifact (RFC 9110 §14.2 allows ignoring `Range`), which avoids
    /// `multipart/byteranges` and the amplification attacks that come with overlapping ranges.
    Multiple,
}

/// True when an `If-None-Match` header value matches `etag` by weak comparison (RFC 9110 §13.1.2): `*` matches
/// any existing representation, otherwise any listed entity tag whose opaque part equals ours, with or without
/// `W/`. A malformed list never matches, so the client gets the full body rather than a wrong 304.
pub fn if_none_match_matches(header: &str, etag: &str) -> bool {
    let header = header.trim();
    if header == "*" {
        return true;
    }
    let ours = opaque_tag(etag);
    match parse_entity_tags(header) {
        Some(tags) => tags.iter().any(|tag| tag.opaque == ours),
        None => false,
    }
}

/// Parses `Range` together with an optional `If-Range`. `If-Range` with an entity tag keeps the range only when
/// it strongly equals `etag`; `If-Range` with a date always drops the range (we would need the object's
/// modification time before reading it, and a full 200 is always a correct answer).
pub fn parse_range(range: Option<&str>, if_range: Option<&str>, etag: &str) -> RangeRequest {
    let Some(range) = range else {
        return RangeRequest::Whole;
    };
    if let Some(if_range) = if_range {
        let if_range = if_range.trim();
        if if_range.starts_with("W/") || if_range != etag {
            return RangeRequest::Whole;
        }
    }
    parse_range_header(range)
}

/// Parses a `Range` header value: `bytes=` followed by a comma-separated list of range specs.
fn parse_range_header(value: &str) -> RangeRequest {
    let Some((unit, specs)) = value.trim().split_once('=') else {
        return RangeRequest::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return RangeRequest::Whole;
    }
    let mut parsed = Vec::new();
    for spec in specs.split(',') {
        let spec = spec.trim();
        if spec.is_empty() {
            // Empty list elements are allowed by the list syntax (RFC 9110 §5.6.1).
            continue;
        }
        match parse_range_spec(spec) {
            Some(range) => parsed.push(range),
            None => return RangeRequest::Whole,
        }
    }
    match parsed.as_slice() {
        [] => RangeRequest::Whole,
        [one] => RangeRequest::Single(*one),
        _ => RangeRequest::Multiple,
    }
}

/// Parses one `first-last`, `first-` or `-suffix` spec. Only ASCII digits are accepted (no signs, no spaces).
fn parse_range_spec(spec: &str) -> Option<ByteRange> {
    let (first, last) = spec.split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (first.is_empty(), last.is_empty()) {
        (true, true) => None,
        (true, false) => Some(ByteRange::Suffix(number(last)?)),
        (false, true) => Some(ByteRange::From(number(first)?)),
        (false, false) => {
            let (first, last) = (number(first)?, number(last)?);
            // RFC 9110 §14.1.1: a spec with last < first is invalid, which invalidates the whole header.
            (first <= last).then_some(ByteRange::FromTo { first, last })
        }
    }
}

/// One entity tag from a list; `opaque` keeps its quotes, `W/` is dropped.
struct EntityTag<'a> {
    opaque: &'a str,
}

/// Parses `#entity-tag` (empty list elements allowed); `None` when any element is malformed. Entity tags may
/// contain commas, so the list is scanned tag by tag rather than split.
fn parse_entity_tags(list: &str) -> Option<Vec<EntityTag<'_>>> {
    let mut tags = Vec::new();
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        if rest.is_empty() {
            return Some(tags);
        }
        let unprefixed = rest.strip_prefix("W/").unwrap_or(rest);
        if !unprefixed.starts_with('"') {
            return None;
        }
        let close = unprefixed[1..].find('"')? + 2;
        tags.push(EntityTag { opaque: &unprefixed[..close] });
        rest = unprefixed[close..].trim_start_matches([' ', '\t']);
        if !rest.is_empty() && !rest.starts_with(',') {
            return None;
        }
    }
}

/// The opaque part of an entity tag (`W/` dropped, quotes kept).
fn opaque_tag(etag: &str) -> &str {
    etag.strip_prefix("W/").unwrap_or(etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETAG: &str = "\"abc\"";

    #[test]
    fn if_none_match_uses_weak_comparison_over_lists() {
        let cases: &[(&str, bool)] = &[
            ("*", true),
            (" * ", true),
            ("\"abc\"", true),
            ("W/\"abc\"", true),
            ("\"x\", \"abc\"", true),
            ("\"x\",W/\"abc\" ", true),
            ("\"x\" , , \"abc\"", true),
            ("\"x\"", false),
            ("\"abcd\"", false),
            ("abc", false),
            ("\"abc", false),
            ("\"x\" \"abc\"", false),
            ("", false),
            ("**", false),
            (",", false),
            ("\"a,b\", \"abc\"", true),
        ];
        for (header, expected) in cases {
            assert_eq!(if_none_match_matches(header, ETAG), *expected, "If-None-Match: {header}");
        }
    }

    #[test]
    fn range_headers_parse_like_rfc_9110() {
        use ByteRange::{From, FromTo, Suffix};
        use RangeRequest::{Multiple, Single, Whole};
        let cases: &[(&str, RangeRequest)] = &[
            ("bytes=0-0", Single(FromTo { first: 0, last: 0 })),
            ("bytes=5-10", Single(FromTo { first: 5, last: 10 })),
            ("BYTES = 5-10", Single(FromTo { first: 5, last: 10 })),
            ("bytes=5-", Single(From(5))),
            ("bytes=-5", Single(Suffix(5))),
            ("bytes=-0", Single(Suffix(0))),
            ("bytes= 5-10 ,", Single(FromTo { first: 5, last: 10 })),
            ("bytes=0-1,5-6", Multiple),
            ("bytes=0-1, -3", Multiple),
            ("bytes=10-5", Whole),
            ("bytes=-", Whole),
            ("bytes=", Whole),
            ("bytes=a-b", Whole),
            ("bytes=+1-2", Whole),
            ("bytes=1 -2", Whole),
            ("bytes=0-1,x", Whole),
            ("bytes=99999999999999999999999-", Whole),
            ("items=0-1", Whole),
            ("0-1", Whole),
            ("", Whole),
        ];
        for (header, expected) in cases {
            assert_eq!(parse_range(Some(header), None, ETAG), *expected, "Range: {header}");
        }
        assert_eq!(parse_range(None, None, ETAG), Whole);
    }

    #[test]
    fn if_range_keeps_the_range_only_for_our_strong_etag() {
        let range = Some("bytes=0-1");
        let single = RangeRequest::Single(ByteRange::FromTo { first: 0, last: 1 });
        assert_eq!(parse_range(range, Some("\"abc\""), ETAG), single);
        assert_eq!(parse_range(range, Some(" \"abc\" "), ETAG), single);
        assert_eq!(parse_range(range, Some("W/\"abc\""), ETAG), RangeRequest::Whole);
        assert_eq!(parse_range(range, Some("\"other\""), ETAG), RangeRequest::Whole);
        assert_eq!(parse_range(range, Some("Wed, 21 Oct 2015 07:28:00 GMT"), ETAG), RangeRequest::Whole);
    }
}
