//! The Downloads and Hashes panes: one live row per job (the latest per
//! name), with a progress bar, bytes, rate, ETA, the download attempt, and
//! Cancel (queued, running) or Retry (a failed or cancelled download). The
//! Downloads card's header shows the cache's disk usage and, with a
//! quota, a bar of it against the quota.

use leptos::prelude::*;

use crate::components::erased::IntoErased;

use super::format::{
    cache_quota_percent, cache_summary, first_chars, fixed, format_eta, format_progress_bytes,
    format_rate,
};
use super::icons::{Glyph, Icon};
use super::job_buttons::{JobButton, JobCommand};
use super::layout::Card;
use crate::live::LiveState;
use crate::model::{Job, JobKind, JobStatus};

/// How much of a failed job's error the row shows; the rest is in the title.
pub const ERROR_PREVIEW_CHARS: usize = 60;

/// The jobs a pane lists: those of its kind (the Hashes pane's include
/// inspections, which run in the hash pool after the hash), the latest
/// (highest id) per name, running first, then queued, failed, cancelled,
/// completed; newest first within a status.
pub fn pane_jobs(jobs: &[Job], kind: JobKind) -> Vec<Job> {
    // A list, not a map: panes hold tens of jobs, and a hash map type of
    // its own costs the browser bundle more than the scans cost here.
    let mut latest: Vec<&Job> = Vec::new();
    let listed_here =
        |job: &&Job| job.kind == kind || (kind, job.kind) == (JobKind::Hash, JobKind::Inspect);
    for job in jobs.iter().filter(listed_here) {
        match latest.iter_mut().find(|listed| listed.name == job.name) {
            Some(slot) if job.id > slot.id => *slot = job,
            Some(_) => {}
            None => latest.push(job),
        }
    }
    let mut listed: Vec<Job> = latest.into_iter().cloned().collect();
    listed.sort_by_key(|job| (job.status.sort_rank(), std::cmp::Reverse(job.id)));
    listed
}

/// The bar's fill: the known percentage, or full once a job of unknown
/// size has completed. `None` draws the striped "size unknown" bar.
pub fn display_percent(job: &Job) -> Option<f64> {
    job.percent()
        .or((job.status == JobStatus::Completed).then_some(100.0))
}

/// The words for a download's attempt, from the second one on ("attempt
/// 2"): earlier ones failed on a transient error and were retried.
pub fn attempt_label(job: &Job) -> Option<String> {
    (job.attempt > 1).then(|| format!("attempt {}", job.attempt))
}

/// True when the row offers Retry: a download that failed or was cancelled
/// (queued again by the same request that started it).
pub fn can_retry(job: &Job) -> bool {
    job.kind == JobKind::Download && matches!(job.status, JobStatus::Failed | JobStatus::Cancelled)
}

/// The bar's colour for a status.
fn status_tone(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Running | JobStatus::Completed => "bg-success",
        JobStatus::Queued | JobStatus::Cancelled => "bg-secondary",
        JobStatus::Failed => "bg-danger",
    }
}

/// One pane. `caption` is the line under the title.
#[component]
pub fn JobsPane(
    /// Which jobs.
    kind: JobKind,
    /// The state the jobs come from.
    live: LiveState,
    /// Shown under the header.
    #[prop(optional_no_strip)]
    caption: Option<String>,
) -> impl IntoView {
    let (title, glyph, tbody_class, empty_text) = match kind {
        JobKind::Download => (
            "Downloads",
            Glyph::Download,
            "bty-downloads-tbody",
            "No downloads.",
        ),
        JobKind::Hash | JobKind::Inspect => {
            ("Hashes", Glyph::Hash, "bty-hashes-tbody", "No hash jobs.")
        }
    };
    let listed = Memo::new(move |_| live.jobs.with(|jobs| pane_jobs(jobs, kind)));
    let is_empty = move || listed.with(Vec::is_empty);
    let aside = (kind == JobKind::Download).then(|| {
        ViewFn::from(move || {
            (move || {
                live.cache.get().map(|usage| {
                    let quota = cache_quota_percent(&usage).map(|percent| {
                        let tone = if percent >= 90.0 { "bg-warning" } else { "bg-success" };
                        view! {
                            <span class="bty-cache-quota">
                                <ProgressBar percent=Some(percent) tone/>
                            </span>
                        }
                    });
                    view! {
                        <span class="bty-cache-usage" title=format!("Download cache: {}", usage.cache_dir)>
                            <Icon glyph=Glyph::HardDrive/>
                            <span>{cache_summary(&usage)}</span>
                            {quota}
                        </span>
                    }
                })
            })
            .erased()
        })
    });

    view! {
        <Card glyph title class=format!("card-table bty-{}-card", kind.as_str()) aside>
            {caption.map(|caption| view! { <p class="card-caption">{caption}</p> })}
            <div class="table-responsive">
                <table class="table table-striped bty-jobs-table">
                    <TransferHead last=""/>
                    <tbody class=tbody_class>
                        <Show when=is_empty>
                            <tr class="bty-jobs-empty">
                                <td colspan="7" class="text-muted">{empty_text}</td>
                            </tr>
                        </Show>
                        <For each=move || listed.get() key=|job| job.id let:job>
                            <JobRow initial=job listed/>
                        </For>
                    </tbody>
                </table>
            </div>
        </Card>
    }
    .erased()
}

