//! `POST /api/token`: an application (an API client's id and secret, in HTTP Basic) asks for an access token for
//! itself (`client_credentials`), for a staff member by username and password (`password`) or by PIN (`pin`), or
//! for a new pair in exchange for its refresh token (`refresh_token`).

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{fields::Fields, form, ErrorBody, Footprints, Refused};
use crate::{
    auth::tokens::{GrantError, GrantRequest},
    http::{
        ingress::{self, Fault, Incoming, Responder},
        Shared,
    },
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(token))
}

/// The granted tokens, as the seed answers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = footprints::Token)]
pub struct TokenAnswer {
    access_token: String,
    /// Always `bearer`.
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// Good for one new pair (`grant_type=refresh_token`).
    refresh_token: String,
    /// `app_scope`, and `hostess_scope` when a staff member signed in.
    scope: Vec<&'static str>,
    /// The staff member who signed in (`password` and `pin` grants).
    #[serde(skip_serializing_if = "Option::is_none")]
    hostess_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hostess_id: Option<String>,
}

/// The grant a form asks for.
fn grant_request(fields: &Fields) -> Result<GrantRequest, Refused> {
    let grant_type = fields.text("grant_type", 64)?.ok_or_else(|| Refused::invalid("grant_type is required"))?;
    Ok(match grant_type.as_str() {
        "client_credentials" => GrantRequest::ClientCredentials,
        "password" => GrantRequest::Password {
            username: fields.required("username", 200)?,
            password: fields.required("password", 200)?,
        },
        "pin" => GrantRequest::Pin { pin: fields.required("pin", 64)? },
        "refresh_token" => GrantRequest::RefreshToken { refresh_token: fields.required("refresh_token", 128)? },
        other => {
            return Err(Refused::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("grant_type {other:?} is not one of client_credentials, password, pin, refresh_token"),
            ))
        }
    })
}

/// Get an access token.
#[utoipa::path(post, path = "/api/token", tag = "footprints-token",
    request_body(content_type = "application/x-www-form-urlencoded", description = "grant_type (client_credentials, \
        password, pin or refresh_token), with username and password, pin, or refresh_token"),
    responses(
        (status = 200, description = "The tokens", body = TokenAnswer),
        (status = 400, description = "invalid_request, unsupported_grant_type or invalid_grant (a wrong password, PIN \
            or refresh token)", body = ErrorBody),
        (status = 401, description = "invalid_client: the application's key and secret are missing or wrong", body = ErrorBody),
        (status = 413, description = "The body is larger than 256 KiB", body = ErrorBody),
        (status = 429, description = "too_many_attempts: five wrong PINs or passwords in 15 minutes", body = ErrorBody),
        (status = 503, description = "The store cannot answer now; retry", body = ErrorBody),
    ),
    security(("basic" = []))
)]
async fn token(State(app): State<Shared>, incoming: Incoming) -> Response {
    let admitted = match incoming.admitted(&app, Footprints.surface(), ingress::KeyPolicy::Optional).await {
        Ok(admitted) => admitted,
        Err(Fault::Unauthenticated | Fault::BadCredentials) => {
            let refused = Refused::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "the application's key and secret are missing or wrong: Authorization: Basic base64(key:secret)",
            );
            return refused.into_response();
        }
        Err(fault) => return Refused::from(fault).into_response(),
    };
    let content_type = incoming.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let request = match form::read(content_type, &admitted.body).map_err(Refused::invalid) {
        Ok(fields) => grant_request(&Fields(fields)),
        Err(refused) => Err(refused),
    };
    let request = match request {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    match app.auth.grant(&app.db, &admitted.principal, request, &app.tokens).await {
        Ok(granted) => {
            let expires_in = (granted.issued.expires_at - chrono::Utc::now()).num_seconds();
            let mut scope = vec!["app_scope"];
            if granted.staff.is_some() {
                scope.push("hostess_scope");
            }
            let answer = TokenAnswer {
                access_token: granted.issued.access_token,
                token_type: "bearer",
                expires_in,
                refresh_token: granted.issued.refresh_token,
                scope,
                hostess_name: granted.staff.as_ref().map(|member| member.name.clone()),
                hostess_id: granted.staff.map(|member| member.staff_id),
            };
            let mut response = Json(answer).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(GrantError::InvalidGrant) => Refused::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the username and password, the PIN or the refresh token is wrong",
        )
        .into_response(),
        Err(GrantError::Throttled(wait)) => {
            let refused = Refused::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many wrong attempts: try again in {} seconds", wait.as_secs().max(1)),
            );
            let mut response = refused.into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
            response
        }
        Err(GrantError::Store(error)) => Refused::from(error).into_response(),
    }
}
