//! Which requests the artifact port answers: `GET`/`HEAD` of one artifact path, nothing else. An artifact path names
//! a revision's tarball, or its record when `--serve-records` is on ([`Records`]); off, a record path is answered
//! exactly like any unknown path.
//!
//! The decision is made on the raw request target, never a percent-decoded one, and goes through
//! [`ArtifactKey::parse_url_path`], the workspace's only path parser. A request with a query string is rejected
//! (404): artifact URLs never carry one, and ignoring it would let `?x` variants bypass caches and logs that key on
//! the full URL.

use actix_web::http::Method;
use jaas_shared::ArtifactKey;
use jaas_shared::layout::ObjectKind;

/// Whether revision records (`/<namespace>/<name>/sha256-<hex>.record.zst`) are served: `--serve-records`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Records {
    /// Off (the default): a record path is not found, and storage is never asked.
    #[default]
    Hidden,
    /// On: a record path is served from storage like a tarball's, but never cached (see `serve.rs`).
    Served,
}

impl Records {
    /// `Served` when `serve` is true.
    pub fn served_if(serve: bool) -> Self {
        if serve { Self::Served } else { Self::Hidden }
    }
}

/// An artifact request that passed routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRequest {
    /// The artifact asked for.
    pub key: ArtifactKey,
    /// True for `HEAD`: the same headers as `GET`, no body.
    pub head_only: bool,
}

/// Why a request is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Not an artifact path (including `/`, a namespace, a snippet, anything with a query or percent-encoding).
    NotFound,
    /// An artifact path with a method other than `GET` or `HEAD`.
    MethodNotAllowed,
}

/// The methods the artifact port allows, for the `Allow` header of a 405.
pub const ALLOWED_METHODS: &str = "GET, HEAD";

/// Routes one request from its method, raw path and raw query. A path is checked before the method, so that
/// probing unknown paths with odd methods learns nothing but 404; a record path while `records` is
/// [`Records::Hidden`] is such an unknown path.
pub fn route(
    method: &Method,
    raw_path: &str,
    raw_query: Option<&str>,
    records: Records,
) -> Result<ArtifactRequest, Rejection> {
    if raw_query.is_some() {
        return Err(Rejection::NotFound);
    }
    let key = ArtifactKey::parse_url_path(raw_path).map_err(|_| Rejection::NotFound)?;
    if key.kind() == ObjectKind::Record && records == Records::Hidden {
        return Err(Rejection::NotFound);
    }
    let head_only = match *method {
        Method::GET => false,
        Method::HEAD => true,
        _ => return Err(Rejection::MethodNotAllowed),
    };
    Ok(ArtifactRequest { key, head_only })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn path() -> String {
        format!("/team-a/web/sha256-{HEX}.tar.gz")
    }

    fn record_path() -> String {
        format!("/team-a/web/sha256-{HEX}.record.zst")
    }

    #[test]
    fn get_and_head_of_an_artifact_path_are_served() {
        for records in [Records::Hidden, Records::Served] {
            let get = route(&Method::GET, &path(), None, records).unwrap();
            assert!(!get.head_only);
            assert_eq!(get.key.url_path(), path());
            assert_eq!(get.key.kind(), ObjectKind::Tarball);
            let head = route(&Method::HEAD, &path(), None, records).unwrap();
            assert!(head.head_only);
            assert_eq!(head.key, get.key);
        }
    }

    #[test]
    fn records_are_served_only_when_enabled() {
        let get = route(&Method::GET, &record_path(), None, Records::Served).unwrap();
        assert_eq!((get.key.kind(), get.head_only), (ObjectKind::Record, false));
        assert_eq!(get.key.url_path(), record_path());
        assert!(route(&Method::HEAD, &record_path(), None, Records::Served).unwrap().head_only);
        assert_eq!(route(&Method::POST, &record_path(), None, Records::Served), Err(Rejection::MethodNotAllowed));
        assert_eq!(route(&Method::GET, &record_path(), Some("x"), Records::Served), Err(Rejection::NotFound));
        for method in [Method::GET, Method::HEAD, Method::POST, Method::DELETE] {
            assert_eq!(route(&method, &record_path(), None, Records::Hidden), Err(Rejection::NotFound), "{method}");
        }
        assert_eq!(Records::default(), Records::Hidden);
        assert_eq!((Records::served_if(true), Records::served_if(false)), (Records::Served, Records::Hidden));
    }

    #[test]
    fn other_methods_on_an_artifact_path_are_405() {
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH, Method::OPTIONS, Method::TRACE] {
            assert_eq!(route(&method, &path(), None, Records::Hidden), Err(Rejection::MethodNotAllowed), "{method}");
        }
    }

    #[test]
    fn everything_else_is_404() {
        let file = format!("sha256-{HEX}.tar.gz");
        let cases: &[(&str, Option<&str>)] = &[
            ("/", None),
            ("/team-a", None),
            ("/team-a/", None),
            ("/team-a/web", None),
            ("/team-a/web/", None),
            (&path(), Some("")),
            (&path(), Some("download=1")),
            (&format!("/team-a/%2e%2e/{file}"), None),
            (&format!("/team-a/web%2f/{file}"), None),
            (&format!("/team-a/%252e%252e/{file}"), None),
            (&format!("/team-a\\..\\web/{file}"), None),
            (&format!("/team-a/web%00/{file}"), None),
            (&format!("/team-a/web/{}", file.replace("sha256-", "sha256%2d"))[..], None),
            (&format!("/team-a/web/sha256-{HEX}.record.zst.tmp"), None),
            (&format!("/team-a/web/sha256-{HEX}.record.zst/"), None),
        ];
        for (raw_path, query) in cases {
            for method in [Method::GET, Method::HEAD, Method::POST] {
                for records in [Records::Hidden, Records::Served] {
                    let routed = route(&method, raw_path, *query, records);
                    assert_eq!(routed, Err(Rejection::NotFound), "{method} {raw_path} {query:?} {records:?}");
                }
            }
        }
    }
}
