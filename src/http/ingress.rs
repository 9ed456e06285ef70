//! The one ingress of every dialect: the body (within the size limit), authentication, the idempotency key, the
//! execution of the command, and the answers to what goes wrong there, each rendered by a per-request
//! [`Responder`] that knows the caller's dialect and format. A failure is logged once, with its real cause, where it
//! happens.

use std::{convert::Infallible, marker::PhantomData};

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Query, Request},
    http::{header::AUTHORIZATION, request::Parts, HeaderMap, Method, StatusCode, Uri},
    response::Response,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::de::DeserializeOwned;

use super::{stored, Shared};
use crate::{
    app::App,
    auth::{AuthError, Principal},
    commands::{Command, Outcome},
    store::{
        idempotency::{IdempotencyKey, StoredResponse},
        StoreError,
    },
};

/// Idempotency keys longer than this are refused.
const MAX_KEY_LENGTH: usize = 255;

/// What the ingress refuses, in every dialect; each [`Responder`] words it in its own envelope.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// The body is larger than [`super::MAX_BODY_BYTES`].
    BodyTooLarge,
    /// The body could not be read (broken off, or not what the content type says).
    BodyUnreadable(String),
    /// No credentials, or not in the dialect's scheme.
    Unauthenticated,
    /// Unknown client or wrong secret, or an unknown access token.
    BadCredentials,
    /// The access token has expired (refresh it).
    TokenExpired,
    /// A path or query parameter that cannot be read.
    InvalidParameter(String),
    /// The `Idempotency-Key` header is empty, too long or not text.
    InvalidIdempotencyKey,
    /// The surface needs an `Idempotency-Key` and none came.
    IdempotencyKeyRequired,
    /// The same key came with a different request.
    IdempotencyKeyReused,
    /// The store failed; the cause is logged, the caller learns nothing of it.
    Unavailable,
    /// The path is served, but not with this method (the router adds `Allow`).
    MethodNotAllowed(Method),
}

/// Answers a request in its caller's dialect and format.
pub trait Responder: Send + Sync + 'static {
    /// The surface's name in metrics and logs.
    fn surface(&self) -> &'static str;
    /// The dialect's answer to an ingress fault.
    fn fault(&self, fault: &Fault) -> StoredResponse;

    fn respond(&self, fault: &Fault) -> Response {
        stored(&self.fault(fault), false)
    }

    /// How the dialect's callers authenticate.
    fn scheme(&self) -> Scheme {
        Scheme::Basic
    }
}

/// How a dialect's callers present their credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// HTTP Basic: an API client's id and secret.
    Basic,
    /// HTTP Basic, or `X-API-Key: <client_id>:<secret>` (a vendor that sends one key).
    BasicOrApiKey,
    /// An access token from the token endpoint, as `Authorization: Bearer <token>` or `?access_token=<token>`.
    Bearer,
}

/// Logs a store failure once, with its cause, and gives the fault the caller is answered with.
pub fn outage(error: &StoreError, surface: &'static str) -> Fault {
    tracing::error!(%error, surface, "request failed in the store");
    Fault::Unavailable
}

/// The principal of the request's HTTP Basic credentials.
pub async fn authenticate(app: &App, headers: &HeaderMap, surface: &'static str) -> Result<Principal, Fault> {
    verify(app, basic_credentials(headers), surface).await
}

/// The principal of the request's credentials in the dialect's `scheme`.
pub async fn identify(
    app: &App,
    headers: &HeaderMap,
    uri: &Uri,
    scheme: Scheme,
    surface: &'static str,
) -> Result<Principal, Fault> {
    match scheme {
        Scheme::Basic => verify(app, basic_credentials(headers), surface).await,
        Scheme::BasicOrApiKey => {
            verify(app, basic_credentials(headers).or_else(|| api_key_credentials(headers)), surface).await
        }
        Scheme::Bearer => {
            let token = bearer_token(headers).or_else(|| query_token(uri)).ok_or(Fault::Unauthenticated)?;
            app.auth.verify_token(&app.db, &token).await.map_err(|error| credential_fault(error, surface))
        }
    }
}

