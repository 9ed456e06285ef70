//! Enactor's CustomerService over SOAP (Apache Axis2 style) at `/axis2/services/CustomerService`: the same
//! operations as the REST surface, SOAP 1.1 and 1.2, document/literal, with the WSDL at `?wsdl`. Operation wrappers
//! are in the `core` namespace, payloads in `retail`. Refusals are SOAP faults (`Client`/`Sender` for the caller's
//! mistakes, `Server`/`Receiver` for an outage) with the refusal's HTTP status and Enactor's `errorCode` in the
//! detail: 4xx rather than SOAP 1.1's blanket 500, so that a caller's mistake never reads as a server error.

mod render;

use std::collections::HashMap;

use axum::{
    extract::State,
    http::{
        header::{CONTENT_TYPE, HOST},
        HeaderMap, Method, StatusCode, Uri,
    },
    response::{IntoResponse, Response},
};
use quick_xml::{
    escape::escape,
    events::Event,
    name::{Namespace, ResolveResult},
    NsReader,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use rust_decimal::Decimal;

use super::{
    accounts::{self, AccountQuery, Scope},
    customers, subject,
    updates::{self, BalanceUpdate, DeviceKey, Step},
    Refused,
};
use crate::{
    app::App,
    auth::Principal,
    http::{
        ingress::{Admitted, Fault, Incoming, KeyPolicy, Responder},
        stored, wording, Shared,
    },
    queries::CustomerSearch,
    store::idempotency::StoredResponse,
};

const CORE: &str = "http://www.enactor.com/core";
const RETAIL: &str = "http://www.enactor.com/retail";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const WSDL: &str = include_str!("CustomerService.wsdl");

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(wsdl, call))
}

/// The SOAP version of a request, and so of its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    Soap11,
    Soap12,
}

impl Version {
    const SOAP11: &'static str = "http://schemas.xmlsoap.org/soap/envelope/";
    const SOAP12: &'static str = "http://www.w3.org/2003/05/soap-envelope";

    /// By Content-Type (`application/soap+xml` is 1.2), else by the envelope's namespace appearing in the body.
    fn of(headers: &HeaderMap, body: &[u8]) -> Version {
        let declared = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let soap12 = declared.contains("application/soap+xml")
            || body.windows(Self::SOAP12.len()).any(|w| w == Self::SOAP12.as_bytes());
        if soap12 {
            Version::Soap12
        } else {
            Version::Soap11
        }
    }

    fn namespace(self) -> &'static str {
        match self {
            Version::Soap11 => Self::SOAP11,
            Version::Soap12 => Self::SOAP12,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Version::Soap11 => "text/xml; charset=utf-8",
            Version::Soap12 => "application/soap+xml; charset=utf-8",
        }
    }

    /// `body` in an envelope of this version.
    fn stored(self, status: StatusCode, body: &str) -> StoredResponse {
        let envelope = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{}"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#,
            self.namespace()
        );
        StoredResponse { status: status.as_u16(), content_type: self.content_type().into(), body: envelope }
    }

    fn answer(self, status: StatusCode, body: &str) -> Response {
        stored(&self.stored(status, body), false)
    }

    fn fault(self, refused: Refused) -> Response {
        stored(&self.fault_stored(refused), false)
    }

    /// A refusal as a SOAP fault of this version.
    fn fault_stored(self, refused: Refused) -> StoredResponse {
        let detail = format!(
            r#"<core:errorMessage xmlns:core="{CORE}"><core:errorCode>{}</core:errorCode><core:messageText>{}</core:messageText></core:errorMessage>"#,
            refused.code,
            escape(refused.text.as_str())
        );
        let text = escape(refused.text.as_str());
        let server = refused.status.is_server_error();
        let body = match self {
            Version::Soap11 => {
                let code = if server { "Server" } else { "Client" };
                format!(
                    "<soapenv:Fault><faultcode>soapenv:{code}</faultcode><faultstring>{text}</faultstring>\
                     <detail>{detail}</detail></soapenv:Fault>"
                )
            }
            Version::Soap12 => {
                let code = if server { "Receiver" } else { "Sender" };
                format!(
                    "<soapenv:Fault><soapenv:Code><soapenv:Value>soapenv:{code}</soapenv:Value></soapenv:Code>\
                     <soapenv:Reason><soapenv:Text xml:lang=\"en\">{text}</soapenv:Text></soapenv:Reason>\
                     <soapenv:Detail>{detail}</soapenv:Detail></soapenv:Fault>"
                )
            }
        };
        self.stored(refused.status, &body)
    }
}

