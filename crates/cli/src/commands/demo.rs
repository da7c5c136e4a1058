//! `steward demo`: generated usage for a quick look around.

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use steward_core::demo::{self, DemoSpec, DemoSummary};
use steward_core::Principals;
use steward_model::RateCard;
use steward_store::Store;

use crate::cli::{DemoArgs, GlobalArgs};
use crate::config::Config;
use crate::output::print_json;
use crate::runtime::{now_secs, open_store, rate_card};

pub async fn run(config: &Config, global: &GlobalArgs, args: DemoArgs) -> Result<()> {
    let store = open_store(config).await?;
    let workspace = Principals::new(store.clone()).default_workspace().await?;
    let card = rate_card(config)?;
    let spec = DemoSpec {
        users: args.users,
        days: args.days,
        ..DemoSpec::default()
    };
    let summary = fill(store, &workspace.id, &card, spec, !global.json).await?;
    if global.json {
        return print_json(&json!({
            "workspace_id": workspace.id, "users": summary.users, "events": summary.events,
            "skipped_existing": summary.skipped_existing,
        }));
    }
    if summary.skipped_existing {
        println!(
            "workspace {} already has data; demo data is only added to an empty store",
            workspace.id
        );
    } else {
        println!(
            "added {} demo users and {} events to workspace {}",
            summary.users, summary.events, workspace.id
        );
    }
    Ok(())
}

/// Generates demo data with a progress bar on stderr (hidden when not a terminal).
pub async fn fill(
    store: std::sync::Arc<dyn Store>,
    workspace_id: &str,
    card: &RateCard,
    spec: DemoSpec,
    show_progress: bool,
) -> Result<DemoSummary> {
    let bar = if show_progress {
        ProgressBar::new(spec.days as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("generating demo data {bar:40} {pos}/{len} days ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = demo::generate(store, workspace_id, card, spec, now_secs(), |done, _| {
        bar.set_position(done as u64)
    })
    .await?;
    bar.finish_and_clear();
    Ok(summary)
}
