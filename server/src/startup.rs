//! Building and running the application: directories, database, first
//! operator, crash recovery, workers, the reconciler and the HTTP server.
//! `main` and the tests build it the same way.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context;
use axum::Router;
use leptos::prelude::LeptosOptions;
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    atomic_file,
    auth::{bootstrap, throttle::LoginThrottle},
    cache::{self, Cache},
    catalog::Catalog,
    db,
    plumbing::Core,
    quota::CacheQuota,
    routes,
    settings::Settings,
    state::AppState,
    workers::{
        downloads::{self, DownloadWorkers},
        hashes::HashWorkers,
        jobs,
        reconciler::{self, ImageRootReconciler, Reconciler},
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
        // Who holds whom: the catalog and the cache hold the core; the
        // quota holds the catalog and the cache, the downloads the quota; the
        // hash workers hold the reconciler's handle (to wake it), the
        // reconciler holds the hash workers' handle (to queue hashes).
        let core = Core::new(settings, db).context("cannot build the outbound HTTP client")?;
        let catalog = Catalog::new(core.clone());
        let cache = Cache::new(core.clone());
        let quota = CacheQuota::new(core.clone(), catalog.clone(), cache.clone());
        let (reconciler, inbox) = Reconciler::new();
        let hashes = HashWorkers::new(core.clone(), catalog.clone(), reconciler.clone());
        let downloads = DownloadWorkers::new(
            core.clone(),
            catalog.clone(),
            cache.clone(),
            quota.clone(),
            hashes.clone(),
        );
        let image_root = ImageRootReconciler {
            core: core.clone(),
            catalog: catalog.clone(),
            hashes: hashes.clone(),
            handle: reconciler.clone(),
        };

        let watcher = reconciler::watch(&core.settings.image_root(), &reconciler);
        image_root
            .reconcile()
            .await
            .context("cannot read the image root")?;
        hashes.start();
        downloads.start();
        core.tasks.spawn(inspect_backlog(hashes.clone()));
        core.tasks.spawn(image_root.run(inbox, watcher));
        core.tasks
            .spawn(publish_catalog(core.clone(), catalog.clone()));
        let state = AppState {
            core,
            catalog,
            cache,
            quota,
            hashes,
            downloads,
            reconciler,
            login_throttle: LoginThrottle::default(),
            leptos_options,
        };
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

/// Inspects, once at start-up, the images that were hashed before and never
/// inspected (an upgrade from a server without inspection, or a stop
/// between a hash and its inspection being queued).
async fn inspect_backlog(hashes: HashWorkers) {
    match hashes.inspect_backlog().await {
        Ok(0) => {}
        Ok(queued) => tracing::info!(queued, "images hashed before are queued for inspection"),
        Err(error) => tracing::error!(%error, "cannot queue the images not yet inspected"),
    }
}

/// Pushes the unified catalog to live streams whenever it changed.
async fn publish_catalog(core: Core, catalog: Catalog) {
    loop {
        tokio::select! {
            _ = core.shutdown.cancelled() => return,
            _ = core.live.catalog_change() => {}
        }
        tokio::time::sleep(CATALOG_PUSH_DELAY).await;
        match catalog.view().await {
            Ok(view) => core
                .live
                .catalog(&app::model::CatalogPage::of(&view, "", 1)),
            Err(error) => tracing::error!(%error, "catalog not pushed to live streams"),
        }
    }
}