/// The SOAP responder: ingress faults (credentials, body) as SOAP faults of the caller's version.
struct Soap(Version);

impl Responder for Soap {
    fn surface(&self) -> &'static str {
        "enactor"
    }

    fn fault(&self, fault: &Fault) -> StoredResponse {
        let (status, code, text) = wording::fault(fault);
        self.0.fault_stored(Refused::new(status, code, text))
    }
}

/// The answer to a method the service does not serve: 405, as a SOAP fault (axum adds `Allow`).
pub async fn method_not_allowed(method: Method, headers: HeaderMap) -> Response {
    let (status, code, text) = wording::fault(&Fault::MethodNotAllowed(method));
    Version::of(&headers, &[]).fault(Refused::new(status, code, text))
}

/// The service's WSDL, with its address as the caller reached it. Public, as SOAP tooling fetches it before it
/// has credentials; it holds no data.
#[utoipa::path(get, path = "/axis2/services/CustomerService", tag = "enactor-wsdl",
    params(("wsdl" = String, Query, allow_reserved, description = "Present (any value or none): the WSDL")),
    responses(
        (status = 200, description = "The WSDL", body = String, content_type = "text/xml"),
        (status = 400, description = "Not `?wsdl`", body = String, content_type = "text/plain"),
    )
)]
async fn wsdl(headers: HeaderMap, uri: Uri) -> Response {
    let query = uri.query().unwrap_or_default();
    let only_wsdl = !query.is_empty() && query.split('&').all(|part| part.split('=').next() == Some("wsdl"));
    if !only_wsdl {
        return (StatusCode::BAD_REQUEST, "the WSDL is at ?wsdl; operations are SOAP POSTs").into_response();
    }
    let host = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let address = format!("http://{}/axis2/services/CustomerService", escape(host));
    ([(CONTENT_TYPE, "text/xml; charset=utf-8")], WSDL.replace("{ADDRESS}", &address)).into_response()
}

