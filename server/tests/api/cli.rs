//! The `bty-web` subcommands, run as the built binary against a running
//! test server's state directory and database.

use std::{io::Write, process::Stdio};

use reqwest::{header, StatusCode};
use serde_json::Value;

use crate::helpers::{session_cookie, spawn_app, TestApp};

/// What a finished command left.
struct Outcome {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `bty-web <args>` on the app's database, with `stdin` as input.
async fn bty_web(app: &TestApp, args: &[&str], stdin: &str) -> Outcome {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bty-web"));
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("BTY_")) {
        command.env_remove(key);
    }
    command
        .arg("--state-dir")
        .arg(app.state_dir())
        .arg("--database-url")
        .arg(app.state.settings.database_url())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let stdin = stdin.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().expect("bty-web starts");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("bty-web finishes")
    })
    .await
    .expect("join");
    Outcome {
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn login_status(app: &TestApp, username: &str, password: &str) -> StatusCode {
    app.post_login(username, password).await.status()
}

#[tokio::test]
async fn operators_are_added_and_their_passwords_changed_from_the_command_line() {
    let app = spawn_app().await;
    let added = bty_web(&app, &["operator", "add", "alice"], "first password\n").await;
    assert!(added.success, "{}", added.stderr);
    assert_eq!(
        login_status(&app, "alice", "first password").await,
        StatusCode::SEE_OTHER
    );

    let short = bty_web(&app, &["operator", "add", "carol"], "short\n").await;
    assert!(!short.success);
    assert!(
        short.stderr.contains("at least 8 characters"),
        "{}",
        short.stderr
    );
    assert_eq!(
        login_status(&app, "carol", "short").await,
        StatusCode::OK,
        "not added"
    );
    let twice = bty_web(&app, &["operator", "add", "alice"], "another password\n").await;
    assert!(!twice.success);
    assert!(twice.stderr.contains("exists already"), "{}", twice.stderr);

    let session = app.post_login("alice", "first password").await;
    let cookie = session_cookie(&session).expect("cookie");
    let file = app.state_dir().join("alice-password");
    std::fs::write(&file, "second password\nignored line\n").expect("password file");
    let changed = bty_web(
        &app,
        &[
            "operator",
            "passwd",
            "alice",
            "--password-file",
            file.to_str().expect("path"),
        ],
        "",
    )
    .await;
    assert!(changed.success, "{}", changed.stderr);
    assert_eq!(
        login_status(&app, "alice", "first password").await,
        StatusCode::OK
    );
    assert_eq!(
        login_status(&app, "alice", "second password").await,
        StatusCode::SEE_OTHER
    );
    let old_session = app
        .client
        .get(app.url("/auth/tokens"))
        .header(header::COOKIE, format!("bty-token={cookie}"))
        .send()
        .await
        .expect("GET");
    assert_eq!(
        old_session.status(),
        StatusCode::UNAUTHORIZED,
        "sessions end"
    );
    let nobody = bty_web(
        &app,
        &["operator", "passwd", "nobody"],
        "whatever password\n",
    )
    .await;
    assert!(!nobody.success);
    assert!(
        nobody.stderr.contains("no operator named 'nobody'"),
        "{}",
        nobody.stderr
    );

    let mut app = app;
    app.login().await;
    let added = &app.events_of_kind("auth.operator.added").await[0];
    assert_eq!(added["actor"], "cli");
    assert_eq!(added["subject_id"], "alice");
    let changed = &app.events_of_kind("auth.operator.password_changed").await[0];
    assert_eq!(changed["actor"], "cli");
}

#[tokio::test]
async fn tokens_made_on_the_command_line_work_over_http_until_revoked() {
    let mut app = spawn_app().await;
    let created = bty_web(&app, &["token", "create", "--operator", "admin", "ci"], "").await;
    assert!(created.success, "{}", created.stderr);
    let secret = created.stdout.trim().to_owned();
    assert!(
        secret.starts_with("bty_") && !secret.contains('\n'),
        "{secret:?}"
    );
    let use_it = || {
        app.client
            .get(app.url("/catalog/hashes"))
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .send()
    };
    assert_eq!(use_it().await.expect("GET").status(), StatusCode::OK);

    let listed = bty_web(&app, &["token", "list", "--operator", "admin"], "").await;
    assert!(listed.success, "{}", listed.stderr);
    let row = listed
        .stdout
        .lines()
        .find(|line| line.contains("\tci\t"))
        .expect("the token is listed")
        .to_owned();
    assert!(row.contains("\tadmin\t"), "{row}");
    assert!(!listed.stdout.contains(&secret), "lists never show secrets");
    let id = row.split('\t').next().expect("id").to_owned();
    let unknown = bty_web(&app, &["token", "create", "--operator", "nobody", "x"], "").await;
    assert!(!unknown.success);

    let revoked = bty_web(&app, &["token", "revoke", &id], "").await;
    assert!(revoked.success, "{}", revoked.stderr);
    assert_eq!(
        use_it().await.expect("GET").status(),
        StatusCode::UNAUTHORIZED
    );

    app.login().await;
    let made = &app.events_of_kind("auth.token.created").await[0];
    assert_eq!(made["actor"], "cli");
    let gone: &Value = &app.events_of_kind("auth.token.revoked").await[0];
    assert_eq!(gone["actor"], "cli");
}
