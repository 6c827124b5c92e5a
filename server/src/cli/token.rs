//! `bty-web token create|list|revoke`.

use std::collections::HashMap;

use sea_orm::{DatabaseConnection, EntityTrait};

use super::TokenCommand;
use crate::{
    audit::Actor,
    auth::{accounts, tokens},
    db::entity::operator,
    live::Live,
};

pub(super) async fn run(db: &DatabaseConnection, command: TokenCommand) -> anyhow::Result<()> {
    let live = Live::default();
    match command {
        TokenCommand::Create { operator, name } => {
            let owner = accounts::operator(db, &operator).await?;
            let created = tokens::create(db, &live, &Actor::cli(), &owner, &name).await?;
            eprintln!(
                "API token {} '{}' created for '{operator}'; it is shown only now:",
                created.record.id, created.record.name
            );
            println!("{}", created.token);
        }
        TokenCommand::List { operator } => {
            let owner = match operator {
                Some(name) => Some(accounts::operator(db, &name).await?.id),
                None => None,
            };
            let names: HashMap<i64, String> = operator::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|row| (row.id, row.username))
                .collect();
            println!("ID\tOPERATOR\tNAME\tCREATED\tLAST USED\tREVOKED");
            for (owner_id, token) in tokens::list(db, owner).await? {
                let dash = || "-".to_owned();
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    token.id,
                    names.get(&owner_id).cloned().unwrap_or_else(dash),
                    token.name,
                    token.created_at,
                    token.last_used_at.unwrap_or_else(dash),
                    token.revoked_at.unwrap_or_else(dash),
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let token = tokens::revoke(db, &live, &Actor::cli(), id, None).await?;
            eprintln!("API token {} '{}' revoked", token.id, token.name);
        }
    }
    Ok(())
}
