//! The catalog's record of what image bytes are: an inspection job's
//! finding, stored by content SHA-256 (so the unified view, the listings
//! and the byte routes read one answer for the same bytes, whichever rows
//! name them), written through the catalog service, which tells open
//! pages.

use std::collections::HashMap;

use app::model::InspectionState;
use sea_orm::{sea_query::OnConflict, DbErr, EntityTrait, Set};

use super::Catalog;
use crate::{
    clock,
    db::entity::image_inspection::{self, Entity as ImageInspections},
    inspect::{Inspection, State},
};

/// The stored form of a finding.
pub type Finding = image_inspection::Model;

impl Catalog {
    /// Records what the bytes with `sha256` are, replacing an earlier
    /// finding (a re-upload, a new download inspects again).
    pub async fn record_inspection(
        &self,
        sha256: &str,
        inspection: &Inspection,
    ) -> Result<Finding, DbErr> {
        let finding = to_row(sha256, inspection);
        let active = image_inspection::ActiveModel {
            sha256: Set(finding.sha256.clone()),
            format: Set(finding.format.clone()),
            uncompressed_size: Set(finding.uncompressed_size),
            uncompressed_sha256: Set(finding.uncompressed_sha256.clone()),
            state: Set(finding.state),
            reason: Set(finding.reason.clone()),
            partition_table: Set(finding.partition_table.clone()),
            inspected_at: Set(finding.inspected_at.clone()),
        };
        let columns = [
            image_inspection::Column::Format,
            image_inspection::Column::UncompressedSize,
            image_inspection::Column::UncompressedSha256,
            image_inspection::Column::State,
            image_inspection::Column::Reason,
            image_inspection::Column::PartitionTable,
            image_inspection::Column::InspectedAt,
        ];
        ImageInspections::insert(active)
            .on_conflict(
                OnConflict::column(image_inspection::Column::Sha256)
                    .update_columns(columns)
                    .to_owned(),
            )
            .exec(&self.core.db)
            .await?;
        self.changed();
        Ok(finding)
    }

    /// The finding for the bytes with `sha256`, if they were inspected.
    pub async fn inspection(&self, sha256: &str) -> Result<Option<Finding>, DbErr> {
        ImageInspections::find_by_id(sha256.to_owned())
            .one(&self.core.db)
            .await
    }

    /// Every finding, by sha.
    pub async fn findings(&self) -> Result<HashMap<String, Finding>, DbErr> {
        all(&self.core.db).await
    }

    /// Why the bytes with `sha256` must not be offered (unsafe or corrupt),
    /// or `None` when they may (ok, or not inspected yet).
    pub async fn refusal(&self, sha256: Option<&str>) -> Result<Option<String>, DbErr> {
        let Some(sha256) = sha256 else {
            return Ok(None);
        };
        Ok(self
            .inspection(sha256)
            .await?
            .filter(|finding| finding.state.is_refused())
            .map(|finding| refusal_text(&finding)))
    }
}

/// Every finding, by sha.
pub async fn all(db: &sea_orm::DatabaseConnection) -> Result<HashMap<String, Finding>, DbErr> {
    Ok(ImageInspections::find()
        .all(db)
        .await?
        .into_iter()
        .map(|finding| (finding.sha256.clone(), finding))
        .collect())
}

/// `image is unsafe: <reason>`, the detail of a refused byte route.
pub fn refusal_text(finding: &Finding) -> String {
    let reason = finding.reason.as_deref().unwrap_or("no reason recorded");
    format!("image is {}: {reason}", finding.state.as_str())
}

fn to_row(sha256: &str, inspection: &Inspection) -> Finding {
    let (state, reason) = match &inspection.state {
        State::Ok => (InspectionState::Ok, None),
        State::Unsafe { reason } => (InspectionState::Unsafe, Some(reason.clone())),
        State::Corrupt { error } => (InspectionState::Corrupt, Some(error.clone())),
    };
    Finding {
        sha256: sha256.to_owned(),
        format: inspection.format.catalog_name().to_owned(),
        uncompressed_size: inspection
            .uncompressed_size
            .map(|size| i64::try_from(size).unwrap_or(i64::MAX)),
        uncompressed_sha256: inspection.uncompressed_sha256.clone(),
        state,
        reason,
        partition_table: inspection.partition_table.map(|t| t.label().to_owned()),
        inspected_at: clock::now_iso(),
    }
}
