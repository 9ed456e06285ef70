//! Footprints' customers and lead documents: finding, updating and erasing a customer, and what an erasure leaves.

mod common;

use common::footprints::{stage_counts, with_staff, LEAD};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tally_projections::rebuild::Views;

#[tokio::test]
async fn a_deleted_customer_is_erased_everywhere_and_the_counts_stay_exact() {
    let app = with_staff().await;
    let token = app.staff_token("marketer").await;
    let ana = app.add_lead(&token, LEAD).await;
    let again = app.add_lead(&token, &LEAD.replace("userFirstName=Ana", "userFirstName=Anna")).await;
    let bob = app.add_lead(&token, &LEAD.replace("ana@example.com", "bob@example.com").replace("Ana", "Bob")).await;
    let action = format!(
        "leadId={ana}&leadActionTypeId=000000000000000000000001&actionDetail=Ana+called&date=2026-05-01 10:00:00"
    );
    app.footprints(&token, Method::POST, "/api/lead/action", Some(&action)).await;
    let by_contact = "userEmail=ANA@example.com&userPhone=%2B0700000001";
    let found = app.footprints(&token, Method::GET, &format!("/api/client?{by_contact}"), None).await;
    assert_eq!(found.status, StatusCode::OK, "{:?}", found.body);
    assert_eq!(found.body["userFirstName"], "Anna", "the later lead's data lies over the earlier's");
    assert_eq!(found.body["leads"].as_array().unwrap().len(), 2);
    assert_eq!(found.body["leads"][0]["_id"], again.as_str(), "newest first");
    assert_eq!(found.body["type"], "B2C");

    let update = "userEmail=ana@example.com&userPhone=0700000001&nationalId=1900101123456&userCity=Cluj&interests[]=books&kidsAge[]=6";
    let updated = app.footprints(&token, Method::PUT, "/api/client", Some(update)).await;
    assert_eq!(updated.body, serde_json::json!({"status": "success"}), "{:?}", updated.body);
    let by_national = app.footprints(&token, Method::GET, "/api/client?nationalId=1900101123456", None).await;
    assert_eq!(by_national.body["userCity"], "Cluj");
    assert_eq!(by_national.body["interests"], serde_json::json!(["books"]));
    assert_eq!(by_national.body["kidsAge"], serde_json::json!([6]));
    assert_eq!(by_national.body["_id"], found.body["_id"]);

    let before = app.get("marketer", "/v1/leads/pipeline").await.body;
    let erased = app.footprints(&token, Method::DELETE, "/api/client?nationalId=1900101123456", None).await;
    assert_eq!(erased.body, serde_json::json!({"status": "success"}), "{:?}", erased.body);

    // Nobody finds them; what is kept of them has no person in it; the counts are as they were.
    for query in [by_contact.to_owned(), "nationalId=1900101123456".to_owned()] {
        let reply = app.footprints(&token, Method::GET, &format!("/api/client?{query}"), None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{query}");
    }
    let twice = app.footprints(&token, Method::DELETE, &format!("/api/client?{by_contact}"), None).await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
    let listed = app.footprints(&token, Method::GET, "/api/lead?pageSize=100", None).await.body;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3, "the leads stay");
    for lead in listed {
        let text = lead.to_string();
        if lead["_id"] == bob.as_str() {
            assert_eq!(lead["userFirstName"], "Bob");
        } else {
            assert!(lead.get("userFirstName").is_none() && !text.contains("ana@") && !text.contains("Lorem"), "{text}");
            assert_eq!(lead["status"], "lead");
        }
    }
    let actions = app.footprints(&token, Method::GET, &format!("/api/lead/actions/{ana}"), None).await.body;
    assert_eq!(actions["data"][0]["actionDetail"], Value::Null);
    assert_eq!(stage_counts(&app.get("marketer", "/v1/leads/pipeline").await.body), stage_counts(&before));
    let (key,): (Option<String>,) = sqlx::query_as("SELECT key FROM subject_keys WHERE erased_at IS NOT NULL")
        .fetch_one(&app.app.db.read)
        .await
        .unwrap();
    assert_eq!(key, None, "the key is destroyed");

    // A lead of theirs still moves through the pipeline, but takes no personal data.
    let status = app.footprints(&token, Method::PUT, &format!("/api/lead/{ana}"), Some("status=opportunity")).await;
    assert_eq!(status.status, StatusCode::OK, "{:?}", status.body);
    let personal = app.footprints(&token, Method::PUT, &format!("/api/lead/{ana}"), Some("userCity=Iasi")).await;
    assert_eq!((personal.status, personal.body["error"].as_str()), (StatusCode::GONE, Some("customer_erased")));

    // The person comes back: a new customer, with nothing of the old one.
    let back = app.add_lead(&token, LEAD).await;
    let found = app.footprints(&token, Method::GET, &format!("/api/client?{by_contact}"), None).await;
    assert_eq!(found.body["leads"].as_array().unwrap().len(), 1);
    assert_eq!(found.body["leads"][0]["_id"], back.as_str());
    assert_ne!(found.body["_id"], by_national.body["_id"]);
    assert!(found.body.get("userCity").is_none());

    let mut conn = app.app.db.read.acquire().await.unwrap();
    let live = Views::load_live(&mut conn).await.unwrap();
    let (rebuilt, _, _) = common::fold_ledger(&app.app.db).await;
    assert_eq!(rebuilt.compare(&live).iter().filter(|(_, _, equal)| !equal).count(), 0, "{:?}", rebuilt.compare(&live));
}

