//! The HTTP surfaces: one module per vendor dialect plus the native `/v1` API and the operational endpoints. A
//! dialect module only translates between its wire types and core commands and outcomes, and maps core errors to
//! its own error envelope; what every dialect shares (body limit, authentication, idempotency key, execution) is
//! the [`ingress`].

pub mod cashdesk;
pub mod enactor;
pub mod footprints;
pub mod ingress;
pub(crate) mod openapi;
mod ops;
pub mod scantrack;
pub mod v1;
pub mod vending;
mod wording;

use std::{ops::Deref, sync::Arc, time::Instant};

use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request},
    http::{HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    Router,
};

use utoipa::openapi::OpenApi;

use crate::{app::App, store::idempotency::StoredResponse};

/// Request bodies larger than this are refused (413) before they are read. A batch of 1000 cards with 19-digit
/// numbers is about 85 KiB.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What every handler shares: the core, and how the HTTP surfaces were configured.
pub struct Surface {
    pub app: Arc<App>,
    /// Full request/response logging of the CashDesk surface (personal data masked).
    pub log_requests: bool,
}

impl Deref for Surface {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

pub type Shared = Arc<Surface>;

/// Every surface on one router, over the core `app`, with the OpenAPI document generated from the same routers.
pub fn router(app: Arc<App>, log_requests: bool) -> Router {
    let (cashdesk, cashdesk_doc) = cashdesk::routes().split_for_parts();
    let (v1, v1_doc) = v1::routes().split_for_parts();
    let (scantrack, scantrack_doc) = scantrack::routes().split_for_parts();
    let (enactor, enactor_doc) = enactor::routes().split_for_parts();
    let (enactor_soap, enactor_soap_doc) = enactor::soap_routes().split_for_parts();
    let (vending, vending_doc) = vending::routes().split_for_parts();
    let (footprints, footprints_doc) = footprints::routes().split_for_parts();
    let (ops, ops_doc) = ops::routes().split_for_parts();
    let parts = OpenApi::default()
        .nest("/api/card", cashdesk_doc)
        .nest("/v1", v1_doc)
        .nest("/WebRestApi/rest", enactor_doc)
        .merge_from(enactor_soap_doc)
        .merge_from(scantrack_doc)
        .nest("/vending", vending_doc)
        .merge_from(footprints_doc)
        .merge_from(ops_doc);
    let document = openapi::document(parts).to_string();
    Router::new()
        .nest("/api/card", cashdesk.method_not_allowed_fallback(cashdesk::method_not_allowed))
        .nest("/v1", v1.method_not_allowed_fallback(v1::method_not_allowed))
        .merge(scantrack.method_not_allowed_fallback(scantrack::method_not_allowed))
        .nest("/WebRestApi/rest", enactor.method_not_allowed_fallback(enactor::method_not_allowed))
        .merge(enactor_soap.method_not_allowed_fallback(enactor::soap_method_not_allowed))
        .nest("/vending", vending.method_not_allowed_fallback(vending::method_not_allowed))
        .merge(footprints.method_not_allowed_fallback(footprints::method_not_allowed))
        .merge(ops)
        .merge(ops::document(document))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(observe))
        .with_state(Arc::new(Surface { app, log_requests }))
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

/// A JSON answer, as stored for replays.
pub fn json_stored(status: StatusCode, body: &impl serde::Serialize) -> StoredResponse {
    let body = serde_json::to_string(body).expect("answers serialize");
    StoredResponse { status: status.as_u16(), content_type: "application/json".into(), body }
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