/// One job, redrawn in place as its updates arrive, so a Cancel button
/// under the pointer is never replaced mid-click.
#[component]
fn JobRow(
    /// The job as first listed; its id, kind and name never change.
    initial: Job,
    /// The pane's jobs, where the row finds its updates.
    listed: Memo<Vec<Job>>,
) -> impl IntoView {
    let (id, kind, name) = (initial.id, initial.kind, initial.name.clone());
    let job = Memo::new(move |previous: Option<&Job>| {
        listed
            .with(|jobs| jobs.iter().find(|job| job.id == id).cloned())
            // A row about to be removed keeps its last state.
            .or_else(|| previous.cloned())
            .unwrap_or_else(|| initial.clone())
    });
    let field = move |read: fn(&Job) -> String| move || job.with(read);
    let status = Memo::new(move |_| job.with(|j| j.status));
    let error = Memo::new(move |_| job.with(|j| j.error.clone()));
    let attempt = Memo::new(move |_| job.with(attempt_label));
    let retry = Memo::new(move |_| job.with(can_retry));
    let percent = Signal::derive(move || job.with(display_percent));
    let tone = Signal::derive(move || status_tone(status.get()));
    let (cancel_name, retry_name) = (name.clone(), name.clone());

    view! {
        <tr
            class="bty-job-row"
            data-job-id=id.to_string()
            data-name=name.clone()
            data-kind=kind.as_str()
            data-status=move || status.get().as_str()
        >
            <td class="bty-job-name">
                <span>{name.clone()}</span>
                {move || {
                    error
                        .get()
                        .map(|error| {
                            view! {
                                <div class="bty-job-error" title=error.clone()>
                                    {first_chars(&error, ERROR_PREVIEW_CHARS)}
                                </div>
                            }
                        })
                }}
            </td>
            <td>
                <span class=move || {
                    format!("badge bty-job-status badge-status-{}", status.get().as_str())
                }>{move || status.get().as_str()}</span>
                {move || {
                    attempt
                        .get()
                        .map(|text| {
                            view! {
                                <span class="bty-job-attempt" title="Earlier attempts hit a transient error and were retried">
                                    {text}
                                </span>
                            }
                        })
                }}
            </td>
            <td class="col-progress">
                <ProgressBar percent tone/>
            </td>
            <td class="bty-job-bytes">{field(|j| format_progress_bytes(j.bytes_done, j.bytes_total))}</td>
            <td class="bty-job-rate">
                {field(|j| {
                    j.rate_bps
                        .filter(|rate| j.status == JobStatus::Running && *rate > 0.0)
                        .map(format_rate)
                        .unwrap_or_default()
                })}
            </td>
            <td class="bty-job-eta">{field(|j| j.eta_seconds().map(format_eta).unwrap_or_default())}</td>
            <td class="bty-job-actions">
                {move || {
                    status
                        .get()
                        .is_active()
                        .then(|| {
                            view! { <JobButton command=JobCommand::Cancel(kind) name=cancel_name.clone()/> }
                        })
                }}
                {move || {
                    retry
                        .get()
                        .then(|| view! { <JobButton command=JobCommand::Retry name=retry_name.clone()/> })
                }}
            </td>
        </tr>
    }
    .erased()
}

