//! `GET /events`: the audit log with the reference's filters (§6).

use std::collections::HashMap;

use app::model::{EventList, EventsFilter};
use axum::{
    extract::{Query, State},
    Json,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    audit,
    auth::Operator,
    error::{ApiError, ErrorBody},
    state::AppState,
};

/// Page size when `limit` is absent.
const DEFAULT_LIMIT: u64 = 50;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_events))
}

/// The audit log, newest first; all given filters must match.
#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    params(
        EventsFilter,
        ("limit" = Option<i64>, Query, description = "At most this many: 1 to 500, default 50"),
    ),
    responses(
        (status = 200, description = "The events", body = EventList),
        (status = 401, description = "Login required", body = ErrorBody),
        (status = 422, description = "`before_id` or `limit` is not an integer", body = ErrorBody),
    ),
    security(("cookie" = []), ("bearer" = []))
)]
async fn list_events(
    _operator: Operator,
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<EventList>, ApiError> {
    let (filter, limit) = parse_filter(&query)?;
    let events = audit::list(&state.db, &filter, limit).await?;
    Ok(Json(EventList { events }))
}

/// Reads the filters; a non-integer `before_id` or `limit` is a 422.
fn parse_filter(query: &HashMap<String, String>) -> Result<(EventsFilter, u64), ApiError> {
    let text = |key: &str| query.get(key).cloned();
    let integer = |key: &str| -> Result<Option<i64>, ApiError> {
        query
            .get(key)
            .map(|value| {
                value.trim().parse::<i64>().map_err(|_| {
                    ApiError::invalid_field(
                        &["query", key],
                        "Input should be a valid integer, unable to parse string as an integer",
                        value.clone(),
                    )
                })
            })
            .transpose()
    };
    let limit = integer("limit")?
        .map(|l| u64::try_from(l.max(1)).unwrap_or(1))
        .unwrap_or(DEFAULT_LIMIT);
    // Unlike the page, the JSON API keeps empty strings as given (as the
    // reference does).
    let filter = EventsFilter {
        kind: text("kind"),
        subject_kind: text("subject_kind"),
        subject_id: text("subject_id"),
        actor: text("actor"),
        source_ip: text("source_ip"),
        failed: query.get("failed").is_some_and(|v| !v.is_empty()),
        before_id: integer("before_id")?,
    };
    Ok((filter, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn limits_default_to_fifty_and_clamp_low_values_to_one() {
        assert_eq!(parse_filter(&query(&[])).unwrap().1, 50);
        assert_eq!(parse_filter(&query(&[("limit", "-5")])).unwrap().1, 1);
    }

    #[test]
    fn a_non_integer_before_id_is_refused() {
        let error = parse_filter(&query(&[("before_id", "x")])).unwrap_err();
        assert_eq!(error.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn any_non_empty_failed_value_selects_failures() {
        assert!(parse_filter(&query(&[("failed", "1")])).unwrap().0.failed);
        assert!(!parse_filter(&query(&[("failed", "")])).unwrap().0.failed);
    }
}
