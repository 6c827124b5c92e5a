//! The first operator: on a start with no operator account, `admin` is
//! created from `BTY_ADMIN_PASSWORD`, or with a generated password written
//! to a 0600 file in the state directory.

use std::{io::Write, os::unix::fs::OpenOptionsExt, path::PathBuf};

use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Set};

use super::password;
use crate::{clock, db::entity::operator, settings::Settings};

/// Where the admin password can be found, for the start-up message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminPassword {
    /// Set by `BTY_ADMIN_PASSWORD` when the account was created.
    FromSettings,
    /// Generated into this file (0600).
    InFile(PathBuf),
    /// The account existed already; the password is whatever it was.
    Unchanged,
}

pub const ADMIN: &str = "admin";

/// Creates `admin` when there is no operator yet.
pub async fn ensure_admin(
    db: &DatabaseConnection,
    settings: &Settings,
) -> anyhow::Result<AdminPassword> {
    let file = settings.admin_password_file();
    if operator::Entity::find().count(db).await? > 0 {
        return Ok(if file.is_file() {
            AdminPassword::InFile(file)
        } else {
            AdminPassword::Unchanged
        });
    }
    let (secret, source) = match &settings.admin_password {
        Some(given) => (given.clone(), AdminPassword::FromSettings),
        None => {
            let generated = password::random_hex(12)?;
            write_secret(&file, &generated)?;
            (generated, AdminPassword::InFile(file))
        }
    };
    operator::ActiveModel {
        username: Set(ADMIN.to_owned()),
        password_hash: Set(password::hash(secret).await?),
        created_at: Set(clock::now_iso()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(source)
}

/// Writes the secret readable by the owner only, replacing any old file.
fn write_secret(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    let temp = crate::atomic_file::temp_path_for(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)?;
    file.write_all(format!("{secret}\n").as_bytes())?;
    file.sync_data()?;
    std::fs::rename(&temp, path)
}
