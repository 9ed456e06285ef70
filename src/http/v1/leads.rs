//! `/v1/leads/pipeline`: the pipeline figures of the merchant's leads (the leads themselves are Footprints').

use axum::{extract::State, Json};
use chrono::NaiveDate;
use serde::Deserialize;
use tally_projections::pipeline::{Dimension, Filter};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{identifier, staff, ApiError, ErrorBody, V1Caller, V1Query};
use crate::{
    http::Shared,
    leads::{self, PipelineReport},
};

pub fn routes() -> OpenApiRouter<Shared> {
    OpenApiRouter::new().routes(routes!(pipeline))
}

/// Which leads count, how to split them, and the period.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PipelineQuery {
    /// Only the leads of this location.
    #[param(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    location_id: Option<String>,
    /// Only the leads of this consultant.
    #[param(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    consultant_id: Option<String>,
    /// Only the leads of this channel.
    #[param(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    channel_id: Option<String>,
    /// Only the leads of this offer.
    #[param(pattern = r"^[A-Za-z0-9_-]{1,64}$")]
    offer_id: Option<String>,
    /// Split the stages by `location`, `consultant`, `channel` or `offer`.
    #[param(pattern = "^(location|consultant|channel|offer)$")]
    group_by: Option<String>,
    /// The period's first day, in the merchant's time zone (30 days before `to` when absent).
    from: Option<NaiveDate>,
    /// The period's last day, included (today when absent).
    to: Option<NaiveDate>,
}

/// The lead pipeline.
#[utoipa::path(get, path = "/leads/pipeline", tag = "v1", params(PipelineQuery), responses(
    (status = 200, description = "Counts, ages and actions due per status; what was added, converted and lost over \
        the period", body = PipelineReport),
    (status = 403, description = "Role client may not read the pipeline", body = ErrorBody),
    (status = 422, description = "A filter or date that cannot be used", body = ErrorBody),
))]
async fn pipeline(
    State(app): State<Shared>,
    V1Caller { 0: principal, .. }: V1Caller,
    V1Query { 0: query, .. }: V1Query<PipelineQuery>,
) -> Result<Json<PipelineReport>, ApiError> {
    staff(&principal)?;
    let mut filter = Filter::default();
    let narrowed = [
        (Dimension::Location, &query.location_id, "location_id"),
        (Dimension::Consultant, &query.consultant_id, "consultant_id"),
        (Dimension::Channel, &query.channel_id, "channel_id"),
        (Dimension::Offer, &query.offer_id, "offer_id"),
    ];
    for (dimension, value, name) in narrowed {
        if let Some(value) = value {
            filter.equal.push((dimension, identifier(value, name)?));
        }
    }
    let split = query
        .group_by
        .as_deref()
        .map(|name| {
            Dimension::parse(name)
                .ok_or_else(|| ApiError::invalid("group_by must be location, consultant, channel or offer"))
        })
        .transpose()?;
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if from > to {
            return Err(ApiError::invalid("from must not be after to"));
        }
    }
    let (db, reads, tenant) = (&app.db, &app.reads, &principal.tenant);
    let report = leads::pipeline_report(db, reads, tenant, &filter, split, (query.from, query.to)).await?;
    Ok(Json(report))
}
