//! Building and running the application: directories, database, first
//! operator, crash recovery, workers, the reconciler and the HTTP server.
//! `main` and the tests build it the same way.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context;
use axum::Router;
use leptos::prelude::LeptosOptions;
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    atomic_file,
    auth::{bootstrap, throttle::LoginThrottle},
    cache::Cache,
    catalog::Catalog,
    cluster::{fanout, leader},
    db,
    db::lock::{LockKey, SessionLock},
    live::Live,
    node::Node,
    plumbing::Core,
    quota::CacheQuota,
    routes,
    settings::Settings,
    state::AppState,
    workers::{
        downloads::{self, DownloadWorkers},
        hashes::HashWorkers,
        leases,
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
        if let Some(s3) = settings.s3() {
            // The store itself (`storage`) is here and tested; uploads,
            // downloads and the byte routes do not write to it yet, and
            // bytes silently kept on one replica's disk would be worse
            // than no start.
            anyhow::bail!(
                "BTY_STORAGE_URL=s3://{}: this version does not keep image bytes in an \
                 object store yet; unset BTY_STORAGE_URL to keep them on the local disk",
                s3.bucket
            );
        }
        let image_root = settings.image_root();
        let cache_dir = settings.cache_dir();
        for dir in [&settings.state_dir, &image_root, &cache_dir] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        // Bound first: a replica that was given no name is named by its port.
        let listener = TcpListener::bind(SocketAddr::new(settings.web_host, settings.web_port))
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}:{}",
                    settings.web_host, settings.web_port
                )
            })?;
        let address = listener.local_addr()?;
        let db = db::connect(&settings.database_url())
            .await
            .context("cannot open the database")?;
        let shared = db.get_database_backend() == DbBackend::Postgres;
        let node = Node::new(&settings, address.port(), shared);
        // Replicas starting together set up and recover one at a time.
        let lock = SessionLock::acquire(&db, LockKey::StartUp).await?;
        let recovered = recover(&db, &settings, &node).await;
        if let Some(lock) = lock {
            lock.release().await;
        }
        let admin = recovered?;

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
        let (live, outbox) = if node.shared {
            let (live, outbox) = Live::with_peers(node.id());
            (live, Some(outbox))
        } else {
            (Live::default(), None)
        };
        let core =
            Core::new(settings, db, node, live).context("cannot build the outbound HTTP client")?;
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
        let leading = if core.node.shared {
            leader::elect(&core).await
        } else {
            leader::alone()
        };
        let image_root = ImageRootReconciler {
            core: core.clone(),
            catalog: catalog.clone(),
            hashes: hashes.clone(),
            handle: reconciler.clone(),
            leading,
        };

        if let Some(outbox) = outbox {
            // Listening before anything runs: no peer's change is missed.
            let workers = fanout::Workers {
                hashes: hashes.clone(),
                downloads: downloads.clone(),
            };
            let listener = fanout::Listener::connect(core.clone(), workers)
                .await
                .context("cannot listen for the other replicas' changes")?;
            core.tasks.spawn(listener.run());
            core.tasks.spawn(fanout::publish(core.clone(), outbox));
        }
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
        let login_throttle = LoginThrottle::new(core.db.clone());
        let state = AppState {
            core,
            catalog,
            cache,
            quota,
            hashes,
            downloads,
            reconciler,
            login_throttle,
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

/// Temporary files younger than this are left by the start-up sweep when
/// other replicas may share the directories: they may be writing them.
const SHARED_SWEEP_AGE: Duration = Duration::from_secs(15 * 60);

/// What a start does before serving: the first operator, temporary files a
/// crash left, and jobs a stop left running.
async fn recover(
    db: &DatabaseConnection,
    settings: &Settings,
    node: &Node,
) -> anyhow::Result<bootstrap::AdminPassword> {
    let admin = bootstrap::ensure_admin(db, settings)
        .await
        .context("cannot create the first operator")?;
    let resumable = downloads::resumable_partials(db).await?;
    let age = if node.shared {
        SHARED_SWEEP_AGE
    } else {
        Duration::ZERO
    };
    let cache_dir = settings.cache_dir();
    for dir in [settings.image_root(), cache_dir.clone()] {
        // Partial downloads that will run again are kept, to resume.
        let keep = if dir == cache_dir {
            resumable.clone()
        } else {
            Default::default()
        };
        let swept = atomic_file::sweep_older_than(&dir, &keep, age)
            .with_context(|| format!("cannot sweep {}", dir.display()))?;
        if swept > 0 {
            tracing::info!(swept, dir = %dir.display(), "removed temporary files left by a crash");
        }
    }
    let requeued = leases::requeue_interrupted(db, node).await?;
    if requeued > 0 {
        tracing::info!(requeued, "jobs interrupted by a stop are queued again");
    }
    Ok(admin)
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
