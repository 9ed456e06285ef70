//! Lead documents: `PUT /api/lead/{leadId}/{documentType}` takes up to five PDFs (`documents`, multipart/form-data)
//! of the seed's types (`contracts`, `offers`, `consents`), optionally for a lead action (`leadActionId`). Each is
//! sealed with the key of the lead's customer and kept outside the ledger; the event holds its SHA-256. `GET
//! /api/lead/{leadId}/documents/{documentId}` gives one back (not in the seed: how else would anyone read them).

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use tally_events::{DocumentType, LeadDocumentAttached};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{staff, write_with, Allowed, ErrorBody, FpCaller, FpPath, Planned, Refused, Then};
use crate::{
    app::App,
    auth::Principal,
    commands::Stream,
    domain::lead::{LeadAggregate, LeadCommand},
    http::{ingress::Incoming, Shared},
    leads,
    store::{documents, hex, object_id},
};

/// Files per upload, as the seed says.
pub const MAX_FILES: usize = 5;
/// The largest file taken.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// The largest upload taken (files and form together).
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .merge(OpenApiRouter::new().routes(routes!(download)))
}

/// An upload's path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UploadPath {
    /// The lead's id.
    lead_id: String,
    /// `contracts`, `offers` or `consents`.
    document_type: String,
}

/// A file as uploaded.
struct File {
    name: String,
    content: Bytes,
}

/// The files and the action of a multipart body.
struct Upload {
    files: Vec<File>,
    action_id: Option<String>,
}

/// Whether `content` looks like a PDF: its header, and an end-of-file marker near its end.
pub(super) fn is_pdf(content: &[u8]) -> bool {
    let tail = &content[content.len().saturating_sub(1024)..];
    content.starts_with(b"%PDF-") && tail.windows(5).any(|window| window == b"%%EOF")
}

/// A file name as kept: its last path segment, at most 200 characters.
fn file_name(name: &str) -> Option<String> {
    let name = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    (!name.is_empty() && name.chars().count() <= 200).then(|| name.to_owned())
}

async fn read_upload(content_type: &str, body: Bytes) -> Result<Upload, Refused> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| Refused::invalid("documents are sent as multipart/form-data"))?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut upload = Upload { files: Vec::new(), action_id: None };
    let unreadable = |error: multer::Error| Refused::invalid(format!("the multipart body cannot be read: {error}"));
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        match field.name() {
            Some("documents" | "documents[]") => {
                let name = field.file_name().and_then(file_name);
                let declared = field.content_type().map(|mime| mime.essence_str().to_owned());
                let content = field.bytes().await.map_err(unreadable)?;
                let name = name.ok_or_else(|| Refused::invalid("every document needs a file name"))?;
                if declared.as_deref() != Some("application/pdf") || !is_pdf(&content) {
                    return Err(Refused::invalid(format!("{name} is not a PDF (application/pdf)")));
                }
                if content.len() > MAX_FILE_BYTES {
                    return Err(Refused::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "payload_too_large",
                        format!("{name} is larger than {} MiB", MAX_FILE_BYTES / (1024 * 1024)),
                    ));
                }
                upload.files.push(File { name, content });
                if upload.files.len() > MAX_FILES {
                    return Err(Refused::invalid(format!("at most {MAX_FILES} documents per upload")));
                }
            }
            Some("leadActionId") => {
                let text = field.text().await.map_err(unreadable)?;
                upload.action_id = Some(text.trim().to_owned()).filter(|id| !id.is_empty());
            }
            _ => {}
        }
    }
    if upload.files.is_empty() {
        return Err(Refused::invalid("documents is required: one to five PDF files"));
    }
    Ok(upload)
}

/// Upload lead documents.
#[utoipa::path(put, path = "/api/lead/{lead_id}/{document_type}", tag = "footprints", params(UploadPath),
    request_body(content_type = "multipart/form-data", description = "documents: one to five PDF files \
        (application/pdf, at most 10 MiB each, 20 MiB in all); leadActionId: the lead action they belong to"),
    responses(
        (status = 200, description = "{\"status\": \"ok\", \"uploaded_files\": [<file names>]}"),
        (status = 400, description = "Not multipart, no documents, more than five, not a PDF, or an unknown \
            document type", body = ErrorBody),
        (status = 403, description = "Role client may not work on leads", body = ErrorBody),
        (status = 404, description = "No such lead, or no such action of it", body = ErrorBody),
        (status = 410, description = "The lead's customer was erased", body = ErrorBody),
        (status = 413, description = "A file larger than 10 MiB, or an upload larger than 20 MiB", body = ErrorBody),
    ))]
