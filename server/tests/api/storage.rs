//! `BTY_STORAGE_URL`: an object store needs PostgreSQL, and a start that
//! asks for one on SQLite is refused with a message saying so.

use std::process::{Command, Stdio};

#[test]
fn starting_with_an_object_store_on_sqlite_is_refused_with_a_message() {
    let state_dir = tempfile::tempdir().expect("state dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_bty-web"));
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("BTY_")) {
        command.env_remove(key);
    }
    let output = command
        .env("BTY_WEB_HOST", "127.0.0.1")
        .env("BTY_WEB_PORT", "0")
        .env("BTY_STATE_DIR", state_dir.path())
        .env("BTY_STORAGE_URL", "s3://bty-images/lab")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("bty-web runs");
    assert!(!output.status.success(), "it must not start");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("needs PostgreSQL"), "{said}");
    assert!(said.contains("BTY_DATABASE_URL"), "{said}");
    // Refused before anything was set up.
    assert!(!state_dir.path().join("state.db").exists());
}
