//! Local usage reports straight from rollout files (`steward report`): tokens, credits and cost
//! per day, week, month or session, broken down by model and surface. Files are read in
//! parallel; each file is folded into a small partial report, and partials are merged.

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use rayon::prelude::*;
use serde::Serialize;
use steward_model::{client_id_for, RateCard, TokenUsage};

use crate::files::{find_rollouts, read_file, ReadMode, RolloutFile};
use crate::problem::{ProblemKind, Tally};
use crate::reader::Fact;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Daily,
    /// Weeks start on Monday (as in Steward's usage API), labelled by that Monday.
    Weekly,
    Monthly,
    /// One row per thread (a resumed thread stays one row).
    Session,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::Session => "session",
        }
    }
}

pub struct ReportOptions<'a> {
    pub period: Period,
    /// Days are cut in this zone (default in the CLI: the machine's own, as people expect).
    pub timezone: TimeZone,
    pub since: Option<Date>,
    pub until: Option<Date>,
    pub rate_card: &'a RateCard,
}

/// Token figures with Codex's subset semantics: `cached_input_tokens` is part of
/// `input_tokens`, `reasoning_output_tokens` part of `output_tokens`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    /// `input_tokens - cached_input_tokens` (what ccusage calls `inputTokens`).
    pub uncached_input_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_output_tokens: i64,
    pub total_tokens: i64,
    /// Model responses counted.
    pub responses: u64,
    pub turns: u64,
    pub credits: f64,
    pub cost_usd: f64,
    #[serde(skip)]
    credits_micro: i64,
    #[serde(skip)]
    usd_micro: i64,
}

impl Figures {
    fn add_usage(&mut self, u: &TokenUsage, credits_micro: i64, usd_micro: i64) {
        self.input_tokens += u.input;
        self.cached_input_tokens += u.cached_input;
        self.uncached_input_tokens += u.uncached_input();
        self.output_tokens += u.output;
        self.reasoning_output_tokens += u.reasoning_output;
        self.total_tokens += u.total;
        self.responses += 1;
        self.credits_micro += credits_micro;
        self.usd_micro += usd_micro;
        self.settle();
    }

    fn merge(&mut self, o: &Figures) {
        self.input_tokens += o.input_tokens;
        self.cached_input_tokens += o.cached_input_tokens;
        self.uncached_input_tokens += o.uncached_input_tokens;
        self.output_tokens += o.output_tokens;
        self.reasoning_output_tokens += o.reasoning_output_tokens;
        self.total_tokens += o.total_tokens;
        self.responses += o.responses;
        self.turns += o.turns;
        self.credits_micro += o.credits_micro;
        self.usd_micro += o.usd_micro;
        self.settle();
    }

