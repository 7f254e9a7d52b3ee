//! The render endpoint, `GET|HEAD /<endpoint-path>/<snippet...>?<tla>=<value>...`: the one handler of the render port,
//! read top to bottom in [`handle`]. Method → format → cache (with `If-None-Match`; a hit touches no file) → snippet
//! (resolved once per file generation) → arguments → a place among the pending evaluations (else 503) → evaluation
//! through the shared [`Renderer`] (out of process, killed at `--evaluation-timeout`) → encoding, bounded by
//! `--max-output-bytes`.

use std::sync::Arc;
use std::time::Instant;

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use jaas_render::{RenderRequest, Renderer, plain_request};
use tokio::sync::Semaphore;

use super::cache::{Rendered, ResponseCache, cache_key};
use super::catalog::{Catalog, Lookup};
use super::metrics::ServeMetrics;
use super::problem::{Problem, ProblemCode};
use super::query::{QueryLimits, tlas_from_query};
use super::reload::Generation;
use super::resolved::ResolvedSnippets;

/// What goes into every cache key besides the request: a new binary (evaluator, std, encoders) renders anew.
const EVALUATOR_VERSION: &str = concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"));

/// Everything the handler reads, shared by all workers of the HTTP server.
pub struct Endpoint {
    /// `/<endpoint-path>/`.
    pub prefix: String,
    /// Where snippets are.
    pub catalog: Catalog,
    /// `--library-path`, searched as `jsonnet -J`.
    pub library_paths: Vec<std::path::PathBuf>,
    /// Host directories removed from error messages.
    pub host_roots: Vec<String>,
    /// Bounds on the query.
    pub query_limits: QueryLimits,
    /// `--max-output-bytes`.
    pub max_output_bytes: usize,
    /// Places for requests that wait for or run an evaluation.
    pub pending: Semaphore,
    /// The warm evaluation pool.
    pub renderer: Arc<Renderer>,
    /// Rendered responses.
    pub cache: ResponseCache,
    /// Changes when files under the roots change.
    pub generation: Generation,
    /// Names already resolved to their request in the current generation.
    pub resolved: ResolvedSnippets,
    /// Request counters and timings.
    pub metrics: ServeMetrics,
}

/// The two representations of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// The value as JSON.
    Json,
    /// A YAML stream: one document per element of an array, else one document.
    Yaml,
}

impl Format {
    /// The first of JSON and YAML the `Accept` header names; JSON when it names neither.
    fn negotiate(accept: Option<&str>) -> Self {
        let accept = accept.unwrap_or_default().to_ascii_lowercase();
        let position = |types: &[&str]| types.iter().filter_map(|t| accept.find(t)).min();
        match (position(&["application/yaml", "application/x-yaml", "text/yaml"]), position(&["application/json"])) {
            (Some(yaml), Some(json)) if yaml < json => Self::Yaml,
            (Some(_), None) => Self::Yaml,
            _ => Self::Json,
        }
    }

    const fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Yaml => "application/yaml",
        }
    }
}

/// Answers one request; every outcome is counted by its problem code (or `ok`/`not_modified`).
pub async fn handle(request: HttpRequest, endpoint: web::Data<Endpoint>) -> HttpResponse {
    let started = Instant::now();
    let path = request.uri().path().to_owned();
    let (outcome, response) = match respond(&request, &endpoint, &path).await {
        Ok((outcome, response)) => (outcome, response),
        Err(problem) => (problem.code(), problem.response()),
    };
    endpoint.metrics.observe(outcome, started.elapsed());
    response
}

