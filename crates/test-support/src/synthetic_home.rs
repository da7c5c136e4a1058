//! A synthetic Codex home: rollout files in the shapes of several Codex versions, with the exact
//! token figures the generator wrote kept aside as ground truth (per UTC day), so a reader can be
//! checked against what was written rather than against itself.
//!
//! Shapes (codex-facts §3 and Codex 0.169.0's own files):
//! - `legacy`: `turn_context` without ids, `user_message` prompts, `token_count` with both
//!   `last_token_usage` and the cumulative `total_token_usage`, plus a repeated total after each
//!   response (Codex re-emits it when only rate limits change);
//! - `totals_only`: `token_count` with only the cumulative total;
//! - `v0169`: `task_started` / `turn_context` with turn ids, a `token_usage_record` and a
//!   `token_count` for every response, `world_state` lines.
//!
//! Every file has large tool outputs in `response_item` lines (most of a real rollout's bytes);
//! one file in 50 has a megabyte-sized `compacted` line.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// What to generate.
#[derive(Clone, Debug)]
pub struct SyntheticSpec {
    pub files: usize,
    pub turns_per_file: usize,
    /// Bytes of tool output per turn (spread over a few `function_call_output` lines).
    pub tool_bytes_per_turn: usize,
    /// Days (from `first_day`) the sessions are spread over.
    pub days: u32,
    /// Unix seconds of the first day's 00:00 UTC [default: 2026-10-01].
    pub first_day: i64,
    pub seed: u64,
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        Self {
            files: 60,
            turns_per_file: 12,
            tool_bytes_per_turn: 6_000,
            days: 20,
            first_day: EPOCH_DAY,
            seed: 7,
        }
    }
}

/// Token figures, Codex semantics (cached inside input, reasoning inside output).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: u64,
    pub cached: u64,
    pub output: u64,
    pub reasoning: u64,
}

impl Tokens {
    pub fn total(&self) -> u64 {
        self.input + self.output
    }

    fn add(&mut self, o: &Tokens) {
        self.input += o.input;
        self.cached += o.cached;
        self.output += o.output;
        self.reasoning += o.reasoning;
    }

    fn json(&self) -> String {
        format!(
            r#"{{"input_tokens":{},"cached_input_tokens":{},"output_tokens":{},"reasoning_output_tokens":{},"total_tokens":{}}}"#,
            self.input,
            self.cached,
            self.output,
            self.reasoning,
            self.total()
        )
    }
}

/// What was written.
#[derive(Clone, Debug, Default)]
pub struct SyntheticTruth {
    /// `YYYY-MM-DD` (UTC) → tokens of the responses written that day.
    pub per_day: BTreeMap<String, Tokens>,
    pub total: Tokens,
    pub responses: u64,
    pub turns: u64,
    pub files: Vec<PathBuf>,
    pub bytes: u64,
}

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const MODELS: &[&str] = &["gpt-5-codex", "gpt-5", "gpt-5.1-codex-mini"];
const ORIGINATORS: &[(&str, &str)] = &[
    ("codex_cli_rs", "cli"),
    ("codex_exec", "exec"),
    ("codex_vscode", "vscode"),
];
/// 2026-10-01T00:00:00Z.
const EPOCH_DAY: i64 = 1_790_812_800;

