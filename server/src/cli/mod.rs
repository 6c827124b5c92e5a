//! The `bty-web` command line. Without a subcommand it serves, with the
//! same flags and `BTY_*` variables as always; the subcommands manage
//! operators and API tokens in the server's database (migrated first, so a
//! fresh state directory works) and record the same events as the web UI,
//! with actor `cli`. Secrets are never taken from the command line: the
//! ones read come from stdin or a file, the ones made go to stdout.

mod operator;
mod token;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sea_orm::DatabaseConnection;

use crate::{db, settings::Settings};

/// `bty-web [SETTINGS] [COMMAND]`.
#[derive(Debug, Parser)]
#[command(
    name = "bty-web",
    version,
    about = "bty-web images: the catalog of disk images a bare-metal flasher writes",
    after_help = "Without a command, bty-web serves."
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do instead of serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add operators and change their passwords.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `bty-web operator …`.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Add an operator who can log in. The password (at least 8
    /// characters) is the first line of stdin, or of --password-file.
    Add {
        username: String,
        /// Read the password from this file's first line instead of stdin.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Change an operator's password; their browser sessions end. The new
    /// password (at least 8 characters) is the first line of stdin, or of
    /// --password-file.
    Passwd {
        username: String,
        /// Read the password from this file's first line instead of stdin.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
}

/// `bty-web token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for an operator and print its secret (shown only now).
    Create {
        /// Whose token it is: it acts as this operator.
        #[arg(long)]
        operator: String,
        /// A name to know it by (1 to 64 printable characters).
        name: String,
    },
    /// List tokens (never their secrets).
    List {
        /// Only this operator's tokens.
        #[arg(long)]
        operator: Option<String>,
    },
    /// Revoke a token by id: it stops working at once.
    Revoke { id: i64 },
}

/// Runs one subcommand against the database of `settings`.
pub async fn run(settings: Settings, command: Command) -> anyhow::Result<()> {
    settings.validate()?;
    let db = open(&settings).await?;
    match command {
        Command::Operator(command) => operator::run(&db, command).await,
        Command::Token(command) => token::run(&db, command).await,
    }
}

/// The server's database, migrated.
async fn open(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    std::fs::create_dir_all(&settings.state_dir)
        .with_context(|| format!("cannot create {}", settings.state_dir.display()))?;
    db::connect(&settings.database_url())
        .await
        .context("cannot open the database")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("bty-web").chain(args.iter().copied()))
    }

    #[test]
    fn no_subcommand_serves_with_the_usual_flags() {
        let cli = parse(&["--web-port", "0", "--state-dir", "/tmp/x"]).expect("parses");
        assert!(cli.command.is_none());
        assert_eq!(cli.settings.web_port, 0);
        assert!(parse(&["--web-port", "nope"]).is_err());
    }

    #[test]
    fn subcommands_take_settings_before_them() {
        let cli = parse(&[
            "--state-dir",
            "/srv/bty",
            "token",
            "create",
            "--operator",
            "a",
            "ci",
        ])
        .expect("parses");
        assert_eq!(cli.settings.state_dir, PathBuf::from("/srv/bty"));
        assert!(matches!(
            cli.command,
            Some(Command::Token(TokenCommand::Create { ref operator, ref name }))
                if operator == "a" && name == "ci"
        ));
    }

    #[test]
    fn passwords_are_not_taken_from_arguments() {
        assert!(parse(&["operator", "add", "bob", "--password", "secret123"]).is_err());
        assert!(parse(&["operator", "add", "bob", "secret123"]).is_err());
    }
}