async fn respond(
    request: &HttpRequest,
    endpoint: &Endpoint,
    path: &str,
) -> Result<(&'static str, HttpResponse), Problem> {
    let problem = |code, detail: String| Problem::new(code, path, detail);
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Err(problem(ProblemCode::MethodNotAllowed, format!("{} is not served: use GET", request.method())));
    }
    let Some(name) = path.strip_prefix(&endpoint.prefix) else {
        return Err(problem(ProblemCode::SnippetNotFound, format!("snippets are served under {}", endpoint.prefix)));
    };
    // The key is the request as sent (the name and query as encoded, the format) plus the files' generation and
    // the binary's version: a hit answers without touching the disk. Only a request that resolved and rendered is
    // ever inserted, so a hit is a request that passed every check below.
    let accept = request.headers().get(header::ACCEPT).and_then(|value| value.to_str().ok());
    let format = Format::negotiate(accept);
    let generation = endpoint.generation.current();
    let key = cache_key(&[
        name.as_bytes(),
        request.query_string().as_bytes(),
        format.content_type().as_bytes(),
        &generation.to_le_bytes(),
        EVALUATOR_VERSION.as_bytes(),
    ]);
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).and_then(|value| value.to_str().ok());
    if let Some(rendered) = endpoint.cache.get(&key) {
        endpoint.metrics.cache_hits.inc();
        return Ok(answer(request, &rendered, if_none_match));
    }
    let snippet = if let Some(snippet) = endpoint.resolved.get(name, generation) {
        snippet
    } else {
        let entry = endpoint.catalog.entry_file(name).map_err(|lookup| match lookup {
            Lookup::Refused(why) => problem(ProblemCode::SnippetNotFound, format!("no snippet is named {why}")),
            Lookup::Missing => problem(ProblemCode::SnippetNotFound, format!("no snippet is named {name:?}")),
        })?;
        let snippet = plain_request(&entry, &endpoint.library_paths)
            .map_err(|error| Problem::evaluation(&error, path, &endpoint.host_roots))?;
        let snippet = Arc::new(snippet);
        endpoint.resolved.insert(name, generation, snippet.clone());
        snippet
    };
    let tlas = tlas_from_query(request.query_string(), endpoint.query_limits)
        .map_err(|why| problem(ProblemCode::RequestInvalid, why))?;
    let Ok(_place) = endpoint.pending.try_acquire() else {
        return Err(problem(
            ProblemCode::EvaluationUnavailable,
            "every evaluation place is taken (--max-pending-evaluations); retry shortly".to_owned(),
        ));
    };
    let render_request = RenderRequest { tlas, ..RenderRequest::clone(&snippet) };
    let value = endpoint
        .renderer
        .evaluate(&render_request)
        .await
        .map_err(|error| Problem::evaluation(&error, path, &endpoint.host_roots))?;
    let body = encode(&value, format).map_err(|error| Problem::evaluation(&error, path, &endpoint.host_roots))?;
    if body.len() > endpoint.max_output_bytes {
        return Err(problem(
            ProblemCode::OutputTooLarge,
            format!(
                "the rendered output is {} bytes, more than --max-output-bytes={}",
                body.len(),
                endpoint.max_output_bytes
            ),
        ));
    }
    let rendered = Rendered::new(Bytes::from(body), format.content_type());
    endpoint.cache.insert(key, rendered.clone());
    Ok(answer(request, &rendered, if_none_match))
}

/// The response for `rendered`: 304 when the client holds it already, else 200 (without a body for HEAD).
fn answer(request: &HttpRequest, rendered: &Rendered, if_none_match: Option<&str>) -> (&'static str, HttpResponse) {
    if if_none_match.is_some_and(|tags| rendered.matches(tags)) {
        let response = HttpResponse::NotModified().insert_header((header::ETAG, rendered.etag.clone())).finish();
        return ("not_modified", response);
    }
    let mut response = HttpResponse::build(StatusCode::OK);
    response.content_type(rendered.content_type).insert_header((header::ETAG, rendered.etag.clone()));
    let body = if request.method() == Method::HEAD { Bytes::new() } else { rendered.body.clone() };
    ("ok", response.body(body))
}

/// The value as JSON (pretty, sorted keys) or as a YAML stream.
fn encode(value: &serde_json::Value, format: Format) -> Result<String, jaas_render::RenderError> {
    match format {
        Format::Json => jaas_render::pretty_json(value),
        Format::Yaml => match value {
            serde_json::Value::Array(items) => jaas_render::yaml_documents(items),
            other => jaas_render::yaml_documents(std::slice::from_ref(other)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_header_picks_json_or_yaml() {
        let cases = [
            (None, Format::Json),
            (Some("*/*"), Format::Json),
            (Some("application/yaml"), Format::Yaml),
            (Some("text/yaml, application/json"), Format::Yaml),
            (Some("application/json, application/yaml"), Format::Json),
            (Some("Application/X-YAML"), Format::Yaml),
        ];
        for (accept, format) in cases {
            assert_eq!(Format::negotiate(accept), format, "{accept:?}");
        }
    }
}
