//! sea-orm entities, one per table of `migration`.

pub mod api_token;
pub mod catalog_entry;
pub mod event;
pub mod image_inspection;
pub mod job;
pub mod login_failure;
pub mod operator;
pub mod session;
pub mod storage_upload;

#[cfg(test)]
mod tests {
    use app::model::{InspectionState, JobKind, JobStatus, SourceKind};
    use sea_orm::{ActiveEnum, Iterable};

    use super::job::DownloadMode;

    #[test]
    fn typed_columns_store_the_names_the_wire_and_the_old_rows_use() {
        for status in JobStatus::iter() {
            assert_eq!(status.to_value(), status.as_str());
        }
        for kind in JobKind::iter() {
            assert_eq!(kind.to_value(), kind.as_str());
        }
        for kind in SourceKind::iter() {
            assert_eq!(kind.to_value(), kind.as_str());
        }
        for state in InspectionState::iter() {
            assert_eq!(state.to_value(), state.as_str());
        }
        for mode in DownloadMode::iter() {
            assert_eq!(mode.to_value(), mode.as_str());
        }
        assert_eq!(
            JobStatus::iter().map(JobStatus::as_str).collect::<Vec<_>>(),
            ["queued", "running", "completed", "cancelled", "failed"]
        );
        assert!(JobStatus::try_from_value(&"done".to_owned()).is_err());
    }
}
