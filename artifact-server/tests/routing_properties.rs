//! Property tests of request routing (issue 15 part 7): for any method, raw path and raw query, the artifact port
//! serves exactly the `GET`/`HEAD` requests whose path `ArtifactKey::parse_url_path` accepts (record paths only with
//! `--serve-records`), and the key it serves is the one the path spells. What an accepted path may contain is proven in
//! `shared/tests/layout_properties.rs`; here the router is held to that one parser, so no second reading of the
//! path (decoded, normalised or with its query) can slip in.

#![allow(clippy::unwrap_used)]

use actix_web::http::Method;
use jaas_artifact_server::routing::{Records, Rejection, route};
use jaas_shared::layout::ObjectKind;
use jaas_shared::{ArtifactKey, Digest, SnippetRef};
use proptest::prelude::*;
use proptest::sample::Index;

fn method() -> impl Strategy<Value = Method> {
    let custom = "[A-Z]{1,8}".prop_map(|name| Method::from_bytes(name.as_bytes()).unwrap());
    prop_oneof![
        3 => Just(Method::GET),
        3 => Just(Method::HEAD),
        1 => proptest::sample::select(vec![
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
            Method::OPTIONS,
            Method::TRACE,
            Method::CONNECT,
        ]),
        1 => custom,
    ]
}

/// A valid tarball or record path, sometimes with one character replaced, inserted or removed (percent signs, dots,
/// slashes and backslashes among them), or any string at all.
fn raw_path() -> impl Strategy<Value = String> {
    let kind = proptest::sample::select(&ObjectKind::ALL[..]);
    let valid = ("[a-z0-9]{1,10}", "[a-z0-9]{1,10}(\\.[a-z0-9]{1,10})?", any::<[u8; 32]>(), kind).prop_map(
        |(ns, name, raw, kind)| SnippetRef::new(&ns, &name).unwrap().object(kind, Digest::from_sha256(raw)).url_path(),
    );
    let edited = (
        valid.clone(),
        any::<Index>(),
        0..3_u8,
        prop_oneof![Just('%'), Just('.'), Just('/'), Just('\\'), any::<char>()],
    )
        .prop_map(|(path, at, kind, c)| {
            let mut chars: Vec<char> = path.chars().collect();
            let at = at.index(chars.len());
            match kind {
                0 => chars.insert(at, c),
                1 => chars[at] = c,
                _ => drop(chars.remove(at)),
            }
            chars.into_iter().collect()
        });
    prop_oneof![2 => valid, 2 => edited, 1 => any::<String>()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn only_get_and_head_of_a_parsed_key_without_query_are_served(
        method in method(),
        path in raw_path(),
        query in proptest::option::weighted(0.2, "[ -~]{0,12}"),
        records in prop_oneof![Just(Records::Hidden), Just(Records::Served)],
    ) {
        // A record path while records are hidden is one more unknown path.
        let parsed = ArtifactKey::parse_url_path(&path)
            .ok()
            .filter(|key| key.kind() == ObjectKind::Tarball || records == Records::Served);
        match route(&method, &path, query.as_deref(), records) {
            Ok(request) => {
                prop_assert!(query.is_none());
                prop_assert!(method == Method::GET || method == Method::HEAD);
                prop_assert_eq!(request.head_only, method == Method::HEAD);
                prop_assert_eq!(request.key.url_path(), path.clone());
                prop_assert_eq!(Some(request.key), parsed);
            }
            Err(Rejection::MethodNotAllowed) => {
                // A 405 tells the client the path exists: only for a valid path without query.
                prop_assert!(query.is_none() && parsed.is_some(), "405 for {:?} {:?}", path, query);
                prop_assert!(method != Method::GET && method != Method::HEAD);
            }
            Err(Rejection::NotFound) => prop_assert!(query.is_some() || parsed.is_none(), "404 for {:?}", path),
        }
    }
}