    fn settle(&mut self) {
        self.credits = self.credits_micro as f64 / 1e6;
        self.cost_usd = self.usd_micro as f64 / 1e6;
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Row {
    /// `2026-11-20`, `2026-11-16` (the week's Monday), `2026-11`, or the thread id.
    pub period: String,
    #[serde(flatten)]
    pub figures: Figures,
    pub models: BTreeMap<String, Figures>,
    /// By OpenAI `client_id` (CODEX_CLI, CODEX_SERVICE_EXEC, ...).
    pub surfaces: BTreeMap<String, Figures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionInfo {
    pub files: Vec<String>,
    pub originator: Option<String>,
    pub cli_version: Option<String>,
    pub cwd: Option<String>,
    pub first_activity: Option<String>,
    pub last_activity: Option<String>,
    #[serde(skip)]
    first_ms: Option<i64>,
    #[serde(skip)]
    last_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub report: &'static str,
    pub timezone: String,
    pub rate_card: String,
    pub rows: Vec<Row>,
    pub totals: Figures,
    pub files: u64,
    pub bytes: u64,
    pub lines: u64,
    /// Parse problems by kind (never fatal; see `problem_examples`).
    pub problems: BTreeMap<ProblemKind, u64>,
    pub problem_examples: Vec<crate::problem::ProblemExample>,
    /// Line types this version does not know: kept out of usage and counted.
    pub unknown_line_types: BTreeMap<String, u64>,
    /// Files that could not be opened or read, with the reason.
    pub unreadable_files: Vec<String>,
}

#[derive(Default)]
struct Partial {
    rows: BTreeMap<String, Row>,
    tally: Tally,
    bytes: u64,
    files: u64,
    unreadable: Vec<String>,
}

impl Partial {
    fn merge(mut self, other: Partial) -> Partial {
        for (k, row) in other.rows {
            let mine = self.rows.entry(k).or_default();
            merge_row(mine, row);
        }
        self.tally.merge(other.tally);
        self.bytes += other.bytes;
        self.files += other.files;
        self.unreadable.extend(other.unreadable);
        self
    }
}

fn merge_row(into: &mut Row, row: Row) {
    if into.period.is_empty() {
        into.period = row.period.clone();
    }
    into.figures.merge(&row.figures);
    for (k, f) in row.models {
        into.models.entry(k).or_default().merge(&f);
    }
    for (k, f) in row.surfaces {
        into.surfaces.entry(k).or_default().merge(&f);
    }
    match (&mut into.session, row.session) {
        (None, s) => into.session = s,
        (Some(a), Some(b)) => {
            a.files.extend(b.files);
            a.files.sort();
            a.originator = a.originator.take().or(b.originator);
            a.cli_version = a.cli_version.take().or(b.cli_version);
            a.cwd = a.cwd.take().or(b.cwd);
            a.first_ms = min_opt(a.first_ms, b.first_ms);
            a.last_ms = a.last_ms.max(b.last_ms);
        }
        (Some(_), None) => {}
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Every rollout file of `homes` (see [`find_rollouts`]), each path once.
pub fn collect_files(homes: &[PathBuf]) -> std::io::Result<Vec<RolloutFile>> {
    let mut files = Vec::new();
    for home in homes {
        files.extend(
            find_rollouts(home)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", home.display())))?,
        );
    }
    files.sort();
    files.dedup_by(|a, b| a.path == b.path);
    Ok(files)
}

/// Builds the report over `files`; `progress(bytes)` is called as each file is done.
pub fn build(files: &[RolloutFile], opts: &ReportOptions<'_>, progress: &(dyn Fn(u64) + Sync)) -> Report {
    let partial = files
        .par_iter()
        .map(|f| {
            let p = one_file(f, opts);
            progress(f.len);
            p
        })
        .reduce(Partial::default, Partial::merge);
    let mut rows: Vec<Row> = partial.rows.into_values().collect();
    let mut totals = Figures::default();
    for row in &mut rows {
        totals.merge(&row.figures);
        if let Some(s) = row.session.as_mut() {
            s.first_activity = s.first_ms.map(|ms| iso(ms, &opts.timezone));
            s.last_activity = s.last_ms.map(|ms| iso(ms, &opts.timezone));
        }
    }
    if opts.period == Period::Session {
        rows.sort_by(|a, b| {
            let key = |r: &Row| r.session.as_ref().and_then(|s| s.first_ms);
            key(a).cmp(&key(b)).then_with(|| a.period.cmp(&b.period))
        });
    }
    Report {
        report: opts.period.as_str(),
        timezone: opts.timezone.iana_name().unwrap_or("UTC").to_owned(),
        rate_card: opts.rate_card.version.clone(),
        rows,
        totals,
        files: partial.files,
        bytes: partial.bytes,
        lines: partial.tally.lines,
        problems: partial.tally.problems,
        problem_examples: partial.tally.examples,
        unknown_line_types: partial.tally.unknown_types,
        unreadable_files: partial.unreadable,
    }
}

fn one_file(file: &RolloutFile, opts: &ReportOptions<'_>) -> Partial {
    let path = file.path.as_path();
    let mut part = Partial {
        files: 1,
        bytes: file.len,
        ..Partial::default()
    };
    let file_name = path.to_string_lossy().into_owned();
    let mut tally = Tally::default();
    let result = read_file(path, ReadMode::UsageOnly, &mut tally, |state, fact| {
        let (at_ms, model, is_turn, usage) = match &fact {
            Fact::Usage(u) => (u.at_ms, u.model.clone(), false, Some(u.usage)),
            Fact::Turn { at_ms, model, .. } => (*at_ms, model.clone(), true, None),
            _ => return,
        };
        let Some(date) = local_date(at_ms, &opts.timezone) else {
            return;
        };
        if opts.since.is_some_and(|s| date < s) || opts.until.is_some_and(|u| date > u) {
            return;
        }
        let meta = state.meta.as_ref();
        let surface = client_id_for(meta.and_then(|m| m.originator.as_deref())).to_owned();
        let model_name = model.clone().unwrap_or_else(|| "unknown".to_owned());
        let key = match opts.period {
            Period::Daily => date.to_string(),
            Period::Weekly => monday(date).to_string(),
            Period::Monthly => format!("{:04}-{:02}", date.year(), date.month()),
            Period::Session => state.thread_id().unwrap_or(&file_name).to_owned(),
        };
        let row = part.rows.entry(key.clone()).or_insert_with(|| Row {
            period: key,
            ..Row::default()
        });
        if opts.period == Period::Session {
            let s = row.session.get_or_insert_with(|| SessionInfo {
                files: vec![file_name.clone()],
                ..SessionInfo::default()
            });
            if let Some(m) = meta {
                s.originator = s.originator.take().or_else(|| m.originator.clone());
                s.cli_version = s.cli_version.take().or_else(|| m.cli_version.clone());
                s.cwd = s.cwd.take().or_else(|| m.cwd.clone());
            }
            s.first_ms = min_opt(s.first_ms, Some(at_ms));
            s.last_ms = s.last_ms.max(Some(at_ms));
        }
        match usage {
            Some(u) => {
                let price = opts.rate_card.price(model.as_deref(), &u);
                row.figures.add_usage(&u, price.credits_micro, price.usd_micro);
                row.models
                    .entry(model_name)
                    .or_default()
                    .add_usage(&u, price.credits_micro, price.usd_micro);
                row.surfaces
                    .entry(surface)
                    .or_default()
                    .add_usage(&u, price.credits_micro, price.usd_micro);
            }
            None if is_turn => {
                row.figures.turns += 1;
                row.models.entry(model_name).or_default().turns += 1;
                row.surfaces.entry(surface).or_default().turns += 1;
            }
            None => {}
        }
    });
    if let Err(e) = result {
        part.unreadable.push(format!("{file_name}: {e}"));
    }
    part.tally = tally;
    part
}

fn local_date(ms: i64, tz: &TimeZone) -> Option<Date> {
    let ts = jiff::Timestamp::from_millisecond(ms).ok()?;
    Some(ts.to_zoned(tz.clone()).date())
}

fn monday(d: Date) -> Date {
    let back = i64::from(d.weekday().to_monday_zero_offset());
    d.checked_sub(jiff::Span::new().days(back)).unwrap_or(d)
}

fn iso(ms: i64, tz: &TimeZone) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
}
