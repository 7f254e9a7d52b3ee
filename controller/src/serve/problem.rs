//! RFC 9457 problem details (`application/problem+json`) for every error `jaas serve` answers with: a stable
//! `code` per kind of failure, the HTTP status it goes with, and the mapping from render errors. Messages never
//! carry host paths: [`Problem::evaluation`] strips the snippet roots from the evaluator's text.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use jaas_render::RenderError;
use serde::Serialize;

/// Where the `type` URIs of our problems live (documented in README.md, section "Render API").
const TYPE_BASE: &str = "https://jaas.metio.wtf/problems/";

/// The kinds of failure, each with a stable `code` and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemCode {
    /// No snippet has the requested name.
    SnippetNotFound,
    /// Only GET and HEAD are served.
    MethodNotAllowed,
    /// The query or headers are unusable (bad TLA names, too many, too long).
    RequestInvalid,
    /// The Jsonnet failed to evaluate (syntax, runtime error, assert, stack overflow, forbidden import).
    EvaluationFailed,
    /// The evaluation ran out of `--evaluation-timeout` and was killed.
    EvaluationTimeout,
    /// Too many evaluations are waiting: try again after `Retry-After`.
    EvaluationUnavailable,
    /// The rendered output is larger than `--max-output-bytes`.
    OutputTooLarge,
    /// Something failed that is not the request's fault.
    InternalError,
}

impl ProblemCode {
    /// The stable, documented code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SnippetNotFound => "snippet_not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RequestInvalid => "request_invalid",
            Self::EvaluationFailed => "evaluation_failed",
            Self::EvaluationTimeout => "evaluation_timeout",
            Self::EvaluationUnavailable => "evaluation_unavailable",
            Self::OutputTooLarge => "output_too_large",
            Self::InternalError => "internal_error",
        }
    }

    /// The HTTP status that goes with the code.
    pub const fn status(self) -> StatusCode {
        match self {
            Self::SnippetNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestInvalid | Self::EvaluationFailed => StatusCode::BAD_REQUEST,
            Self::EvaluationTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::EvaluationUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::OutputTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short, fixed summary of the kind of problem.
    const fn title(self) -> &'static str {
        match self {
            Self::SnippetNotFound => "Snippet not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::RequestInvalid => "Invalid request",
            Self::EvaluationFailed => "Evaluation failed",
            Self::EvaluationTimeout => "Evaluation timed out",
            Self::EvaluationUnavailable => "Evaluation capacity exhausted",
            Self::OutputTooLarge => "Output too large",
            Self::InternalError => "Internal error",
        }
    }
}

/// One problem, as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub type_: String,
    /// The summary of the kind.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What happened this time.
    pub detail: String,
    /// The stable code clients switch on.
    pub code: &'static str,
    /// The request path.
    pub instance: String,
}

impl Problem {
    /// A problem of `code` about the request for `path`.
    pub fn new(code: ProblemCode, path: &str, detail: impl Into<String>) -> Self {
        Self {
            type_: format!("{TYPE_BASE}{}", code.as_str().replace('_', "-")),
            title: code.title(),
            status: code.status().as_u16(),
            detail: detail.into(),
            code: code.as_str(),
            instance: path.to_owned(),
        }
    }

    /// The problem a failed evaluation is, with every one of `roots` (host directories) removed from the message.
    pub fn evaluation(error: &RenderError, path: &str, roots: &[String]) -> Self {
        let code = match error {
            RenderError::EvaluationTimeout(_) => ProblemCode::EvaluationTimeout,
            RenderError::ArtifactTooLarge { .. } | RenderError::OutputTooLarge { .. } => ProblemCode::OutputTooLarge,
            RenderError::Internal(_) => ProblemCode::InternalError,
            RenderError::InvalidSpec(_)
            | RenderError::LibraryNotFound(_)
            | RenderError::ImportForbidden(_)
            | RenderError::EvaluationFailed(_)
            | RenderError::StackOverflow(_)
            | RenderError::InvalidOutput(_) => ProblemCode::EvaluationFailed,
        };
        let mut detail = error.to_string();
        for root in roots {
            detail = detail.replace(&format!("{root}/"), "").replace(root.as_str(), ".");
        }
        Self::new(code, path, detail)
    }

    /// The `code` this problem carries.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The response: status, `application/problem+json`, and the body.
    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(self).unwrap_or_default();
        let mut response = HttpResponse::build(status);
        response.content_type("application/problem+json");
        if status == StatusCode::METHOD_NOT_ALLOWED {
            response.insert_header(("Allow", "GET, HEAD"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header(("Retry-After", "1"));
        }
        response.body(body)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn render_errors_map_to_codes_and_lose_host_paths() {
        let roots = ["/srv/snippets".to_owned()];
        let failed = RenderError::EvaluationFailed("/srv/snippets/web/main.jsonnet:3:1 unknown variable x".into());
        let problem = Problem::evaluation(&failed, "/jsonnet/web", &roots);
        assert_eq!((problem.code, problem.status), ("evaluation_failed", 400));
        assert!(!problem.detail.contains("/srv"), "{}", problem.detail);
        assert!(problem.detail.contains("web/main.jsonnet:3:1"), "{}", problem.detail);
        let timeout = Problem::evaluation(&RenderError::EvaluationTimeout(Duration::from_secs(5)), "/x", &roots);
        assert_eq!((timeout.code, timeout.status), ("evaluation_timeout", 504));
        let internal = Problem::evaluation(&RenderError::Internal("boom".into()), "/x", &roots);
        assert_eq!(internal.code, "internal_error");
    }

    #[test]
    fn responses_carry_the_media_type_and_the_headers_of_their_status() {
        let response = Problem::new(ProblemCode::MethodNotAllowed, "/jsonnet/web", "POST").response();
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers().get("allow").unwrap(), "GET, HEAD");
        assert_eq!(response.headers().get("content-type").unwrap(), "application/problem+json");
        let busy = Problem::new(ProblemCode::EvaluationUnavailable, "/jsonnet/web", "busy").response();
        assert_eq!(busy.headers().get("retry-after").unwrap(), "1");
        let json = serde_json::to_value(Problem::new(ProblemCode::SnippetNotFound, "/jsonnet/x", "no x")).unwrap();
        assert_eq!(json["type"], "https://jaas.metio.wtf/problems/snippet-not-found");
        assert_eq!(json["code"], "snippet_not_found");
    }
}
