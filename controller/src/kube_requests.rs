//! `jaas_kube_requests_total{verb,resource}`: every request the controller sends to the Kubernetes API server,
//! counted as the API server's own `apiserver_request_total` names them (GET of one object, LIST, WATCH, APPLY for a
//! server-side apply PATCH, ...), so that an operator, and the scale benchmark, can tell the controller's requests
//! from those of other clients of the same API server (kube-controller-manager's garbage collector reads every new
//! object that has an owner).

use std::sync::LazyLock;

use prometheus::{IntCounterVec, Opts};

/// The counter, one for the process: every client built by `kube_client` counts into it.
pub fn counter() -> &'static IntCounterVec {
    static COUNTER: LazyLock<IntCounterVec> = LazyLock::new(|| {
        IntCounterVec::new(
            Opts::new("jaas_kube_requests_total", "Requests sent to the Kubernetes API server, by verb and resource."),
            &["verb", "resource"],
        )
        .unwrap_or_else(|error| unreachable!("a constant metric definition is valid: {error}"))
    });
    &COUNTER
}

/// Counts `request` and passes it on (the function a `tower` map-request layer runs).
pub fn count<B>(request: http::Request<B>) -> http::Request<B> {
    let content_type = request.headers().get(http::header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    let (verb, resource) = classify(request.method(), request.uri(), content_type);
    counter().with_label_values(&[verb, &resource]).inc();
    request
}

/// The API server's verb and resource (`plural[/subresource]`) of a request; `-` when the path names no resource.
pub fn classify(method: &http::Method, uri: &http::Uri, content_type: Option<&str>) -> (&'static str, String) {
    let segments: Vec<&str> = uri.path().split('/').filter(|segment| !segment.is_empty()).collect();
    // /api/v1/... or /apis/<group>/<version>/..., then optionally namespaces/<ns>, then resource[/name[/sub]].
    let (["api", _, rest @ ..] | ["apis", _, _, rest @ ..]) = segments.as_slice() else {
        return (verb_of(method, true, uri, content_type), "-".to_owned());
    };
    let rest = match rest {
        ["namespaces", _namespace, more @ ..] if !more.is_empty() => more,
        other => other,
    };
    let (resource, named) = match rest {
        [] => ("-".to_owned(), false),
        [plural] => ((*plural).to_owned(), false),
        [plural, _name] => ((*plural).to_owned(), true),
        [plural, _name, subresource, ..] => (format!("{plural}/{subresource}"), true),
    };
    (verb_of(method, named, uri, content_type), resource)
}

fn verb_of(method: &http::Method, named: bool, uri: &http::Uri, content_type: Option<&str>) -> &'static str {
    let watch = uri.query().is_some_and(|query| query.split('&').any(|pair| pair == "watch=true"));
    match *method {
        http::Method::GET if watch => "WATCH",
        http::Method::GET if named => "GET",
        http::Method::GET => "LIST",
        http::Method::PATCH if content_type == Some("application/apply-patch+yaml") => "APPLY",
        http::Method::PATCH => "PATCH",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE if named => "DELETE",
        http::Method::DELETE => "DELETECOLLECTION",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    fn verb_and_resource(method: &Method, uri: &str, content_type: Option<&str>) -> (&'static str, String) {
        classify(method, &uri.parse().expect("a valid URI"), content_type)
    }

    #[test]
    fn requests_are_named_as_the_api_server_names_them() {
        let ea = "/apis/source.toolkit.fluxcd.io/v1/namespaces/team/externalartifacts";
        let cases = [
            (Method::GET, format!("{ea}?&limit=500"), None, ("LIST", "externalartifacts")),
            (Method::GET, format!("{ea}?&watch=true&resourceVersion=7"), None, ("WATCH", "externalartifacts")),
            (Method::GET, format!("{ea}/web"), None, ("GET", "externalartifacts")),
            (
                Method::PATCH,
                format!("{ea}/web/status?&fieldManager=x&force=true"),
                Some("application/apply-patch+yaml"),
                ("APPLY", "externalartifacts/status"),
            ),
            (
                Method::PATCH,
                "/apis/jaas.metio.wtf/v1/namespaces/team/jsonnetsnippets/web".to_owned(),
                Some("application/merge-patch+json"),
                ("PATCH", "jsonnetsnippets"),
            ),
            (Method::POST, "/apis/events.k8s.io/v1/namespaces/team/events".to_owned(), None, ("POST", "events")),
            (Method::GET, "/api/v1/namespaces/team".to_owned(), None, ("GET", "namespaces")),
            (Method::GET, "/apis/jaas.metio.wtf/v1/jsonnetsnippets".to_owned(), None, ("LIST", "jsonnetsnippets")),
            (Method::GET, "/version".to_owned(), None, ("GET", "-")),
        ];
        for (method, uri, content_type, (verb, resource)) in cases {
            assert_eq!(verb_and_resource(&method, &uri, content_type), (verb, resource.to_owned()), "{uri}");
        }
    }

    #[test]
    fn a_counted_request_passes_unchanged() {
        let request = http::Request::get("/apis/jaas.metio.wtf/v1/namespaces/count-test/jsonnetlibraries/lib")
            .body(())
            .expect("a valid request");
        let before = counter().with_label_values(&["GET", "jsonnetlibraries"]).get();
        let passed = count(request);
        assert_eq!(passed.uri().path(), "/apis/jaas.metio.wtf/v1/namespaces/count-test/jsonnetlibraries/lib");
        assert_eq!(counter().with_label_values(&["GET", "jsonnetlibraries"]).get(), before + 1);
    }
}
