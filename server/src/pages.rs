//! Server-side rendering's data: the page service the Leptos components call
//! in-process, over the same functions the JSON routes use.

use app::{
    model::{
        CatalogPage, EventsFilter, EventsPage, ImagesPage, JobKind, TokenNotice, TokensPage,
        EVENTS_PAGE_SIZE, SYSTEM_ACTORS,
    },
    ssr::{BoxFuture, PageData},
};

use crate::{audit, auth::accounts, auth::tokens, state::AppState, workers::jobs};

/// [`PageData`] over the application state.
pub struct Pages(pub AppState);

impl PageData for Pages {
    fn images_page(
        &self,
        operator: String,
        query: String,
        page: usize,
    ) -> BoxFuture<Result<ImagesPage, String>> {
        let state = self.0.clone();
        Box::pin(async move {
            images_page(&state, operator, &query, page)
                .await
                .map_err(|error| {
                    tracing::error!(%error, "images page data");
                    "the catalog could not be read; see the server log".to_owned()
                })
        })
    }

    fn events_page(
        &self,
        operator: String,
        filter: EventsFilter,
    ) -> BoxFuture<Result<EventsPage, String>> {
        let state = self.0.clone();
        Box::pin(async move {
            let read = async {
                let events = audit::list(&state.db, &filter, EVENTS_PAGE_SIZE as u64).await?;
                let mut actors = accounts::usernames(&state.db).await?;
                actors.extend(SYSTEM_ACTORS.iter().map(|actor| actor.to_string()));
                Ok::<_, sea_orm::DbErr>((events, actors))
            };
            let (events, actors) = read.await.map_err(|error| {
                tracing::error!(%error, "events page data");
                "the audit log could not be read; see the server log".to_owned()
            })?;
            Ok(EventsPage {
                operator,
                filter,
                actors,
                events,
            })
        })
    }

    fn tokens_page(
        &self,
        operator: String,
        notice: TokenNotice,
    ) -> BoxFuture<Result<TokensPage, String>> {
        let state = self.0.clone();
        Box::pin(async move {
            let failed = |error: sea_orm::DbErr| {
                tracing::error!(%error, "tokens page data");
                "the API tokens could not be read; see the server log".to_owned()
            };
            let account = accounts::find(&state.db, &operator)
                .await
                .map_err(failed)?
                .ok_or_else(|| "login required".to_owned())?;
            let tokens = tokens::list(&state.db, Some(account.id))
                .await
                .map_err(failed)?
                .into_iter()
                .map(|(_, token)| token)
                .collect();
            Ok(TokensPage {
                operator,
                tokens,
                notice,
            })
        })
    }
}

async fn images_page(
    state: &AppState,
    operator: String,
    query: &str,
    page: usize,
) -> Result<ImagesPage, sea_orm::DbErr> {
    let settings = &state.settings;
    Ok(ImagesPage {
        operator,
        catalog: CatalogPage::of(&*state.catalog.view().await?, query, page),
        jobs: live_jobs(state).await?,
        recent_events: audit::recent_image_activity(&state.db).await?,
        hash_max_parallel: settings.hash_max_parallel,
        release_repo: settings.release_repo(),
        manifest_path: settings.catalog_file().display().to_string(),
        cache: Some(state.cache.usage().await),
        download_max_parallel: settings.catalog_max_parallel,
    })
}

/// The newest job per name and kind, as the job panes show them.
pub async fn live_jobs(state: &AppState) -> Result<Vec<app::model::Job>, sea_orm::DbErr> {
    let mut jobs: Vec<_> = jobs::latest_per_name(&state.db, None)
        .await?
        .iter()
        .map(jobs::to_wire)
        .collect();
    jobs.sort_by_key(|job| (job.kind == JobKind::Download, job.id));
    Ok(jobs)
}
