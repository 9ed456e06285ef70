//! JSON over HTTP to systems outside Tally (the vending platform, the payment gateway) and, in the simulator, back
//! to Tally: one POST with a JSON body and a JSON answer, an auth header, and a time limit.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, header, Request};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use serde::{de::DeserializeOwned, Serialize};

/// Why a call got no usable answer. The request may or may not have been acted on.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("invalid URL {0}")]
    Url(String),
    #[error("no answer from {0}: {1}")]
    Unreachable(String, String),
    #[error("no answer from {0} within {1:?}")]
    TimedOut(String, Duration),
    #[error("{0} answered HTTP {1}")]
    Status(String, u16),
    #[error("{0} answered something that is not the expected JSON: {1}")]
    Answer(String, String),
}

impl CallError {
    /// Whether the other side answered and will answer the same again (a 4xx, or an answer that is not the expected
    /// JSON): retrying does not help. No answer, a time-out or a 5xx may.
    pub fn is_final(&self) -> bool {
        match self {
            CallError::Status(_, status) => (400..500).contains(status),
            CallError::Answer(..) | CallError::Url(_) => true,
            CallError::Unreachable(..) | CallError::TimedOut(..) => false,
        }
    }
}

/// A JSON client of one base URL, with the header that authenticates it there.
#[derive(Clone)]
pub struct JsonClient {
    http: Client<HttpConnector, Full<Bytes>>,
    base: String,
    auth: Option<(header::HeaderName, String)>,
    timeout: Duration,
}

impl JsonClient {
    /// A client of `base` (`http://host:port/prefix`), sending `auth` (a header and its value) with every call.
    pub fn new(base: &str, auth: Option<(header::HeaderName, String)>, timeout: Duration) -> JsonClient {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let http = Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        JsonClient { http, base: base.trim_end_matches('/').to_owned(), auth, timeout }
    }

    /// POSTs `body` to `path` and reads a 2xx answer as `R`.
    pub async fn post<B: Serialize, R: DeserializeOwned>(&self, path: &str, body: &B) -> Result<R, CallError> {
        let url = format!("{}{path}", self.base);
        let json = serde_json::to_vec(body).expect("request bodies serialize");
        let mut request = Request::post(&url).header(header::CONTENT_TYPE, "application/json");
        if let Some((name, value)) = &self.auth {
            request = request.header(name, value);
        }
        let request = request.body(Full::new(Bytes::from(json))).map_err(|_| CallError::Url(url.clone()))?;
        let call = async {
            let response =
                self.http.request(request).await.map_err(|e| CallError::Unreachable(url.clone(), e.to_string()))?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| CallError::Unreachable(url.clone(), e.to_string()))?
                .to_bytes();
            if !status.is_success() {
                return Err(CallError::Status(url.clone(), status.as_u16()));
            }
            serde_json::from_slice(&bytes).map_err(|e| CallError::Answer(url.clone(), e.to_string()))
        };
        tokio::time::timeout(self.timeout, call).await.map_err(|_| CallError::TimedOut(url.clone(), self.timeout))?
    }
}
