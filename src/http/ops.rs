//! Operational endpoints: liveness, readiness, Prometheus metrics and the OpenAPI document.

use axum::{
    body::Bytes,
    extract::State,
    http::{header::CONTENT_TYPE, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Shared;

/// Liveness, readiness and metrics, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(ready)).routes(routes!(metrics))
}

/// `/openapi.json`: the document, generated once from the routers that serve the requests.
pub fn document(document: String) -> Router<Shared> {
    let document = Bytes::from(document);
    Router::new().route(
        "/openapi.json",
        get(move || {
            let document = document.clone();
            async move { ([(CONTENT_TYPE, "application/json")], document) }
        }),
    )
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "ok", body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, description = "ready", body = String),
    (status = 503, description = "The database does not answer", body = String),
))]
async fn ready(State(app): State<Shared>) -> Response {
    match sqlx::query("SELECT 1").execute(&app.db.read).await {
        Ok(_) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(%error, "not ready: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Prometheus metrics, in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses(
    (status = 200, description = "The metrics", body = String, content_type = "text/plain"),
))]
async fn metrics(State(app): State<Shared>) -> Response {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], app.metrics.render()).into_response()
}
