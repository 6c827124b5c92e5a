//! `bty-web`: read the settings, build the application, serve until a
//! signal; or run one of the management subcommands (see `server::cli`).

use clap::Parser;
use server::{
    auth::bootstrap::AdminPassword,
    cli::{self, Cli},
    settings::Settings,
    startup::Application,
    telemetry,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli { settings, command } = Cli::parse();
    match command {
        None => serve(settings).await,
        Some(command) => {
            if let Err(error) = cli::run(settings, command).await {
                eprintln!("bty-web: {error:#}");
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    telemetry::init();
    let application = Application::build(settings).await.map_err(|error| {
        tracing::error!("bty-web cannot start: {error:#}");
        error
    })?;
    let settings = &application.state().settings;
    let host = match settings.web_host {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        ip => ip.to_string(),
    };
    let login = format!("http://{host}:{}/ui/login", application.port());
    tracing::info!(
        "bty-web listening on {}:{}",
        settings.web_host,
        application.port()
    );
    match application.admin_password() {
        AdminPassword::InFile(path) => tracing::info!(
            "log in at {login} as 'admin'; the generated password is in {} (mode 0600)",
            path.display()
        ),
        AdminPassword::FromSettings => {
            tracing::info!("log in at {login} as 'admin' with the password from BTY_ADMIN_PASSWORD")
        }
        AdminPassword::Unchanged => tracing::info!("log in at {login}"),
    }
    application.run_until(shutdown_signal()).await?;
    tracing::info!("bty-web stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}