fn credential_fault(error: AuthError, surface: &'static str) -> Fault {
    match error {
        AuthError::Invalid => Fault::BadCredentials,
        AuthError::Expired => Fault::TokenExpired,
        AuthError::Store(error) => outage(&error, surface),
    }
}

/// The principal of `credentials` (client id and secret).
async fn verify(app: &App, credentials: Option<(String, String)>, surface: &'static str) -> Result<Principal, Fault> {
    let (client_id, secret) = credentials.ok_or(Fault::Unauthenticated)?;
    app.auth.verify(&app.db, &client_id, &secret).await.map_err(|error| credential_fault(error, surface))
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned()).filter(|token| !token.is_empty())
}

/// The `access_token` query parameter, as Footprints' clients send it.
fn query_token(uri: &Uri) -> Option<String> {
    let query = uri.query()?;
    form_urlencoded_value(query, "access_token").filter(|token| !token.is_empty())
}

/// The first value of `name` in a URL-encoded query.
fn form_urlencoded_value(query: &str, name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    pairs.into_iter().find(|(key, _)| key == name).map(|(_, value)| value)
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// The client id and secret of an `X-API-Key: <client_id>:<secret>` header.
fn api_key_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let (id, secret) = headers.get("x-api-key")?.to_str().ok()?.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Whether a write must carry an `Idempotency-Key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPolicy {
    Optional,
    Required,
}

/// A write request as command handlers take it: method, URI, headers, and the body or why it could not be read
/// (too large, broken off), so that each dialect answers that in its own envelope.
pub struct Incoming {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
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

/// A write request that passed the ingress.
pub struct Admitted {
    pub principal: Principal,
    pub body: Bytes,
    /// The `Idempotency-Key`, scoped to the principal and fingerprinted with the request.
    pub key: Option<IdempotencyKey>,
}

impl Incoming {
    /// The body as far as it could be read: empty when it could not be (for sniffing a format before admission).
    pub fn body_bytes(&self) -> &[u8] {
        self.body.as_ref().map(|b| b.as_ref()).unwrap_or_default()
    }

    /// The body, the principal and the idempotency key, in that order; the first fault is answered by `responder`.
    pub async fn admit(&self, app: &App, responder: &impl Responder, policy: KeyPolicy) -> Result<Admitted, Response> {
        let (surface, scheme) = (responder.surface(), responder.scheme());
        self.admission(app, surface, scheme, policy).await.map_err(|fault| responder.respond(&fault))
    }

    /// [`Incoming::admit`], for dialects that answer (or log) the fault themselves.
    pub async fn admitted(&self, app: &App, surface: &'static str, policy: KeyPolicy) -> Result<Admitted, Fault> {
        self.admission(app, surface, Scheme::Basic, policy).await
    }

    async fn admission(
        &self,
        app: &App,
        surface: &'static str,
        scheme: Scheme,
        policy: KeyPolicy,
    ) -> Result<Admitted, Fault> {
        let body = self.body.as_ref().map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Fault::BodyTooLarge,
            _ => Fault::BodyUnreadable(rejection.body_text()),
        })?;
        let principal = identify(app, &self.headers, &self.uri, scheme, surface).await?;
        let key = self.idempotency_key(&principal, body)?;
        if key.is_none() && policy == KeyPolicy::Required {
            return Err(Fault::IdempotencyKeyRequired);
        }
        Ok(Admitted { principal, body: body.clone(), key })
    }

    /// The `Idempotency-Key` header, scoped to the principal and fingerprinted with the request.
    fn idempotency_key(&self, principal: &Principal, body: &[u8]) -> Result<Option<IdempotencyKey>, Fault> {
        let Some(value) = self.headers.get("idempotency-key") else {
            return Ok(None);
        };
        // 1 to 255 visible ASCII characters, spaces inside only: exactly what the OpenAPI document declares.
        let key = value.to_str().map_err(|_| Fault::InvalidIdempotencyKey)?;
        let visible = key.bytes().all(|b| (0x20..=0x7e).contains(&b)) && !key.starts_with(' ') && !key.ends_with(' ');
        if key.is_empty() || key.len() > MAX_KEY_LENGTH || !visible {
            return Err(Fault::InvalidIdempotencyKey);
        }
        Ok(Some(self.scoped_key(principal, key, body)))
    }

    /// A key of the principal's, fingerprinted with this request (for dialects whose own references are keys).
    pub fn scoped_key(&self, principal: &Principal, key: &str, body: &[u8]) -> IdempotencyKey {
        let path = self.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        IdempotencyKey::new(&principal.client_id, key, self.method.as_str(), path, body)
    }
}

/// Executes a command and answers with its rendered outcome, or with the responder's answer to a reused key or an
/// outage.
pub async fn execute(app: &App, command: Command, responder: &impl Responder) -> Response {
    let surface = responder.surface();
    let (label, response) = match app.executor.execute(command).await {
        Ok(Outcome::Executed { result, response: Some(response) }) => {
            (if result.is_ok() { "accepted" } else { "refused" }, stored(&response, false))
        }
        Ok(Outcome::Executed { response: None, .. }) => {
            tracing::error!(surface, "a command was executed without a renderer");
            ("failed", responder.respond(&Fault::Unavailable))
        }
        Ok(Outcome::Replayed(response)) => ("replayed", stored(&response, true)),
        Ok(Outcome::KeyReused) => ("key_reused", responder.respond(&Fault::IdempotencyKeyReused)),
        Err(error) => ("failed", responder.respond(&outage(&error, surface))),
    };
    metrics::counter!("tally_commands_total", "surface" => surface, "outcome" => label).increment(1);
    response
}

/// The authenticated caller of a read, rejected in the dialect `R`'s envelope. Put it first among a handler's
/// extractors: path and query parameters are then read only for an authenticated caller.
pub struct Caller<R>(pub Principal, PhantomData<R>);

impl<R: Responder + Default> FromRequestParts<Shared> for Caller<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, surface: &Shared) -> Result<Self, Response> {
        let responder = R::default();
        match identify(surface, &parts.headers, &parts.uri, responder.scheme(), responder.surface()).await {
            Ok(principal) => Ok(Caller(principal, PhantomData)),
            Err(fault) => Err(responder.respond(&fault)),
        }
    }
}

/// Declares an extractor that wraps axum's `$inner` and answers its rejection in the dialect `R`'s envelope, after
/// authentication: an anonymous caller learns nothing of the parameters, and is answered 401.
macro_rules! enveloped {
    ($(#[$doc:meta])* $name:ident wraps $inner:ident) => {
        $(#[$doc])*
        pub struct $name<T, R>(pub T, PhantomData<R>);

        impl<T, R> FromRequestParts<Shared> for $name<T, R>
        where
            T: DeserializeOwned + Send,
            R: Responder + Default,
        {
            type Rejection = Response;

            async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, Response> {
                match $inner::<T>::from_request_parts(parts, state).await {
                    Ok($inner(value)) => Ok($name(value, PhantomData)),
                    Err(rejection) => {
                        let responder = R::default();
                        let scheme = responder.scheme();
                        let fault = match identify(state, &parts.headers, &parts.uri, scheme, responder.surface()).await {
                            Ok(_) => Fault::InvalidParameter(rejection.body_text()),
                            Err(fault) => fault,
                        };
                        Err(responder.respond(&fault))
                    }
                }
            }
        }
    };
}

enveloped!(
    /// Path parameters, rejected in the dialect `R`'s envelope when they cannot be read.
    PathParams wraps Path
);
enveloped!(
    /// Query parameters, rejected in the dialect `R`'s envelope when they cannot be read.
    QueryParams wraps Query
);
