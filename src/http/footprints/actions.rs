//! Lead actions: add (`POST /api/lead/action`), update (`PUT /api/lead/action/{actionId}`), a lead's actions
//! (`GET /api/lead/actions/{leadId}`) and the action types (`GET /api/lead/action-types`). The seed shows the two
//! lists as `[ data: [...] ]`, which is not JSON; they are answered as `{"data": [...]}`.

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    answer, fields::Fields, leads::sealed_text, staff, write, Allowed, ErrorBody, FpCaller, FpPath, Refused, Then,
};
use crate::{
    app::App,
    auth::Principal,
    commands::Stream,
    domain::lead::{LeadAggregate, LeadCommand},
    http::{ingress::Incoming, Shared},
    leads::{self, ACTION_TYPES, ACTION_TYPES_DECLARED},
    store::object_id,
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new()
        .routes(routes!(add_action))
        .routes(routes!(update_action))
        .routes(routes!(lead_actions))
        .routes(routes!(action_types))
}

fn action_type(fields: &Fields) -> Result<Option<String>, Refused> {
    match fields.id("leadActionTypeId")? {
        Some(id) if leads::action_type(&id).is_none() => Err(Refused::invalid(format!(
            "leadActionTypeId {id:?} is not an action type (GET /api/lead/action-types lists them)"
        ))),
        id => Ok(id),
    }
}

/// The seed's answer to a write on an action: its id.
fn done(action_id: String) -> impl Fn(&[tally_events::Envelope]) -> (StatusCode, Value) + Send + Sync + 'static {
    move |_| (StatusCode::OK, json!({"status": "success", "_id": action_id}))
}

/// Add a lead action.
#[utoipa::path(post, path = "/api/lead/action", tag = "footprints",
    request_body(content_type = "application/x-www-form-urlencoded", description = "leadId, leadActionTypeId, \
        actionDetail, date (Y-m-d H:i:s); all but actionDetail are required"),
    responses(
        (status = 200, description = "{\"status\": \"success\", \"_id\": <the action's id>}"),
        (status = 400, description = "A field is missing or not an accepted value", body = ErrorBody),
        (status = 403, description = "Role client may not work on leads", body = ErrorBody),
        (status = 404, description = "No such lead", body = ErrorBody),
        (status = 410, description = "The lead's customer was erased: the request carries personal data of theirs", body = ErrorBody),
    ))]
async fn add_action(State(app): State<Shared>, incoming: Incoming) -> Response {
    let action_id = object_id();
    let id = action_id.clone();
    let plan = async |app: &App, principal: &Principal, fields: Fields| {
        let lead_id = fields.id("leadId")?.ok_or_else(|| Refused::invalid("leadId is required"))?;
        let action_type_id = action_type(&fields)?.ok_or_else(|| Refused::invalid("leadActionTypeId is required"))?;
        let date = fields.datetime("date")?.ok_or_else(|| Refused::invalid("date is required"))?;
        let lead = leads::lead(&app.db, &principal.tenant, &lead_id)
            .await?
            .ok_or_else(|| Refused::not_found("no lead with this id"))?;
        let detail = sealed_text(app, &principal.tenant, lead.customer_id, &fields, "actionDetail").await?;
        let command = LeadCommand::AddAction { action_id: id, action_type_id, detail, date };
        Ok(LeadAggregate::target(lead.lead_id, command).into())
    };
    write(&app, incoming, Allowed::Staff, plan, done(action_id), Then::Rendered).await
}

/// An action's path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ActionPath {
    /// The action's id.
    action_id: String,
}

/// Update a lead action.
#[utoipa::path(put, path = "/api/lead/action/{action_id}", tag = "footprints", params(ActionPath),
    request_body(content_type = "application/x-www-form-urlencoded", description = "leadActionTypeId, actionDetail, \
        date (Y-m-d H:i:s); leadId, when given, must be the action's lead"),
    responses(
        (status = 200, description = "{\"status\": \"success\", \"_id\": <the action's id>}"),
        (status = 400, description = "A field is not an accepted value", body = ErrorBody),
        (status = 403, description = "Role client may not work on leads", body = ErrorBody),
        (status = 404, description = "No such action", body = ErrorBody),
        (status = 410, description = "The lead's customer was erased: the request carries personal data of theirs", body = ErrorBody),
    ))]
async fn update_action(
    State(app): State<Shared>,
    FpPath { 0: path, .. }: FpPath<ActionPath>,
    incoming: Incoming,
) -> Response {
    let action_id = path.action_id.clone();
    let plan = async |app: &App, principal: &Principal, fields: Fields| {
        let not_found = || Refused::not_found("no lead action with this id");
        let action = leads::action(&app.db, &principal.tenant, &path.action_id).await?.ok_or_else(not_found)?;
        if fields.id("leadId")?.is_some_and(|lead_id| lead_id != action.lead_id) {
            return Err(Refused::invalid("leadId is not the action's lead"));
        }
        let lead = leads::lead(&app.db, &principal.tenant, &action.lead_id).await?.ok_or_else(not_found)?;
        let command = LeadCommand::UpdateAction {
            action_id: action.action_id,
            action_type_id: action_type(&fields)?,
            date: fields.datetime("date")?,
            detail: sealed_text(app, &principal.tenant, lead.customer_id, &fields, "actionDetail").await?,
        };
        Ok(LeadAggregate::target(lead.lead_id, command).into())
    };
    write(&app, incoming, Allowed::Staff, plan, done(action_id), Then::Rendered).await
}

/// A lead's path.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LeadActionsPath {
    /// The lead's id.
    lead_id: String,
}

/// A lead's actions.
#[utoipa::path(get, path = "/api/lead/actions/{lead_id}", tag = "footprints", params(LeadActionsPath), responses(
    (status = 200, description = "{\"data\": [<action>, …]}, by date"),
    (status = 403, description = "Role client may not read leads", body = ErrorBody),
    (status = 404, description = "No such lead", body = ErrorBody),
))]
async fn lead_actions(
    State(app): State<Shared>,
    FpCaller { 0: principal, .. }: FpCaller,
    FpPath { 0: path, .. }: FpPath<LeadActionsPath>,
) -> Response {
    let answer = async {
        staff(&principal)?;
        let tenant = &principal.tenant;
        leads::lead(&app.db, tenant, &path.lead_id).await?.ok_or_else(|| Refused::not_found("no lead with this id"))?;
        let mut data = Vec::new();
        for action in leads::actions(&app.db, tenant, &path.lead_id).await? {
            data.push(answer::action(&action, leads::open_detail(&app, &action).await?));
        }
        Ok::<_, Refused>(Json(json!({ "data": data })))
    };
    answer.await.into_response()
}

/// The lead action types.
#[utoipa::path(get, path = "/api/lead/action-types", tag = "footprints", responses(
    (status = 200, description = "{\"data\": [{\"_id\", \"name\", \"createdAt\"}, …]}"),
))]
async fn action_types(_: FpCaller) -> Json<Value> {
    let data: Vec<Value> = ACTION_TYPES
        .iter()
        .map(|(id, name)| json!({"_id": id, "name": name, "createdAt": ACTION_TYPES_DECLARED}))
        .collect();
    Json(json!({ "data": data }))
}
