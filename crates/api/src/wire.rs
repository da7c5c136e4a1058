//! Wire DTOs of the Analytics API: serialised exactly as OpenAI's clients expect
//! (`../shared/spec/wire-formats.md` §1.4–1.5).

use serde::Serialize;
use steward_store::{UsageRow, UsageTotals};

#[derive(Debug, Serialize)]
pub struct Page {
    pub object: &'static str,
    pub data: Vec<UsageRowOut>,
    pub has_more: bool,
    pub next_page: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Actor {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Token and money figures shared by totals, clients and models.
#[derive(Debug, Serialize)]
pub struct Figures {
    pub credits: f64,
    pub estimated_cost_usd: f64,
    pub uncached_text_input_tokens: i64,
    pub cached_text_input_tokens: i64,
    pub text_output_tokens: i64,
    pub text_total_tokens: i64,
}

#[derive(Debug, Serialize)]
pub struct Totals {
    pub threads: i64,
    pub turns: i64,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Serialize)]
pub struct ClientOut {
    pub client_id: String,
    pub threads: i64,
    pub turns: i64,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Serialize)]
pub struct ModelOut {
    pub model: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Serialize)]
pub struct UsageRowOut {
    pub object: &'static str,
    pub start_time: i64,
    pub end_time: i64,
    pub user_id: Option<String>,
    pub actor: Option<Actor>,
    pub totals: Totals,
    pub clients: Vec<ClientOut>,
    pub models: Vec<ModelOut>,
}

fn figures(s: &UsageTotals) -> Figures {
    Figures {
        credits: s.credits(),
        estimated_cost_usd: s.estimated_cost_usd(),
        uncached_text_input_tokens: s.uncached_input_tokens(),
        cached_text_input_tokens: s.cached_input_tokens,
        text_output_tokens: s.output_tokens,
        text_total_tokens: s.text_total_tokens(),
    }
}

pub fn usage_row(row: &UsageRow, bucket_secs: i64, emails_allowed: bool) -> UsageRowOut {
    let per_user = !row.key.user_id.is_empty();
    UsageRowOut {
        object: "codex.usage.result",
        start_time: row.key.bucket_start,
        end_time: row.key.bucket_start + bucket_secs,
        user_id: per_user.then(|| row.key.user_id.clone()),
        actor: per_user.then(|| Actor {
            kind: "ACCOUNT_USER",
            user_id: row.key.user_id.clone(),
            email: if emails_allowed {
                row.user_email.clone()
            } else {
                None
            },
        }),
        totals: Totals {
            threads: row.threads,
            turns: row.totals.turns,
            figures: figures(&row.totals),
        },
        clients: row
            .clients
            .iter()
            .map(|c| ClientOut {
                client_id: c.client_id.clone(),
                threads: c.threads,
                turns: c.sums.turns,
                figures: figures(&c.sums),
            })
            .collect(),
        models: row
            .models
            .iter()
            .map(|m| ModelOut {
                model: if m.model.is_empty() {
                    "other".to_owned()
                } else {
                    m.model.clone()
                },
                figures: figures(&m.sums),
            })
            .collect(),
    }
}
