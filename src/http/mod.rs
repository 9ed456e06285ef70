//! The HTTP surfaces: one module per vendor dialect plus the native `/v1` API and the operational endpoints. A
//! dialect module only translates between its wire types and core commands and outcomes, and maps core errors to
//! its own error envelope.

pub mod auth;
pub mod cashdesk;
mod openapi;
mod ops;
pub mod promotions;
pub mod scantrack;
pub mod v1;

use std::{convert::Infallible, sync::Arc, time::Instant};

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequest, MatchedPath, Request},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Router,
};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::{
    commands::{Command, Executor, Outcome},
    store::{
        idempotency::{IdempotencyKey, StoredResponse},
        Db,
    },
};
use auth::{Authenticator, Principal};

/// Request bodies larger than this are refused (413) before they are read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Idempotency keys longer than this are refused.
const MAX_KEY_LENGTH: usize = 255;

/// What every handler shares.
pub struct App {
    pub db: Db,
    pub executor: Executor,
    pub auth: Authenticator,
    pub reads: crate::queries::ReadCache,
    /// Full request/response logging of the CashDesk surface (personal data masked).
    pub log_requests: bool,
    pub metrics: PrometheusHandle,
}

pub type Shared = Arc<App>;

pub fn router(app: Shared) -> Router {
    Router::new()
        .nest("/api/card", cashdesk::routes())
        .nest("/v1", v1::routes().merge(promotions::routes()))
        .merge(scantrack::routes())
        .merge(ops::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(observe))
        .with_state(app)
}

/// Counts and times every request by route and status.
async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("tally_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("tally_http_request_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A write request as command handlers take it: method, URI, headers, and the body or why it could not be read
/// (too large, broken off), so that each dialect answers that in its own envelope.
pub struct Incoming {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Body,
}

impl<S: Send + Sync> FromRequest<S> for Incoming {
    type Rejection = Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Infallible> {
        let (parts, body) = request.into_parts();
        let (method, uri, headers) = (parts.method.clone(), parts.uri.clone(), parts.headers.clone());
        let body = Bytes::from_request(Request::from_parts(parts, body), state).await;
        Ok(Incoming { method, uri, headers, body })
    }
}

impl Incoming {
    /// The `Idempotency-Key` header, scoped to the principal and fingerprinted with the request.
    pub fn idempotency_key(&self, principal: &Principal, body: &[u8]) -> Result<Option<IdempotencyKey>, BadKey> {
        idempotency_key(&self.headers, principal, &self.method, &self.uri, body)
    }
}

/// Why the idempotency key header cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub struct BadKey;

/// Reads the `Idempotency-Key` header, scoped to the principal and fingerprinted with the request.
fn idempotency_key(
    headers: &HeaderMap,
    principal: &Principal,
    method: &Method,
    uri: &Uri,
    body: &[u8],
) -> Result<Option<IdempotencyKey>, BadKey> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().map_err(|_| BadKey)?.trim();
    if key.is_empty() || key.len() > MAX_KEY_LENGTH {
        return Err(BadKey);
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    Ok(Some(IdempotencyKey::new(&principal.client_id, key, method.as_str(), path, body)))
}

/// A stored response sent again, marked as a replay when it is one.
pub fn stored(response: &StoredResponse, replayed: bool) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    let mut out = (status, response.body.clone()).into_response();
    if let Ok(content_type) = HeaderValue::from_str(&response.content_type) {
        out.headers_mut().insert(axum::http::header::CONTENT_TYPE, content_type);
    }
    if replayed {
        out.headers_mut().insert("idempotency-hit", HeaderValue::from_static("true"));
    }
    out
}

/// How a dialect answers what the core cannot answer for it.
pub trait Dialect {
    /// The same idempotency key came with a different request.
    fn key_reused() -> Response;
    /// The store failed; the cause is logged, the caller learns nothing of it.
    fn unavailable() -> Response;
}

/// Executes a command and turns its outcome into the dialect's response.
pub async fn execute<D: Dialect>(app: &App, command: Command, surface: &'static str) -> Response {
    let outcome = app.executor.execute(command).await;
    let (label, response) = match outcome {
        Ok(Outcome::Executed { result, response: Some(response) }) => {
            (if result.is_ok() { "accepted" } else { "refused" }, stored(&response, false))
        }
        Ok(Outcome::Executed { response: None, .. }) => {
            tracing::error!("a command from {surface} was executed without a renderer");
            ("failed", D::unavailable())
        }
        Ok(Outcome::Replayed(response)) => ("replayed", stored(&response, true)),
        Ok(Outcome::KeyReused) => ("key_reused", D::key_reused()),
        Err(error) => {
            tracing::error!(%error, surface, "command failed");
            ("failed", D::unavailable())
        }
    };
    metrics::counter!("tally_commands_total", "surface" => surface, "outcome" => label).increment(1);
    response
}

/// The raw body, or the reason it could not be read (too large, or broken off).
pub type Body = Result<Bytes, axum::extract::rejection::BytesRejection>;