/// A green bar with the percentage inside; striped and moving while the
/// total is unknown.
#[component]
pub fn ProgressBar(
    /// The fill, 0 to 100, when known.
    #[prop(into)]
    percent: Signal<Option<f64>>,
    /// A colour class for the fill (`bg-success`, `bg-danger`, ...).
    #[prop(into)]
    tone: Signal<&'static str>,
) -> impl IntoView {
    let rounded = move || percent.get().map(|p| p.clamp(0.0, 100.0).round() as u8);
    view! {
        <div
            class="progress"
            role="progressbar"
            aria-label="Progress"
            aria-valuemin="0"
            aria-valuemax="100"
            aria-valuenow=rounded
        >
            <div
                class=move || {
                    let striped = if percent.get().is_none() {
                        " progress-bar-striped progress-bar-animated"
                    } else {
                        ""
                    };
                    format!("progress-bar {}{striped}", tone.get())
                }
                style=move || {
                    let width = percent.get().map_or(100.0, |p| p.clamp(0.0, 100.0));
                    format!("width: {}%", fixed(width, 1))
                }
            >
                {move || rounded().map(|p| format!("{p}%")).unwrap_or_default()}
            </div>
        </div>
    }
    .erased()
}

/// The head of a table of transfers (jobs, uploads): name, status,
/// progress, bytes, rate, ETA, then `last` (actions or a result).
#[component]
pub fn TransferHead(last: &'static str) -> impl IntoView {
    view! {
        <thead>
            <tr>
                <th>"Name"</th>
                <th>"Status"</th>
                <th class="col-progress">"Progress"</th>
                <th>"Bytes"</th>
                <th>"Rate"</th>
                <th>"ETA"</th>
                <th>{last}</th>
            </tr>
        </thead>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: i64, kind: JobKind, name: &str, status: JobStatus) -> Job {
        Job {
            id,
            kind,
            name: name.into(),
            status,
            bytes_done: 50,
            bytes_total: Some(200),
            sha256: None,
            error: None,
            started_at: None,
            finished_at: None,
            rate_bps: None,
            attempt: 0,
        }
    }

    #[test]
    fn a_pane_lists_only_its_kind_and_the_latest_job_per_name() {
        let jobs = [
            job(1, JobKind::Hash, "a.img", JobStatus::Failed),
            job(2, JobKind::Download, "b.img", JobStatus::Running),
            job(3, JobKind::Hash, "a.img", JobStatus::Completed),
        ];
        let listed = pane_jobs(&jobs, JobKind::Hash);
        assert_eq!(listed.iter().map(|j| j.id).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn running_jobs_come_first_then_newest_first() {
        let jobs = [
            job(1, JobKind::Hash, "a.img", JobStatus::Completed),
            job(2, JobKind::Hash, "b.img", JobStatus::Queued),
            job(3, JobKind::Hash, "c.img", JobStatus::Running),
            job(4, JobKind::Hash, "d.img", JobStatus::Queued),
            job(5, JobKind::Hash, "e.img", JobStatus::Failed),
        ];
        let listed = pane_jobs(&jobs, JobKind::Hash);
        assert_eq!(
            listed.iter().map(|j| j.id).collect::<Vec<_>>(),
            [3, 4, 2, 5, 1]
        );
    }

    #[test]
    fn the_attempt_shows_from_the_second_on() {
        let mut download = job(1, JobKind::Download, "a.img", JobStatus::Running);
        for (attempt, label) in [
            (0, None),
            (1, None),
            (2, Some("attempt 2")),
            (5, Some("attempt 5")),
        ] {
            download.attempt = attempt;
            assert_eq!(attempt_label(&download).as_deref(), label, "{attempt}");
        }
    }

    #[test]
    fn only_failed_or_cancelled_downloads_offer_retry() {
        for (status, retry) in [
            (JobStatus::Queued, false),
            (JobStatus::Running, false),
            (JobStatus::Completed, false),
            (JobStatus::Failed, true),
            (JobStatus::Cancelled, true),
        ] {
            let download = job(1, JobKind::Download, "a.img", status);
            assert_eq!(can_retry(&download), retry, "{status:?}");
            assert!(
                !can_retry(&job(2, JobKind::Hash, "a.img", status)),
                "hash {status:?}"
            );
        }
    }

    #[test]
    fn the_bar_is_full_for_a_completed_job_of_unknown_size() {
        let mut done = job(1, JobKind::Download, "a.img", JobStatus::Completed);
        done.bytes_total = None;
        assert_eq!(display_percent(&done), Some(100.0));
        let mut running = job(2, JobKind::Download, "b.img", JobStatus::Running);
        running.bytes_total = None;
        assert_eq!(display_percent(&running), None);
        running.bytes_total = Some(200);
        assert_eq!(display_percent(&running), Some(25.0));
    }
}
