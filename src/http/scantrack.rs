//! ScanTrack (Closebys / Cardlesspay) under `POST /scantrack`: a merchant's POS reports a coupon use as the seed's
//! `<ScanTrackRequest><barcode><src/><aid/><id/><iid/><key/></barcode></ScanTrackRequest>`, or as the same shape in
//! JSON (`{"barcode": {"src": …}}`). The answer comes in the caller's format: `<ScanTrackResponse>` with `result`
//! `accepted` (counted now), `duplicate` (counted before, e.g. by the mobile device) or `refused` (with `reason`
//! `cap_reached` or `ended`; the refusal is recorded), HTTP 200; errors carry `result` `error`, a `reason` code and a
//! `message`, with a 4xx status. "Standard authentication header fields" are HTTP Basic auth with the merchant's
//! API client. The POS's `iid` doubles as the idempotency key when no `Idempotency-Key` header is sent.

use axum::{
    extract::State,
    http::{header::CONTENT_TYPE, HeaderMap, Method, StatusCode},
    response::Response,
};
use serde::{Deserialize, Serialize};
use tally_events::{Envelope, Event, ScanChannel};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    ingress::{self, Fault, Incoming, KeyPolicy, Responder},
    stored, wording, Shared,
};
use crate::{
    app::App,
    commands::Command,
    domain::Refusal,
    scans::{self, ScanError, ScanReport},
    store::idempotency::StoredResponse,
};

/// The ScanTrack operation, with its OpenAPI description.
pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(scan))
}

/// The answer to a method `/scantrack` does not serve: 405 in the format the caller declared (axum adds `Allow`).
pub async fn method_not_allowed(method: Method, headers: HeaderMap) -> Response {
    ScanTrack { format: Format::of(&headers, &[]) }.respond(&Fault::MethodNotAllowed(method))
}

/// The wire format of a request, and so of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xml,
    Json,
}

impl Format {
    /// By Content-Type; without one, a body starting with `<` is XML.
    fn of(headers: &HeaderMap, body: &[u8]) -> Format {
        let declared = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if declared.contains("json") {
            Format::Json
        } else if declared.contains("xml") || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<') {
            Format::Xml
        } else {
            Format::Json
        }
    }
}

/// A coupon use reported by the POS.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename = "ScanTrackRequest")]
#[schema(as = ScanTrackRequest)]
struct Request {
    #[schema(required = true)]
    barcode: Option<Barcode>,
}

/// The scanned barcode's fields.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = scantrack::Barcode)]
struct Barcode {
    /// The business.
    #[schema(pattern = r"^\s*[A-Za-z0-9_.-]{1,64}\s*$")]
    src: Option<String>,
    /// The wallet item, when the coupon came from a wallet.
    #[schema(pattern = r"^\s*[A-Za-z0-9_.-]{0,64}\s*$")]
    aid: Option<String>,
    /// The promotion (the network item).
    #[schema(pattern = r"^\s*[A-Za-z0-9_.-]{1,64}\s*$")]
    id: Option<String>,
    /// The POS's id of this scan: a retry with the same `iid` is answered as the first time.
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    iid: Option<String>,
    /// The customer, when known.
    #[schema(max_length = 128, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    key: Option<String>,
}

/// ScanTrack's answer, in the caller's format: `result` `accepted` (counted now), `duplicate` (counted before) or
/// `refused` (with `reason` `cap_reached` or `ended`; the refusal is recorded); `error` with a `reason` code and a
/// `message` otherwise.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename = "ScanTrackResponse")]
#[schema(as = ScanTrackResponse)]
struct Answer {
    #[schema(pattern = "^(accepted|duplicate|refused|error)$")]
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    use_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    promotion: Option<String>,
}

impl Answer {
    fn error(reason: &str, message: impl Into<String>) -> Answer {
        Answer {
            result: "error",
            reason: Some(reason.into()),
            message: Some(message.into()),
            use_id: None,
            promotion: None,
        }
    }

    fn stored(&self, status: StatusCode, format: Format) -> StoredResponse {
        let (content_type, body) = match format {
            Format::Json => ("application/json", serde_json::to_string(self).expect("answers serialize")),
            Format::Xml => {
                let xml = quick_xml::se::to_string(self).expect("answers serialize");
                ("application/xml", format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{xml}"))
            }
        };
        StoredResponse { status: status.as_u16(), content_type: content_type.into(), body }
    }
}

/// A ScanTrack error: its status, reason code and message.
fn fault(status: StatusCode, reason: &str, message: impl Into<String>, format: Format) -> StoredResponse {
    Answer::error(reason, message).stored(status, format)
}

/// ScanTrack's responder: errors in the format of the caller's request.
struct ScanTrack {
    format: Format,
}

impl Responder for ScanTrack {
    fn surface(&self) -> &'static str {
        "scantrack"
    }

    fn fault(&self, refusal: &Fault) -> StoredResponse {
        let (status, reason, message) = match refusal {
            Fault::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLarge", wording::fault(refusal).2),
            Fault::BodyUnreadable(detail) | Fault::InvalidParameter(detail) => {
                (StatusCode::BAD_REQUEST, "MalformedRequest", detail.clone())
            }
            Fault::InvalidIdempotencyKey => {
                (StatusCode::BAD_REQUEST, "InvalidIdempotencyKey", wording::fault(refusal).2)
            }
            Fault::IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "IdempotencyKeyReused",
                "this idempotency key (or iid) was used with a different request".into(),
            ),
            other => wording::fault(other),
        };
        fault(status, reason, message, self.format)
    }
}