async fn upload(State(app): State<Shared>, FpPath { 0: path, .. }: FpPath<UploadPath>, incoming: Incoming) -> Response {
    let document_ids: Vec<String> = (0..MAX_FILES).map(|_| object_id()).collect();
    let ids = document_ids.clone();
    let read =
        |content_type: Option<&str>, body: &Bytes| Ok((content_type.unwrap_or_default().to_owned(), body.clone()));
    let plan = async |app: &App, principal: &Principal, (content_type, body): (String, Bytes)| {
        let document_type = DocumentType::parse(&path.document_type)
            .ok_or_else(|| Refused::invalid("the document type is one of contracts, offers, consents"))?;
        let upload = read_upload(&content_type, body).await?;
        let tenant = &principal.tenant;
        let lead = leads::lead(&app.db, tenant, &path.lead_id)
            .await?
            .ok_or_else(|| Refused::not_found("no lead with this id"))?;
        let mut attached = Vec::new();
        for (file, document_id) in upload.files.iter().zip(&ids) {
            let sealed = app.vault.seal_bytes(&app.db, tenant, lead.customer_id, &file.content).await?;
            documents::put(&app.db.write, tenant, document_id, &lead.lead_id, &sealed).await?;
            let file_name = app.vault.seal(&app.db, tenant, lead.customer_id, &json!(file.name)).await?;
            attached.push(LeadDocumentAttached {
                document_id: document_id.clone(),
                document_type,
                file_name,
                sha256: hex(&Sha256::digest(&file.content)),
                size_bytes: file.content.len() as u64,
                action_id: upload.action_id.clone(),
            });
        }
        Ok::<Planned, Refused>(LeadAggregate::target(lead.lead_id, LeadCommand::AttachDocuments(attached)).into())
    };
    // What is kept for a retry names the documents by id only; their file names are opened for each answer.
    let render = |envelopes: &[tally_events::Envelope]| {
        let ids: Vec<String> = envelopes
            .iter()
            .filter_map(|e| match e.event() {
                Ok(tally_events::Event::LeadDocumentAttached(e)) => Some(e.document_id),
                _ => None,
            })
            .collect();
        (StatusCode::OK, json!({ "status": "ok", "document_ids": ids }))
    };
    let then = Then::Upload { lead_id: path.lead_id.clone(), stored: document_ids };
    write_with(&app, incoming, Allowed::Staff, read, plan, render, then).await
}

/// The answer to an upload that went through: the seed's `uploaded_files`, and each document's id. A retry with the
/// same `Idempotency-Key` is answered with the first upload's documents; what the retry stored goes.
pub(super) async fn uploaded(app: &App, tenant: &str, lead_id: &str, stored: &[String], written: Response) -> Response {
    let replayed = written.headers().get("idempotency-hit").cloned();
    let answer = async {
        let body = axum::body::to_bytes(written.into_body(), 64 * 1024)
            .await
            .map_err(|_| Refused::invalid("the upload's answer could not be read"))?;
        let kept: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let ids: Vec<&str> = kept["document_ids"].as_array().into_iter().flatten().filter_map(|v| v.as_str()).collect();
        let unused: Vec<String> = stored.iter().filter(|id| !ids.contains(&id.as_str())).cloned().collect();
        documents::remove(&app.db.write, tenant, &unused).await?;
        let lead =
            leads::lead(&app.db, tenant, lead_id).await?.ok_or_else(|| Refused::not_found("no lead with this id"))?;
        let attached: Vec<_> = lead.documents.iter().filter(|d| ids.contains(&d.document_id.as_str())).collect();
        let names: Vec<&tally_events::Sealed> = attached.iter().map(|d| &d.file_name).collect();
        let names = app.vault.open_all(&app.db, tenant, &names).await?;
        let documents: Vec<serde_json::Value> = attached
            .iter()
            .zip(&names)
            .map(|(document, name)| json!({"_id": document.document_id, "fileName": name}))
            .collect();
        let files: Vec<&serde_json::Value> = names.iter().flatten().collect();
        Ok::<_, Refused>(axum::Json(json!({"status": "ok", "uploaded_files": files, "documents": documents})))
    };
    match answer.await {
        Ok(answer) => {
            let mut response = answer.into_response();
            if let Some(hit) = replayed {
                response.headers_mut().insert("idempotency-hit", hit);
            }
            response
        }
        Err(refused) => refused.into_response(),
    }
}

/// A document's path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DocumentPath {
    lead_id: String,
    document_id: String,
}

/// Download a lead document.
#[utoipa::path(get, path = "/api/lead/{lead_id}/documents/{document_id}", tag = "footprints", params(DocumentPath),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf"),
        (status = 403, description = "Role client may not read leads", body = ErrorBody),
        (status = 404, description = "No such document of this lead", body = ErrorBody),
        (status = 410, description = "The lead's customer was erased: the document can no longer be read", body = ErrorBody),
    ))]
async fn download(
    State(app): State<Shared>,
    FpCaller { 0: principal, .. }: FpCaller,
    FpPath { 0: path, .. }: FpPath<DocumentPath>,
) -> Response {
    let answer = async {
        staff(&principal)?;
        let tenant = &principal.tenant;
        let not_found = || Refused::not_found("no document with this id on this lead");
        let lead = leads::lead(&app.db, tenant, &path.lead_id).await?.ok_or_else(not_found)?;
        let sealed =
            documents::get(&app.db.read, tenant, &lead.lead_id, &path.document_id).await?.ok_or_else(not_found)?;
        let content = app.vault.open_bytes(&app.db, tenant, lead.customer_id, &sealed).await?.ok_or_else(|| {
            Refused::new(
                StatusCode::GONE,
                "customer_erased",
                "the customer was erased: the document can no longer be read",
            )
        })?;
        let mut response = content.into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
        Ok::<_, Refused>(response)
    };
    match answer.await {
        Ok(response) => response,
        Err(refused) => refused.into_response(),
    }
}