/// Writes a synthetic home under `home` (`sessions/YYYY/MM/DD/rollout-*.jsonl`).
pub fn generate(home: &Path, spec: &SyntheticSpec) -> Result<SyntheticTruth> {
    let mut rng = Rng(spec.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut truth = SyntheticTruth::default();
    let pad: String = "lorem ipsum dolor sit amet, consectetur adipiscing elit; "
        .repeat(spec.tool_bytes_per_turn / 56 + 1)
        .chars()
        .take(spec.tool_bytes_per_turn / 3)
        .collect();
    for f in 0..spec.files {
        let day = rng.below(u64::from(spec.days.max(1))) as i64;
        let start = spec.first_day - spec.first_day.rem_euclid(86_400)
            + day * 86_400
            + 6 * 3600
            + rng.below(14 * 3600) as i64;
        let id = uuid_like(&mut rng);
        let (date, clock) = civil(start);
        let dir = home.join("sessions").join(date.replace('-', "/"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("rollout-{date}T{}-{id}.jsonl", clock.replace(':', "-")));
        let file = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let shape = f % 3;
        let (originator, source) = ORIGINATORS[rng.below(ORIGINATORS.len() as u64) as usize];
        let version = ["0.46.0", "0.58.0", "0.169.0"][shape];
        let mut t = start * 1000;
        writeln!(
            out,
            r#"{{"timestamp":"{}","type":"session_meta","payload":{{"id":"{id}","timestamp":"{}","cwd":"/home/dev/proj{f}","originator":"{originator}","cli_version":"{version}","source":"{source}","model_provider":"openai"}}}}"#,
            ts(t),
            ts(t)
        )?;
        let mut cumulative = Tokens::default();
        for turn in 0..spec.turns_per_file {
            let model = MODELS[rng.below(MODELS.len() as u64) as usize];
            let turn_id = format!("{id}-turn-{turn}");
            t += 1_000 + rng.below(120_000) as i64;
            match shape {
                2 => {
                    writeln!(
                        out,
                        r#"{{"timestamp":"{}","type":"event_msg","payload":{{"type":"task_started","turn_id":"{turn_id}","model_context_window":258400}}}}"#,
                        ts(t)
                    )?;
                    writeln!(
                        out,
                        r#"{{"timestamp":"{}","type":"turn_context","payload":{{"turn_id":"{turn_id}","cwd":"/home/dev/proj{f}","approval_policy":"on-request","sandbox_policy":{{"type":"workspace-write"}},"model":"{model}","effort":"medium"}}}}"#,
                        ts(t)
                    )?;
                    writeln!(
                        out,
                        r#"{{"timestamp":"{}","type":"world_state","payload":{{"full":false,"state":{{"current_date":"{date}"}}}}}}"#,
                        ts(t)
                    )?;
                }
                _ => {
                    writeln!(
                        out,
                        r#"{{"timestamp":"{}","type":"turn_context","payload":{{"cwd":"/home/dev/proj{f}","approval_policy":"on-request","sandbox_policy":{{"mode":"workspace-write"}},"model":"{model}","effort":"medium","summary":"auto"}}}}"#,
                        ts(t)
                    )?;
                    writeln!(
                        out,
                        r#"{{"timestamp":"{}","type":"event_msg","payload":{{"type":"user_message","message":"please do step {turn}","kind":"plain"}}}}"#,
                        ts(t)
                    )?;
                }
            }
            truth.turns += 1;
            let responses = 1 + rng.below(3);
            for r in 0..responses {
                t += 500 + rng.below(30_000) as i64;
                let call = format!("call_{f}_{turn}_{r}");
                writeln!(
                    out,
                    r#"{{"timestamp":"{}","type":"response_item","payload":{{"type":"function_call","name":"shell","arguments":"{{\"command\":[\"bash\",\"-lc\",\"ls\"]}}","call_id":"{call}"}}}}"#,
                    ts(t)
                )?;
                for _ in 0..3 {
                    writeln!(
                        out,
                        r#"{{"timestamp":"{}","type":"response_item","payload":{{"type":"function_call_output","call_id":"{call}","output":"{pad}"}}}}"#,
                        ts(t)
                    )?;
                }
                let input = 2_000 + rng.below(60_000);
                let output = 50 + rng.below(3_000);
                let usage = Tokens {
                    input,
                    cached: input * rng.below(90) / 100,
                    output,
                    reasoning: output * rng.below(60) / 100,
                };
                cumulative.add(&usage);
                let (day_key, _) = civil(t / 1000);
                truth.per_day.entry(day_key).or_default().add(&usage);
                truth.total.add(&usage);
                truth.responses += 1;
                match shape {
                    0 => {
                        writeln!(
                            out,
                            r#"{{"timestamp":"{}","type":"event_msg","payload":{{"type":"token_count","info":{{"total_token_usage":{},"last_token_usage":{},"model_context_window":272000}},"rate_limits":{{"primary":{{"used_percent":3.0,"window_minutes":300,"resets_at":1790000000}},"secondary":null}}}}}}"#,
                            ts(t),
                            cumulative.json(),
                            usage.json()
                        )?;
                        // Only the rate limits changed: the same cumulative total again.
                        writeln!(
                            out,
                            r#"{{"timestamp":"{}","type":"event_msg","payload":{{"type":"token_count","info":{{"total_token_usage":{},"last_token_usage":{},"model_context_window":272000}},"rate_limits":{{"primary":{{"used_percent":4.0,"window_minutes":300,"resets_at":1790000000}},"secondary":null}}}}}}"#,
                            ts(t + 5),
                            cumulative.json(),
                            usage.json()
                        )?;
                    }
                    1 => {
                        writeln!(
                            out,
                            r#"{{"timestamp":"{}","type":"event_msg","payload":{{"type":"token_count","info":{{"total_token_usage":{},"model_context_window":272000}},"rate_limits":null}}}}"#,
                            ts(t),
                            cumulative.json()
                        )?;
                    }
                    _ => {
                        writeln!(
                            out,
                            r#"{{"timestamp":"{}","type":"token_usage_record","payload":{{"thread_id":"{id}","turn_id":"{turn_id}","response_id":"resp_{f}_{turn}_{r}","usage":{},"thread_token_usage":{}}}}}"#,
                            ts(t),
                            usage.json(),
                            cumulative.json()
                        )?;
                        writeln!(
                            out,
                            r#"{{"timestamp":"{}","type":"event_msg","payload":{{"type":"token_count","info":{{"total_token_usage":{},"last_token_usage":{},"model_context_window":258400}},"rate_limits":null}}}}"#,
                            ts(t + 3),
                            cumulative.json(),
                            usage.json()
                        )?;
                    }
                }
            }
            t += 200;
            writeln!(
                out,
                r#"{{"timestamp":"{}","type":"event_msg","payload":{{"type":"agent_message","message":"done with step {turn}"}}}}"#,
                ts(t)
            )?;
            if shape == 2 {
                writeln!(
                    out,
                    r#"{{"timestamp":"{}","type":"event_msg","payload":{{"type":"task_complete","turn_id":"{turn_id}","last_agent_message":"done"}}}}"#,
                    ts(t)
                )?;
            }
        }
        if f % 50 == 49 {
            let summary = "summary of the conversation so far. ".repeat(30_000);
            writeln!(
                out,
                r#"{{"timestamp":"{}","type":"compacted","payload":{{"message":"{summary}"}}}}"#,
                ts(t)
            )?;
        }
        out.flush()?;
        drop(out);
        truth.bytes += std::fs::metadata(&path)?.len();
        truth.files.push(path);
    }
    Ok(truth)
}

fn uuid_like(rng: &mut Rng) -> String {
    let a = rng.next();
    let b = rng.next();
    format!(
        "{:08x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

/// RFC 3339 UTC with milliseconds, as Codex writes it.
fn ts(ms: i64) -> String {
    let (date, clock) = civil(ms.div_euclid(1000));
    format!("{date}T{clock}.{:03}Z", ms.rem_euclid(1000))
}

/// Unix seconds → (`YYYY-MM-DD`, `hh:mm:ss`) in UTC.
fn civil(secs: i64) -> (String, String) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_and_timestamps() {
        assert_eq!(civil(EPOCH_DAY).0, "2026-10-01");
        assert_eq!(ts(1_795_212_248_535), "2026-11-20T22:04:08.535Z");
    }

    #[test]
    fn truth_adds_up() {
        let dir = tempfile::tempdir().expect("dir");
        let spec = SyntheticSpec {
            files: 6,
            turns_per_file: 3,
            ..SyntheticSpec::default()
        };
        let truth = generate(dir.path(), &spec).expect("generate");
        assert_eq!(truth.files.len(), 6);
        assert_eq!(truth.turns, 18);
        let mut sum = Tokens::default();
        for t in truth.per_day.values() {
            sum.add(t);
        }
        assert_eq!(sum, truth.total);
        assert!(truth.total.cached <= truth.total.input && truth.total.reasoning <= truth.total.output);
        assert!(
            truth.bytes > 6 * 3 * 6_000,
            "tool output dominates: {}",
            truth.bytes
        );
    }
}
