//! Enactor's CustomerService over SOAP, on the wire: envelopes in, envelopes and faults out. (The standard SOAP
//! client run in `scripts/soap_client_test.py` calls every operation of the WSDL with zeep.)

mod common;

use common::{spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::json;

const PATH: &str = "/axis2/services/CustomerService";
const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";

/// Posts `body` as the till, with `content_type`; the status, the content type and the text of the answer.
async fn post(app: &TestApp, content_type: &str, body: String, auth: bool) -> (StatusCode, String, String) {
    let mut request = app.http.post(format!("{}{PATH}", app.base)).header("content-type", content_type).body(body);
    if auth {
        let (id, secret) = common::credentials("cc_operator");
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    (status, content_type, response.text().await.unwrap())
}

fn envelope(soap: &str, operation: &str) -> String {
    format!(r#"<soapenv:Envelope xmlns:soapenv="{soap}"><soapenv:Body>{operation}</soapenv:Body></soapenv:Envelope>"#)
}

fn name_search(text: &str) -> String {
    format!(
        r#"<ns:submitCustomerNameSearch xmlns:ns="http://www.enactor.com/core"><retail:customerNameSearchRequest xmlns:retail="http://www.enactor.com/retail"><retail:searchName>{text}</retail:searchName><retail:types/></retail:customerNameSearchRequest></ns:submitCustomerNameSearch>"#
    )
}

#[tokio::test]
async fn a_name_search_as_the_vendor_sends_it_is_answered_with_the_paged_array_list() {
    let app = spawn_app().await;
    app.register_contact(json!({"code": "C1", "name": "Anna Petrova", "mobile_number": "+79990000101"})).await;
    let (status, content_type, body) = post(&app, "text/xml", envelope(SOAP11, &name_search("a")), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(content_type.starts_with("text/xml"));
    assert!(body.contains(r#"totalRows="1""#) && body.contains("<retail:id>C1</retail:id>"), "{body}");
    // SOAP 1.2 is answered in SOAP 1.2.
    let (status, content_type, body) =
        post(&app, "application/soap+xml", envelope(SOAP12, &name_search("petr")), true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(content_type.starts_with("application/soap+xml") && body.contains(SOAP12), "{body}");
}

#[tokio::test]
async fn bad_envelopes_are_faults_in_the_callers_soap_version_and_write_nothing() {
    let app = spawn_app().await;
    let before = app.event_count().await;
    let wrong_namespace = r#"<ns:submitCustomerNameSearch xmlns:ns="urn:other"/>"#;
    let unknown = r#"<ns:submitCustomerDelete xmlns:ns="http://www.enactor.com/core"/>"#;
    let wrong_request =
        r#"<ns:submitCustomerNameSearch xmlns:ns="http://www.enactor.com/core"><x/></ns:submitCustomerNameSearch>"#;
    for (body, wanted) in [
        ("<not-closed".to_owned(), "malformed XML"),
        ("<Envelope/>".to_owned(), "not a SOAP"),
        (envelope(SOAP11, wrong_namespace), "namespace"),
        (envelope(SOAP11, unknown), "unknown operation submitCustomerDelete"),
        (envelope(SOAP11, wrong_request), "customerNameSearchRequest"),
        (envelope(SOAP11, &name_search(" ")), "searchName"),
    ] {
        let (status, _, answer) = post(&app, "text/xml", body.clone(), true).await;
        assert!(status.is_client_error(), "{body}: {status}");
        assert!(answer.contains("<faultcode>soapenv:Client</faultcode>") && answer.contains(wanted), "{answer}");
        assert!(answer.contains("<core:errorCode>InvalidRequest</core:errorCode>"), "{answer}");
    }
    let (status, content_type, answer) = post(&app, "application/soap+xml", envelope(SOAP12, unknown), true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(content_type.starts_with("application/soap+xml"));
    assert!(answer.contains("<soapenv:Value>soapenv:Sender</soapenv:Value>"), "{answer}");
    let (status, _, answer) = post(&app, "text/xml", envelope(SOAP11, &name_search("a")), false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(answer.contains("<core:errorCode>Unauthorized</core:errorCode>"), "{answer}");
    assert_eq!(app.event_count().await, before);
}

#[tokio::test]
async fn the_wsdl_names_the_address_the_caller_used_and_other_methods_are_refused() {
    let app = spawn_app().await;
    let wsdl = app.http.get(format!("{}{PATH}?wsdl", app.base)).send().await.unwrap();
    assert_eq!(wsdl.status(), StatusCode::OK);
    let text = wsdl.text().await.unwrap();
    let host = app.base.trim_start_matches("http://");
    assert!(text.contains(&format!(r#"<soap:address location="http://{host}{PATH}"/>"#)), "{text}");
    for operation in [
        "submitCustomerNameSearch",
        "submitLoyaltyAccountSearch",
        "submitAccountBalanceEnquiry",
        "submitAccountBalanceUpdate",
        "submitOrCancelAccountBalanceUpdate",
    ] {
        assert!(text.contains(&format!(r#"soapAction="urn:{operation}""#)), "{operation}");
    }
    let bare = app.http.get(format!("{}{PATH}", app.base)).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::BAD_REQUEST);
    let put = app.http.put(format!("{}{PATH}", app.base)).send().await.unwrap();
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(put.headers()["allow"], "GET,HEAD,POST");
    assert!(put.text().await.unwrap().contains("<core:errorCode>MethodNotAllowed</core:errorCode>"));
}

fn balance_update(operation: &str, fields: &str) -> String {
    format!(
        r#"<ns:{operation} xmlns:ns="http://www.enactor.com/core"><retail:accountBalanceUpdate xmlns:retail="http://www.enactor.com/retail"><retail:transactionId>T-1</retail:transactionId><retail:deviceId><retail:id>pos1@0001.enactor</retail:id></retail:deviceId><retail:accountId>C1</retail:accountId>{fields}</retail:accountBalanceUpdate></ns:{operation}>"#
    )
}

#[tokio::test]
async fn a_balance_update_over_soap_is_applied_once_and_a_bad_one_is_a_fault_that_writes_nothing() {
    let app = spawn_app().await;
    app.register_contact(json!({"code": "C1", "name": "Anna Petrova", "mobile_number": "+79990000101"})).await;
    let earn = envelope(
        SOAP11,
        &balance_update("submitAccountBalanceUpdate", "<retail:updateAmount>12.5</retail:updateAmount>"),
    );
    let (status, _, first) = post(&app, "text/xml", earn.clone(), true).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert!(first.contains("<retail:outcome><retail:name>Success</retail:name></retail:outcome>"), "{first}");
    assert!(first.contains("<retail:updateAmount>12.5</retail:updateAmount>"), "{first}");
    let events = app.event_count().await;
    let (_, _, retry) = post(&app, "text/xml", earn, true).await;
    assert_eq!((retry, app.event_count().await), (first, events), "a retry is the first answer and applies nothing");

    // Settling a transaction that reserved nothing is the outcome Fail, in SOAP 1.2 as asked.
    let settle = balance_update(
        "submitOrCancelAccountBalanceUpdate",
        "<retail:updateAmount>-1</retail:updateAmount><retail:status>CANCELLED</retail:status>",
    );
    let (status, _, answer) = post(&app, "application/soap+xml", envelope(SOAP12, &settle), true).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer.contains("<core:submitOrCancelAccountBalanceUpdateResponse") && answer.contains("Fail"), "{answer}");
    assert!(answer.contains("reserved no points"), "{answer}");

    for (fields, wanted) in [
        ("<retail:updateAmount>ten</retail:updateAmount>", "updateAmount must be a decimal"),
        ("", "updateAmount is required"),
        ("<retail:updateAmount>5</retail:updateAmount><retail:status>PENDING</retail:status>", "PENDING"),
        ("<retail:updateAmount>1</retail:updateAmount><retail:expiryTime>soon</retail:expiryTime>", "expiryTime"),
    ] {
        let body = envelope(SOAP11, &balance_update("submitAccountBalanceUpdate", fields));
        let (status, _, answer) = post(&app, "text/xml", body, true).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{fields}: {answer}");
        assert!(answer.contains("<faultcode>soapenv:Client</faultcode>") && answer.contains(wanted), "{answer}");
    }
    assert_eq!(app.event_count().await, events);
}