impl ScanTrack {
    fn scan_fault(&self, error: ScanError) -> StoredResponse {
        match error {
            ScanError::Store(error) => self.fault(&ingress::outage(&error, self.surface())),
            error => {
                let (status, reason) = wording::scan_status(&error);
                fault(status, reason, error.to_string(), self.format)
            }
        }
    }
}

fn parse(body: &[u8], format: Format) -> Result<ScanReport, StoredResponse> {
    let request: Result<Request, String> = match format {
        Format::Json => serde_json::from_slice(body).map_err(|e| e.to_string()),
        Format::Xml => std::str::from_utf8(body)
            .map_err(|e| e.to_string())
            .and_then(|text| quick_xml::de::from_str(text).map_err(|e| e.to_string())),
    };
    let request = request.map_err(|e| fault(StatusCode::BAD_REQUEST, "MalformedRequest", e, format))?;
    let barcode = request.barcode.ok_or_else(|| {
        fault(StatusCode::BAD_REQUEST, "MalformedRequest", "a ScanTrackRequest holds one barcode", format)
    })?;
    Ok(ScanReport { src: barcode.src, aid: barcode.aid, id: barcode.id, iid: barcode.iid, key: barcode.key })
}

/// The answer to a decided use: accepted, duplicate, or refused with its reason.
fn render(result: &Result<Vec<Envelope>, Refusal>, promotion: &str, use_id: &str, format: Format) -> StoredResponse {
    let answer = |result, reason: Option<String>| Answer {
        result,
        reason,
        message: None,
        use_id: Some(use_id.to_owned()),
        promotion: Some(promotion.to_owned()),
    };
    let events = match result {
        Ok(envelopes) => envelopes.iter().filter_map(|e| e.event().ok()).collect::<Vec<_>>(),
        Err(refusal) => return fault(StatusCode::CONFLICT, refusal.code(), wording::message(refusal), format),
    };
    let answer = match events.first() {
        Some(Event::CouponUsed(_)) => answer("accepted", None),
        Some(Event::CouponScanRefused(e)) => {
            let reason = serde_json::to_value(e.reason).ok().and_then(|v| v.as_str().map(str::to_owned));
            answer("refused", reason)
        }
        _ => answer("duplicate", None),
    };
    answer.stored(StatusCode::OK, format)
}

/// Report a coupon use from the POS: `<ScanTrackRequest>` XML, or the same shape in JSON. `iid` doubles as the
/// idempotency key when no `Idempotency-Key` header is sent.
#[utoipa::path(post, path = "/scantrack", tag = "scantrack",
    request_body(content((Request = "application/xml"), (Request = "application/json"))),
    responses(
        (status = 200, description = "Accepted, duplicate or refused",
            content((Answer = "application/xml"), (Answer = "application/json"))),
        (status = 400, description = "The body cannot be read as a ScanTrackRequest, or a field is missing or invalid",
            content((Answer = "application/xml"), (Answer = "application/json"))),
        (status = 403, description = "The business or the promotion is another merchant's",
            content((Answer = "application/xml"), (Answer = "application/json"))),
        (status = 404, description = "No such business, promotion or wallet item",
            content((Answer = "application/xml"), (Answer = "application/json"))),
        (status = 422, description = "The wallet item is another promotion's, or the key (or iid) was used with another request",
            content((Answer = "application/xml"), (Answer = "application/json"))),
    )
)]
async fn scan(State(app): State<Shared>, incoming: Incoming) -> Response {
    let responder = ScanTrack { format: Format::of(&incoming.headers, incoming.body_bytes()) };
    match prepare(&app, &incoming, &responder).await {
        Ok(command) => ingress::execute(&app, command, &responder).await,
        Err(response) => {
            tracing::warn!(status = %response.status(), "ScanTrack request refused");
            response
        }
    }
}

async fn prepare(app: &App, incoming: &Incoming, responder: &ScanTrack) -> Result<Command, Response> {
    let format = responder.format;
    let admitted = incoming.admit(app, responder, KeyPolicy::Optional).await?;
    let principal = admitted.principal;
    let report = parse(&admitted.body, format).map_err(|response| stored(&response, false))?;
    // The POS's `iid` doubles as the idempotency key when no `Idempotency-Key` header is sent.
    let iid = report.iid.as_deref().map(str::trim).filter(|iid| !iid.is_empty());
    let key = admitted
        .key
        .or_else(|| iid.map(|iid| incoming.scoped_key(&principal, &format!("scantrack-iid:{iid}"), &admitted.body)));
    let scans::UseCommand { promotion, use_id, target } =
        scans::use_command(app, &principal.tenant, &report, ScanChannel::Pos)
            .await
            .map_err(|error| stored(&responder.scan_fault(error), false))?;
    let mut command = Command::new(&principal.tenant, principal.actor(), target);
    command.idempotency = key;
    let label = format!("{}/{}", promotion.business_id, promotion.promotion_id);
    command.render = Some(Box::new(move |result| render(result, &label, &use_id, format)));
    Ok(command)
}