#[tokio::test]
async fn customer_calls_need_an_identity_and_the_staff() {
    let app = with_staff().await;
    let token = app.staff_token("marketer").await;
    app.add_lead(&token, LEAD).await;
    for query in ["", "userEmail=ana@example.com", "userPhone=0700000001", "userEmail=nope&userPhone=0700000001"] {
        let reply = app.footprints(&token, Method::GET, &format!("/api/client?{query}"), None).await;
        assert_eq!(
            (reply.status, reply.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{query}"
        );
    }
    let unknown =
        app.footprints(&token, Method::GET, "/api/client?userEmail=x@example.com&userPhone=0700000009", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad = app
        .footprints(
            &token,
            Method::PUT,
            "/api/client",
            Some("userEmail=ana@example.com&userPhone=0700000001&kidsAge[]=99"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{:?}", bad.body);
    let customer = app.app_token("client").await;
    let reply = app
        .footprints(&customer, Method::DELETE, "/api/client?userEmail=ana@example.com&userPhone=0700000001", None)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let stranger =
        app.token_request_as("other-administrator", "secret-administrator", "grant_type=client_credentials").await;
    let stranger = stranger.body["access_token"].as_str().unwrap().to_owned();
    let theirs = app
        .footprints(&stranger, Method::GET, "/api/client?userEmail=ana@example.com&userPhone=0700000001", None)
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "another merchant's customer is not found");
}

/// A part of a multipart/form-data body: name, file name, content type, content.
type Part<'a> = (&'a str, Option<&'a str>, &'a str, &'a [u8]);

/// A multipart/form-data body of `parts` and its content type.
fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "tally-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, file_name, content_type, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = match file_name {
            Some(file) => format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n"),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(format!("Content-Type: {content_type}\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn pdf(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj << /Title ({text}) >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n").into_bytes()
}

#[tokio::test]
async fn documents_are_pdfs_kept_sealed_outside_the_ledger_and_erased_with_their_customer() {
    let app = with_staff().await;
    let token = app.staff_token("marketer").await;
    let lead = app.add_lead(&token, LEAD).await;
    let action = format!("leadId={lead}&leadActionTypeId=000000000000000000000005&date=2026-05-01 10:00:00");
    let action = app.footprints(&token, Method::POST, "/api/lead/action", Some(&action)).await.body["_id"].clone();
    let action = action.as_str().unwrap();
    let upload = async |path: &str, parts: &[Part<'_>]| {
        let (content_type, body) = multipart(parts);
        let url = format!("{}{path}?access_token={token}", app.base);
        let response = app.http.put(url).header("content-type", content_type).body(body).send().await.unwrap();
        let status = response.status();
        (status, response.json::<Value>().await.unwrap_or(Value::Null))
    };
    let (contract, consent) = (pdf("Contract of Ana Pop"), pdf("Consent of Ana Pop"));
    let path = format!("/api/lead/{lead}/contracts");
    let (status, body) = upload(
        &path,
        &[
            ("documents", Some("contract-ana.pdf"), "application/pdf", &contract),
            ("documents", Some("C:\\scans\\consent-ana.pdf"), "application/pdf", &consent),
            ("leadActionId", None, "text/plain", action.as_bytes()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["uploaded_files"], serde_json::json!(["contract-ana.pdf", "consent-ana.pdf"]));
    let document = body["documents"][0]["_id"].as_str().unwrap().to_owned();

    let listed = app.footprints(&token, Method::GET, "/api/lead?pageSize=100", None).await.body;
    let documents = &listed[0]["documents"];
    assert_eq!(documents.as_array().unwrap().len(), 2);
    assert_eq!(documents[0]["documentType"], "contracts");
    assert_eq!(documents[0]["leadActionId"], action);
    assert_eq!(documents[0]["size"], contract.len());
    let sha: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&contract).iter().map(|b| format!("{b:02x}")).collect()
    };
    assert_eq!(documents[0]["sha256"], sha.as_str());
    let download = format!("{}/api/lead/{lead}/documents/{document}?access_token={token}", app.base);
    let got = app.http.get(&download).send().await.unwrap();
    assert_eq!(got.headers()["content-type"], "application/pdf");
    assert_eq!(got.bytes().await.unwrap().to_vec(), contract);
    let stored: Vec<(Vec<u8>,)> =
        sqlx::query_as("SELECT content FROM lead_documents").fetch_all(&app.app.db.read).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|(content,)| !content.windows(7).any(|w| w == b"Ana Pop")), "contents are sealed");
    let (events,): (String,) =
        sqlx::query_as("SELECT payload FROM events WHERE event_type = 'LeadDocumentAttached' LIMIT 1")
            .fetch_one(&app.app.db.read)
            .await
            .unwrap();
    assert!(!events.contains("contract-ana"), "file names are sealed: {events}");

    // What the seed does not allow is refused, and leaves nothing behind.
    let before = (app.event_count().await, stored.len());
    let big = {
        let mut big = pdf("big");
        big.splice(9..9, vec![b' '; 10 * 1024 * 1024 + 1]);
        big
    };
    let six: Vec<Part<'_>> =
        (0..6).map(|_| ("documents", Some("x.pdf"), "application/pdf", contract.as_slice())).collect();
    let cases: Vec<(String, Vec<Part<'_>>, StatusCode)> = vec![
        (path.clone(), vec![("documents", Some("note.pdf"), "application/pdf", b"hello")], StatusCode::BAD_REQUEST),
        (path.clone(), vec![("documents", Some("c.pdf"), "text/plain", &contract)], StatusCode::BAD_REQUEST),
        (path.clone(), vec![("documents", None, "application/pdf", &contract)], StatusCode::BAD_REQUEST),
        (path.clone(), vec![("other", Some("c.pdf"), "application/pdf", &contract)], StatusCode::BAD_REQUEST),
        (path.clone(), six, StatusCode::BAD_REQUEST),
        (path.clone(), vec![("documents", Some("big.pdf"), "application/pdf", &big)], StatusCode::PAYLOAD_TOO_LARGE),
        (
            format!("/api/lead/{lead}/invoices"),
            vec![("documents", Some("c.pdf"), "application/pdf", &contract)],
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/lead/000000000000000000000000/offers".to_owned(),
            vec![("documents", Some("c.pdf"), "application/pdf", &contract)],
            StatusCode::NOT_FOUND,
        ),
        (
            path.clone(),
            vec![
                ("documents", Some("c.pdf"), "application/pdf", &contract),
                ("leadActionId", None, "text/plain", b"nope"),
            ],
            StatusCode::NOT_FOUND,
        ),
    ];
    for (path, parts, expected) in cases {
        let (status, body) = upload(&path, &parts).await;
        assert_eq!(status, expected, "{path}: {body:?}");
        assert_eq!(body["status"], "error", "{path}: {body:?}");
    }
    let not_multipart = app.footprints(&token, Method::PUT, &path, Some("documents=x")).await;
    assert_eq!(not_multipart.status, StatusCode::BAD_REQUEST);
    let (rows,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM lead_documents").fetch_one(&app.app.db.read).await.unwrap();
    assert_eq!((app.event_count().await, rows as usize), before, "nothing was written or kept");

    // Erased with their customer: the content no longer opens.
    let erased = app
        .footprints(&token, Method::DELETE, "/api/client?userEmail=ana@example.com&userPhone=0700000001", None)
        .await;
    assert_eq!(erased.status, StatusCode::OK);
    let gone = app.http.get(&download).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::GONE);
    let listed = app.footprints(&token, Method::GET, "/api/lead?pageSize=100", None).await.body;
    assert_eq!(listed[0]["documents"][0]["fileName"], Value::Null);
    assert_eq!(listed[0]["documents"][0]["sha256"], sha.as_str(), "the ledger's record of it stays");
}