/// One SOAP call: `submitCustomerNameSearch`, `submitLoyaltyAccountSearch`, `submitAccountBalanceEnquiry`,
/// `submitAccountBalanceUpdate` or `submitOrCancelAccountBalanceUpdate`, in a SOAP 1.1 or 1.2 envelope (see the WSDL
/// at `?wsdl`).
#[utoipa::path(post, path = "/axis2/services/CustomerService", tag = "enactor-soap",
    request_body(content(("text/xml"), ("application/soap+xml")), description = "A SOAP envelope"),
    responses(
        (status = 200, description = "The operation's answer, in the request's SOAP version",
            content((String = "text/xml"), (String = "application/soap+xml"))),
        (status = 400, description = "A malformed envelope, wrong namespaces or an unknown operation (a fault)",
            content((String = "text/xml"), (String = "application/soap+xml"))),
        (status = 403, description = "A customer's own session may not search customers or post updates (a fault)",
            content((String = "text/xml"), (String = "application/soap+xml"))),
        (status = 422, description = "Invalid search text or page, a malformed update, or a till's update key \
            reused with a different update (a fault)",
            content((String = "text/xml"), (String = "application/soap+xml"))),
    )
)]
async fn call(State(app): State<Shared>, incoming: Incoming) -> Response {
    let sniffed = Version::of(&incoming.headers, incoming.body_bytes());
    let admitted = match incoming.admit(&app, &Soap(sniffed), KeyPolicy::Optional).await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let call = match parse(&admitted.body) {
        Ok(call) => call,
        Err(refused) => return sniffed.fault(refused),
    };
    let version = call.version;
    let subject = subject(&incoming.headers);
    let step = match call.operation.as_str() {
        "submitAccountBalanceUpdate" => Some(Step::Post),
        "submitOrCancelAccountBalanceUpdate" => Some(Step::Settle),
        _ => None,
    };
    if let Some(step) = step {
        return match update(&app, &incoming, &admitted, &call, step).await {
            Ok(response) => response,
            Err(refused) => version.fault(refused),
        };
    }
    let answered = match call.operation.as_str() {
        "submitCustomerNameSearch" | "submitCustomerPostcodeSearch" => {
            customer_search(&app, &admitted.principal, &call).await
        }
        "submitLoyaltyAccountSearch" => {
            let criteria = call.criteria();
            match accounts::find(&app, &admitted.principal.tenant, subject.as_deref(), criteria, Scope::Every).await {
                Ok(found) => Ok(render::account_search(found)),
                Err(refused) => Err(refused),
            }
        }
        _ => match accounts::find(&app, &admitted.principal.tenant, subject.as_deref(), call.criteria(), Scope::First)
            .await
        {
            Ok(found) => {
                let (outcome, enquired) = accounts::single(found);
                let mut body = format!(r#"<core:submitAccountBalanceEnquiryResponse xmlns:core="{CORE}">"#);
                render::enquiry(&mut body, outcome, enquired);
                body.push_str("</core:submitAccountBalanceEnquiryResponse>");
                Ok(body)
            }
            Err(refused) => Err(refused),
        },
    };
    match answered {
        Ok(body) => version.answer(StatusCode::OK, &body),
        Err(refused) => version.fault(refused),
    }
}

/// What a call asks: its version, operation and the text of every leaf of its request.
struct Call {
    version: Version,
    operation: String,
    fields: HashMap<String, String>,
}

impl Call {
    fn field(&self, name: &str) -> Option<String> {
        self.fields.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn criteria(&self) -> AccountQuery {
        AccountQuery {
            account_type: self.field("accountType"),
            account_id: self.field("accountId"),
            pan: self.field("pan"),
            hashed_pan: self.field("hashedPan"),
            currency_id: self.field("currencyId"),
            location_id: self.field("locationId"),
        }
    }
}

/// The operations and the request element each wraps.
const OPERATIONS: [(&str, &str); 6] = [
    ("submitCustomerNameSearch", "customerNameSearchRequest"),
    ("submitCustomerPostcodeSearch", "customerPostcodeSearchRequest"),
    ("submitLoyaltyAccountSearch", "loyaltyAccountSearchRequest"),
    ("submitAccountBalanceEnquiry", "accountBalanceEnquiryRequest"),
    ("submitAccountBalanceUpdate", "accountBalanceUpdate"),
    ("submitOrCancelAccountBalanceUpdate", "accountBalanceUpdate"),
];

fn malformed(text: impl Into<String>) -> Refused {
    Refused::new(StatusCode::BAD_REQUEST, "InvalidRequest", text)
}

/// Reads an envelope: `Envelope/Body/core:<operation>/retail:<request>/…`, every leaf below the request by its
/// local name.
fn parse(body: &[u8]) -> Result<Call, Refused> {
    let text = std::str::from_utf8(body).map_err(|_| malformed("the envelope is not UTF-8"))?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut path: Vec<(String, String)> = Vec::new();
    let (mut version, mut operation, mut fields) = (None, None, HashMap::new());
    loop {
        let (namespace, event) = reader.read_resolved_event().map_err(|e| malformed(format!("malformed XML: {e}")))?;
        let namespace = match namespace {
            ResolveResult::Bound(Namespace(ns)) => String::from_utf8_lossy(ns).into_owned(),
            _ => String::new(),
        };
        match event {
            Event::Start(ref element) | Event::Empty(ref element) => {
                let local = String::from_utf8_lossy(element.local_name().as_ref()).into_owned();
                match path.len() {
                    0 => {
                        version = match (namespace.as_str(), local.as_str()) {
                            (Version::SOAP11, "Envelope") => Some(Version::Soap11),
                            (Version::SOAP12, "Envelope") => Some(Version::Soap12),
                            _ => return Err(malformed("not a SOAP 1.1 or 1.2 Envelope")),
                        }
                    }
                    2 if path[1].1 == "Body" => {
                        if namespace != CORE {
                            return Err(malformed(format!("the operation must be in the namespace {CORE}")));
                        }
                        let known = OPERATIONS.iter().find(|(name, _)| *name == local);
                        operation = Some(known.ok_or_else(|| malformed(format!("unknown operation {local}")))?);
                    }
                    3 if operation.is_some() => {
                        let wanted = operation.map(|(_, request)| *request).unwrap_or_default();
                        if namespace != RETAIL || local != wanted {
                            return Err(malformed(format!("the operation wraps a retail:{wanted} ({RETAIL})")));
                        }
                    }
                    depth if depth > 3 && operation.is_some() && namespace == RETAIL => {
                        fields.entry(local.clone()).or_insert_with(String::new);
                    }
                    _ => {}
                }
                if matches!(event, Event::Start(_)) {
                    path.push((namespace, local));
                }
            }
            Event::Text(text) if path.len() > 4 => {
                let value = text.unescape().map_err(|e| malformed(format!("malformed XML: {e}")))?;
                if let Some((_, local)) = path.last() {
                    fields.insert(local.clone(), value.into_owned());
                }
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let version = version.ok_or_else(|| malformed("no Envelope"))?;
    let (operation, _) = operation.ok_or_else(|| malformed("no operation in the Body"))?;
    Ok(Call { version, operation: (*operation).to_owned(), fields })
}

/// A customer name or postcode search.
async fn customer_search(app: &App, principal: &Principal, call: &Call) -> Result<String, Refused> {
    let number = |name: &str| -> Result<Option<i64>, Refused> {
        call.field(name).map(|v| v.parse().map_err(|_| malformed(format!("{name} must be a whole number")))).transpose()
    };
    let text = |name: &str| call.fields.get(name).cloned().unwrap_or_default();
    let page = (number("rowOffset")?.unwrap_or(0), number("rowCount")?);
    let (name, postcode) = (text("searchName"), text("postcode"));
    let search = match call.operation.as_str() {
        "submitCustomerPostcodeSearch" => CustomerSearch::Postcode(&postcode),
        _ => CustomerSearch::Name(&name),
    };
    let list = customers::search_customers(app, principal, search, page).await?;
    Ok(render::paged_array_list(&call.operation, &list))
}

/// A balance update, posted (`submitAccountBalanceUpdate`) or settling a `PENDING` one
/// (`submitOrCancelAccountBalanceUpdate`), as over REST; the outcome is stored for retries as the SOAP answer.
async fn update(
    app: &App,
    incoming: &Incoming,
    admitted: &Admitted,
    call: &Call,
    step: Step,
) -> Result<Response, Refused> {
    let invalid = |text: String| Refused::new(StatusCode::UNPROCESSABLE_ENTITY, "InvalidRequest", text);
    let millis = |name: &str| -> Result<Option<i64>, Refused> {
        call.field(name)
            .map(|v| v.parse().map_err(|_| invalid(format!("{name} must be epoch milliseconds"))))
            .transpose()
    };
    let amount = call.field("updateAmount").ok_or_else(|| invalid("updateAmount is required".into()))?;
    let update = BalanceUpdate {
        kind: updates::balance_update(),
        transaction_id: call.field("transactionId").unwrap_or_default(),
        // `<deviceId><id>…</id></deviceId>` as over REST, or the id as the element's text.
        device_id: DeviceKey {
            kind: updates::device_key(),
            id: call.field("id").or_else(|| call.field("deviceId")).unwrap_or_default(),
        },
        location_id: call.field("locationId"),
        account_id: call.field("accountId"),
        account_type: call.field("accountType"),
        card_number: call.field("cardNumber"),
        currency_id: call.field("currencyId"),
        update_amount: amount.parse::<Decimal>().map_err(|_| invalid("updateAmount must be a decimal".into()))?,
        date_time_updated: millis("dateTimeUpdated")?,
        expiry_time: millis("expiryTime")?,
        status: call.field("status"),
        reference_id: call.field("referenceId"),
        original_transaction_id: call.field("originalTransactionId"),
        original_transaction_device_id: call.field("originalTransactionDeviceId"),
    };
    let (version, operation) = (call.version, call.operation.clone());
    let render =
        move |response: &updates::UpdateResponse| version.stored(StatusCode::OK, &render::update(&operation, response));
    updates::apply(app, incoming, admitted, update, step, render, &Soap(version)).await
}
