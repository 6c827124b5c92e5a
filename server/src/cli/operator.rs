//! `bty-web operator add|passwd`: passwords come from stdin or a file.

use std::{
    io::{BufRead, IsTerminal, Write},
    path::Path,
};

use anyhow::Context;
use sea_orm::DatabaseConnection;

use super::OperatorCommand;
use crate::{audit::Actor, auth::accounts, live::Live};

pub(super) async fn run(db: &DatabaseConnection, command: OperatorCommand) -> anyhow::Result<()> {
    let live = Live::default();
    match command {
        OperatorCommand::Add {
            username,
            password_file,
        } => {
            let secret = read_password(password_file.as_deref())?;
            accounts::add(db, &live, &Actor::cli(), &username, secret).await?;
            eprintln!("operator '{username}' added; they can log in now");
        }
        OperatorCommand::Passwd {
            username,
            password_file,
        } => {
            let secret = read_password(password_file.as_deref())?;
            let ended = accounts::set_password(db, &live, &Actor::cli(), &username, secret).await?;
            eprintln!("password of '{username}' changed; {ended} browser session(s) ended");
        }
    }
    Ok(())
}

/// The first line of `file`, or of stdin (asking for it on a terminal),
/// without its line ending; at least 8 characters.
fn read_password(file: Option<&Path>) -> anyhow::Result<String> {
    let text = match file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprint!("Password (shown as typed): ");
                std::io::stderr().flush()?;
            }
            let mut line = String::new();
            stdin
                .lock()
                .read_line(&mut line)
                .context("cannot read the password from stdin")?;
            line
        }
    };
    let secret = first_line(&text).to_owned();
    accounts::check_password(&secret)?;
    Ok(secret)
}

fn first_line(text: &str) -> &str {
    let line = text.split('\n').next().unwrap_or_default();
    line.strip_suffix('\r').unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_line_is_the_password() {
        assert_eq!(first_line("secret one\nsecond"), "secret one");
        assert_eq!(first_line("windows\r\n"), "windows");
        assert_eq!(first_line(""), "");
    }

    #[test]
    fn a_short_password_file_is_refused_with_the_rule() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "short\n").unwrap();
        let error = read_password(Some(&path)).unwrap_err().to_string();
        assert!(error.contains("at least 8 characters"), "{error}");
    }
}
