//! Building and running the application: directories, database, first
//! operator, crash recovery, workers, the reconciler and the HTTP server.
//! `main` and the tests build it the same way.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use axum::Router;
use leptos::prelude::LeptosOptions;
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    atomic_file,
    auth::{bootstrap, throttle::LoginThrottle},
    cache,
    catalog::reconciler::{self, Reconciler},
    db,
    live::Live,
    pages, routes,
    settings::Settings,
    state::AppState,
    workers::{
        downloads::{self, DownloadWorkers},
        hashes::HashWorkers,
        jobs,
    },
};

/// Hyper's read buffer per connection: bounds the request head (64 KiB is
/// far above what browsers send) and the size of an upload's body chunks.
const READ_BUFFER: usize = 64 * 1024;
/// Coalesces bursts of catalog changes into one push.
const CATALOG_PUSH_DELAY: Duration = Duration::from_millis(100);

/// A built application, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    admin: bootstrap::AdminPassword,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        settings.validate()?;
        let image_root = settings.image_root();
        let cache_dir = settings.cache_dir();
        for dir in [&settings.state_dir, &image_root, &cache_dir] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let db = db::connect(&settings.database_url())
            .await
            .context("cannot open the database")?;
        let admin = bootstrap::ensure_admin(&db, &settings)
            .await
            .context("cannot create the first operator")?;
        let resumable = downloads::resumable_partials(&db).await?;
        for dir in [&image_root, &cache_dir] {
            // Partial downloads that will run again are kept, to resume.
            let swept = if dir == &cache_dir {
                cache::sweep(dir, &resumable)
            } else {
                atomic_file::sweep(dir)
            }
            .with_context(|| format!("cannot sweep {}", dir.display()))?;
            if swept > 0 {
                tracing::info!(swept, dir = %dir.display(), "removed temporary files left by a crash");
            }
        }
        let requeued = jobs::requeue_interrupted(&db).await?;
        if requeued > 0 {
            tracing::info!(requeued, "jobs interrupted by a stop are queued again");
        }

        let listener = TcpListener::bind(SocketAddr::new(settings.web_host, settings.web_port))
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}:{}",
                    settings.web_host, settings.web_port
                )
            })?;
        let address = listener.local_addr()?;
        let leptos_options = LeptosOptions::builder()
            .output_name(app::OUTPUT_NAME)
            .site_root(settings.site_root.display().to_string())
            .site_pkg_dir("pkg")
            .site_addr(address)
            .build();
        let (reconciler, inbox) = Reconciler::new();
        let state = AppState {
            settings: Arc::new(settings),
            db,
            http: crate::outbound::client(),
            live: Live::default(),
            catalog_cache: Default::default(),
            hashes: HashWorkers::default(),
            downloads: DownloadWorkers::default(),
            reconciler,
            root_lock: Default::default(),
            login_throttle: LoginThrottle::default(),
            metrics: Default::default(),
            leptos_options,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        };

        let watcher = reconciler::watch(&state.settings.image_root(), &state.reconciler);
        reconciler::reconcile(&state)
            .await
            .context("cannot read the image root")?;
        state.hashes.start(&state);
        state.downloads.start(&state);
        state
            .tasks
            .spawn(reconciler::run(state.clone(), inbox, watcher));
        state.tasks.spawn(publish_catalog(state.clone()));
        let router = routes::router(state.clone());
        Ok(Application {
            listener,
            router,
            state,
            admin,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Where the first operator's password is.
    pub fn admin_password(&self) -> &bootstrap::AdminPassword {
        &self.admin
    }

    /// Serves until `stop` resolves, then stops the workers and waits for them.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Application {
            listener,
            router,
            state,
            ..
        } = self;
        let shutdown = state.shutdown.clone();
        let signal = async move {
            tokio::select! {
                _ = stop => {}
                _ = shutdown.cancelled() => {}
            }
            shutdown.cancel();
        };
        let served = serve(listener, router, signal).await;
        state.shutdown.cancel();
        state.tasks.close();
        state.tasks.wait().await;
        served
    }
}

/// The HTTP server: `axum::serve` with graceful shutdown, but with hyper's
/// read buffer per connection held to [`READ_BUFFER`] (its default, about
/// 400 KiB, is what an upload's body chunks are cut from; an ingest copies
/// them out at once, but hyper reads ahead into a fresh buffer while one
/// chunk is still queued, so each parallel upload held two or three such
/// buffers). At `stop`, no new connections are taken, open ones finish
/// their request, and this returns once every one is closed.
async fn serve(
    mut listener: TcpListener,
    router: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::Listener;
    use hyper_util::{
        rt::{TokioExecutor, TokioIo},
        server::conn::auto,
        service::TowerToHyperService,
    };
    use tower::{Service, ServiceExt};

    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let closing = CancellationToken::new();
    let connections = TaskTracker::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let (io, remote) = tokio::select! {
            // axum's accept: waits out errors such as too many open files.
            accepted = Listener::accept(&mut listener) => accepted,
            _ = &mut stop => break,
        };
        let Ok(service) = make_service.call(remote).await;
        let service = service.map_request(|request: axum::http::Request<hyper::body::Incoming>| {
            request.map(axum::body::Body::new)
        });
        let closing = closing.clone();
        connections.spawn(async move {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder.http1().max_buf_size(READ_BUFFER);
            let connection = builder.serve_connection_with_upgrades(
                TokioIo::new(io),
                TowerToHyperService::new(service),
            );
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return,
                _ = closing.cancelled() => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    drop(listener);
    closing.cancel();
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Pushes the unified catalog to live streams whenever it changed.
async fn publish_catalog(state: AppState) {
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = state.live.catalog_change() => {}
        }
        tokio::time::sleep(CATALOG_PUSH_DELAY).await;
        match pages::catalog_view(&state).await {
            Ok(view) => state
                .live
                .catalog(&app::model::CatalogPage::of(&view, "", 1)),
            Err(error) => tracing::error!(%error, "catalog not pushed to live streams"),
        }
    }
}
