//! Slows down password guessing: after a few failed logins from one
//! address, further attempts from it are refused for a while that doubles
//! with each failure (up to a cap), and a success clears the slate. The
//! count is kept in the database (`login_failures`), so every replica on
//! it sees the same one.

use std::time::Duration;

use sea_orm::{
    sea_query::{Expr, OnConflict},
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, ExprTrait, QueryFilter, Set,
};

use crate::{
    clock,
    db::entity::login_failure::{self, Entity as LoginFailures},
};

/// Failures allowed before attempts are refused.
const FREE_FAILURES: u32 = 5;
/// The first wait; each further failure doubles it.
const FIRST_WAIT: Duration = Duration::from_secs(10);
/// The longest wait.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// Failures older than this are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(30 * 60);

/// The throttle; cheap to clone.
#[derive(Clone)]
pub struct LoginThrottle {
    db: DatabaseConnection,
}

impl LoginThrottle {
    pub fn new(db: DatabaseConnection) -> Self {
        LoginThrottle { db }
    }

    /// `Some(seconds)` to wait when `address` may not try now.
    pub async fn wait_for(&self, address: &str) -> Result<Option<u64>, DbErr> {
        let row = LoginFailures::find_by_id(address.to_owned())
            .one(&self.db)
            .await?;
        Ok(row.and_then(|row| {
            let failures = u32::try_from(row.failures).unwrap_or_default();
            wait_left(failures, row.last_failed_at, clock::now_epoch())
        }))
    }

    /// One more failed login from `address`.
    pub async fn record_failure(&self, address: &str) -> Result<(), DbErr> {
        let now = clock::now_epoch();
        // Stale counts start again from one, as if never made.
        LoginFailures::delete_many()
            .filter(login_failure::Column::LastFailedAt.lt(now - FORGET_AFTER.as_secs_f64()))
            .exec(&self.db)
            .await?;
        let first = login_failure::ActiveModel {
            address: Set(address.to_owned()),
            failures: Set(1),
            last_failed_at: Set(now),
        };
        let counted = Expr::col((LoginFailures, login_failure::Column::Failures)).add(1);
        LoginFailures::insert(first)
            .on_conflict(
                OnConflict::column(login_failure::Column::Address)
                    .value(login_failure::Column::Failures, counted)
                    .update_column(login_failure::Column::LastFailedAt)
                    .to_owned(),
            )
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// A successful login from `address`: its failures are forgotten.
    pub async fn record_success(&self, address: &str) -> Result<(), DbErr> {
        LoginFailures::delete_by_id(address.to_owned())
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

/// Seconds still to wait at `now` after `failures` failures, the last at
/// `last` (seconds since the epoch); `None` when an attempt may be made.
fn wait_left(failures: u32, last: f64, now: f64) -> Option<u64> {
    if now - last >= FORGET_AFTER.as_secs_f64() {
        return None;
    }
    let over = failures.checked_sub(FREE_FAILURES)?;
    let wait = FIRST_WAIT
        .checked_mul(1u32.checked_shl(over).unwrap_or(u32::MAX))
        .unwrap_or(MAX_WAIT)
        .min(MAX_WAIT);
    let left = last + wait.as_secs_f64() - now;
    (left > 0.0).then(|| Ord::max(left.ceil() as u64, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: f64 = 1_000_000.0;

    #[test]
    fn a_few_failures_are_free_then_waits_grow() {
        for failures in 0..FREE_FAILURES {
            assert_eq!(wait_left(failures, START, START), None);
        }
        assert_eq!(wait_left(FREE_FAILURES, START, START), Some(10));
        assert_eq!(wait_left(FREE_FAILURES + 1, START, START), Some(20));
        assert_eq!(wait_left(FREE_FAILURES + 1, START, START + 19.5), Some(1));
        assert_eq!(wait_left(FREE_FAILURES + 1, START, START + 21.0), None);
    }

    #[test]
    fn waits_are_capped_and_old_failures_forgotten() {
        assert_eq!(wait_left(100, START, START), Some(MAX_WAIT.as_secs()));
        assert_eq!(wait_left(u32::MAX, START, START), Some(MAX_WAIT.as_secs()));
        let later = START + FORGET_AFTER.as_secs_f64();
        assert_eq!(wait_left(100, START, later), None);
    }
}
