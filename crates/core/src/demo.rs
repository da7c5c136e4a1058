//! Demo data: realistic generated Codex usage so a newcomer sees a populated Steward at once.
//!
//! Hundreds of users over two months, several surfaces and models, weekday rhythm, and a few
//! power users. Generation is deterministic (seeded), and events carry stable dedup keys, so
//! running it twice adds nothing.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use steward_model::time::{day_start, DAY_SECS};
use steward_model::{EventKind, NormalizedEvent, RateCard, Source, TokenUsage, UserKind};
use steward_store::{NewUser, Store, StoreError};

#[derive(Debug, Clone, Copy)]
pub struct DemoSpec {
    pub users: usize,
    pub days: i64,
    pub seed: u64,
}

impl Default for DemoSpec {
    fn default() -> Self {
        DemoSpec {
            users: 300,
            days: 60,
            seed: 7,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoSummary {
    pub users: usize,
    pub events: u64,
    pub skipped_existing: bool,
}

const FIRST: &[&str] = &[
    "ada", "alan", "barbara", "brian", "carol", "dana", "edsger", "frances", "grace", "guido", "hedy",
    "ivan", "jean", "ken", "linus", "margaret", "niklaus", "olga", "peter", "radia", "sophie", "tim",
    "ursula", "yukihiro",
];
const LAST: &[&str] = &[
    "lovelace",
    "turing",
    "liskov",
    "kernighan",
    "hopper",
    "allen",
    "dijkstra",
    "lamarr",
    "sutherland",
    "bartik",
    "thompson",
    "hamilton",
    "wirth",
    "taussky",
    "naur",
    "perlman",
    "wilson",
    "berners",
    "leguin",
    "matsumoto",
];
const SURFACES: &[(&str, u32)] = &[
    ("CODEX_CLI", 45),
    ("CODEX_IDE_VSCODE", 25),
    ("CODEX_SERVICE_EXEC", 12),
    ("CODEX_DESKTOP_APP", 10),
    ("CODEX_IDE_JETBRAINS_CLIENT", 5),
    ("CODEX_GITHUB_ACTION", 3),
];
const MODELS: &[(&str, u32)] = &[
    ("gpt-5-codex", 55),
    ("gpt-5.1-codex", 20),
    ("gpt-5.1-codex-mini", 15),
    ("o4-mini", 10),
];

fn pick<'a>(rng: &mut StdRng, weighted: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = weighted.iter().map(|w| w.1).sum();
    let mut roll = rng.random_range(0..total);
    for (item, weight) in weighted {
        if roll < *weight {
            return item;
        }
        roll -= weight;
    }
    weighted[0].0
}

/// Fills `workspace_id` with demo usage ending today. Skips (and says so) when the workspace
/// already has events. `progress(done, total_days)` is called after each day.
pub async fn generate(
    store: Arc<dyn Store>,
    workspace_id: &str,
    rate_card: &RateCard,
    spec: DemoSpec,
    now_secs: i64,
    mut progress: impl FnMut(i64, i64),
) -> Result<DemoSummary, StoreError> {
    if store.count_events(workspace_id).await? > 0 {
        return Ok(DemoSummary {
            users: 0,
            events: 0,
            skipped_existing: true,
        });
    }
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let people: Vec<NewUser> = (0..spec.users)
        .map(|i| {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i / FIRST.len() + i) % LAST.len()];
            let email = format!(
                "{first}.{last}{}@demo.example",
                i / (FIRST.len() * LAST.len()).max(1)
            )
            .replace("0@", "@");
            NewUser {
                workspace_id: workspace_id.to_owned(),
                name: Some(format!("{} {}", capitalise(first), capitalise(last))),
                account_id: None,
                kind: UserKind::Person,
                principal_key: format!("email:{email}"),
                email: Some(email),
            }
        })
        .collect();
    // One commit for everyone: on a slow disk, one per person made `serve --demo` take ~30 s.
    let created = store.upsert_users(&people).await?;
    let mut users = Vec::with_capacity(created.len());
    for user in created {
        // About 5% power users; most people are regular, some occasional.
        let intensity = match rng.random_range(0..100) {
            0..5 => 4.0_f64,
            5..70 => 1.0,
            _ => 0.35,
        };
        let home_surface = pick(&mut rng, SURFACES);
        users.push((user.id, intensity, home_surface));
    }
    let first_day = day_start(now_secs) - (spec.days - 1) * DAY_SECS;
    let mut total_events = 0u64;
    let mut serial = 0u64;
    let mut batch = Vec::new();
    for d in 0..spec.days {
        let day = first_day + d * DAY_SECS;
        let weekday = (day / DAY_SECS + 3).rem_euclid(7); // 0 = Monday
        let active_p: f64 = if weekday >= 5 { 0.12 } else { 0.62 };
        for (user_id, intensity, home) in &users {
            if rng.random::<f64>() > (active_p * intensity).min(0.97) {
                continue;
            }
            let threads = 1 + rng.random_range(0..(2.0 * intensity) as u32 + 1);
            for t in 0..threads {
                let surface = if rng.random_range(0..10) < 7 {
                    *home
                } else {
                    pick(&mut rng, SURFACES)
                };
                let model = pick(&mut rng, MODELS);
                let thread_id = format!("demo-{}-{day}-{t}", &user_id[5..17]);
                let mut ts = (day + rng.random_range(8 * 3600..19 * 3600)) * 1000;
                let mut push = |kind: EventKind, ts: i64, serial: &mut u64| {
                    *serial += 1;
                    let price = kind
                        .usage()
                        .map(|u| rate_card.price(Some(model), u))
                        .unwrap_or_default();
                    batch.push(NormalizedEvent {
                        dedup_key: format!("demo-{}-{}", spec.seed, serial),
                        workspace_id: workspace_id.to_owned(),
                        user_id: user_id.clone(),
                        source: Source::Demo,
                        event_name: demo_event_name(&kind).to_owned(),
                        rate_card_version: if kind.usage().is_some() {
                            rate_card.version.clone()
                        } else {
                            String::new()
                        },
                        kind,
                        thread_id: Some(thread_id.clone()),
                        trace_id: None,
                        turn_id: None,
                        timestamp_ms: ts,
                        client_id: surface.to_owned(),
                        model: Some(model.to_owned()),
                        credits_micro: price.credits_micro,
                        usd_micro: price.usd_micro,
                        raw: "{\"demo\":true}".to_owned(),
                        host_name: None,
                    });
                };
                push(EventKind::ConversationStart, ts, &mut serial);
                for _ in 0..rng.random_range(1..7) {
                    ts += rng.random_range(20_000..600_000);
                    push(EventKind::UserPrompt, ts, &mut serial);
                    for _ in 0..rng.random_range(1..4) {
                        ts += rng.random_range(2_000..40_000);
                        let input = rng.random_range(4_000..60_000);
                        let output = rng.random_range(200..4_000);
                        let usage = TokenUsage {
                            input,
                            cached_input: input * rng.random_range(40..92) / 100,
                            output,
                            reasoning_output: output * rng.random_range(10..50) / 100,
                            total: input + output,
                        };
                        push(EventKind::ResponseCompleted(usage), ts, &mut serial);
                    }
                }
            }
        }
        // Several days per commit: each commit is an fsync, and slow disks made the demo slow.
        if batch.len() >= DEMO_EVENTS_PER_COMMIT || d + 1 == spec.days {
            total_events += batch.len() as u64;
            store.insert_events(std::mem::take(&mut batch)).await?;
        }
        progress(d + 1, spec.days);
    }
    Ok(DemoSummary {
        users: users.len(),
        events: total_events,
        skipped_existing: false,
    })
}

/// Events written per transaction while generating (a few days' worth at the default size).
const DEMO_EVENTS_PER_COMMIT: usize = 20_000;

fn demo_event_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::ConversationStart => "codex.conversation_starts",
        EventKind::UserPrompt => "codex.user_prompt",
        _ => "codex.sse_event",
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
