//! Rollouts of different Codex versions, damaged files and unknown future formats: usage is
//! read exactly once per response, problems are counted with their line, nothing stops a file.

use std::io::Write;

use steward_model::TokenUsage;
use steward_rollout::files::{read_file, ReadMode};
use steward_rollout::{
    feed_line, thread_id_from_file_name, Fact, ProblemKind, Tally, ThreadState, ToolFact, UsageBasis,
    UsageFact,
};

const THREAD: &str = "01a1fafd-05c3-7823-94f9-030a5d2f6e94";

fn usage_json(i: i64, c: i64, o: i64, r: i64) -> String {
    format!(
        r#"{{"input_tokens":{i},"cached_input_tokens":{c},"output_tokens":{o},"reasoning_output_tokens":{r},"total_tokens":{}}}"#,
        i + o
    )
}

fn u(i: i64, c: i64, o: i64, r: i64) -> TokenUsage {
    TokenUsage {
        input: i,
        cached_input: c,
        output: o,
        reasoning_output: r,
        total: i + o,
    }
}

fn meta(originator: &str, version: &str) -> String {
    format!(
        r#"{{"timestamp":"2026-11-20T22:04:08.535Z","type":"session_meta","payload":{{"id":"{THREAD}","timestamp":"2026-11-20T22:04:08.519Z","cwd":"/home/dev/p","originator":"{originator}","cli_version":"{version}","source":"exec","model_provider":"mock"}}}}"#
    )
}

fn token_count(ts: &str, total: Option<String>, last: Option<String>) -> String {
    let mut info = Vec::new();
    if let Some(t) = total {
        info.push(format!(r#""total_token_usage":{t}"#));
    }
    if let Some(l) = last {
        info.push(format!(r#""last_token_usage":{l}"#));
    }
    format!(
        r#"{{"timestamp":"{ts}","type":"event_msg","payload":{{"type":"token_count","info":{{{}}},"rate_limits":null}}}}"#,
        info.join(",")
    )
}

/// Writes `lines` (joined with newlines, plus `tail` bytes) as a rollout file and reads it.
fn read(lines: &[String], tail: &[u8]) -> (Vec<Fact>, Tally) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir
        .path()
        .join(format!("rollout-2026-11-20T22-04-08-{THREAD}.jsonl"));
    let mut f = std::fs::File::create(&path).expect("create");
    for l in lines {
        f.write_all(l.as_bytes()).expect("write");
        f.write_all(b"\n").expect("write");
    }
    f.write_all(tail).expect("tail");
    drop(f);
    let mut tally = Tally::default();
    let mut facts = Vec::new();
    read_file(&path, ReadMode::Everything, &mut tally, |_, fact| {
        facts.push(fact)
    })
    .expect("read");
    (facts, tally)
}

fn usages(facts: &[Fact]) -> Vec<&UsageFact> {
    facts
        .iter()
        .filter_map(|f| match f {
            Fact::Usage(u) => Some(u),
            _ => None,
        })
        .collect()
}

fn turns(facts: &[Fact]) -> Vec<(String, Option<String>)> {
    facts
        .iter()
        .filter_map(|f| match f {
            Fact::Turn { turn_id, model, .. } => Some((turn_id.clone(), model.clone())),
            _ => None,
        })
        .collect()
}

/// Codex 0.169.0's shape: task_started with ids, turn_context after it, a token_usage_record and
/// a token_count for the same response.
#[test]
fn codex_0_169_records_and_token_counts_count_once() {
    let turn = "01a1fafd-05d3-7e63-b0a2-cfa60a65ca0c";
    let lines = vec![
        meta("codex_exec", "0.169.0"),
        format!(
            r#"{{"timestamp":"2026-11-20T22:04:08.535Z","ordinal":1,"type":"event_msg","payload":{{"type":"task_started","turn_id":"{turn}","started_at":1795212248}}}}"#
        ),
        format!(
            r#"{{"timestamp":"2026-11-20T22:04:08.563Z","ordinal":5,"type":"turn_context","payload":{{"turn_id":"{turn}","model":"gpt-5-codex","approval_policy":"never","sandbox_policy":{{"type":"read-only"}}}}}}"#
        ),
        format!(
            r#"{{"timestamp":"2026-11-20T22:04:08.574Z","type":"event_msg","payload":{{"type":"item_completed","turn_id":"{turn}","item":{{"type":"UserMessage","content":[{{"type":"text","text":"say hello"}}]}}}}}}"#
        ),
        format!(
            r#"{{"timestamp":"2026-11-20T22:04:08.600Z","type":"response_item","payload":{{"type":"function_call","name":"shell","arguments":"{{}}","call_id":"call_1"}}}}"#
        ),
        format!(
            r#"{{"timestamp":"2026-11-20T22:04:08.601Z","type":"response_item","payload":{{"type":"function_call_output","call_id":"call_1","output":"ok"}}}}"#
        ),
        format!(
            r#"{{"timestamp":"2026-11-20T22:04:08.615Z","type":"token_usage_record","payload":{{"thread_id":"{THREAD}","turn_id":"{turn}","response_id":"resp_2","usage":{},"thread_token_usage":{}}}}}"#,
            usage_json(1200, 200, 30, 10),
            usage_json(1200, 200, 30, 10)
        ),
        token_count(
            "2026-11-20T22:04:08.623Z",
            Some(usage_json(1200, 200, 30, 10)),
            Some(usage_json(1200, 200, 30, 10)),
        ),
        format!(
            r#"{{"timestamp":"2026-11-20T22:04:08.634Z","type":"event_msg","payload":{{"type":"task_complete","turn_id":"{turn}","last_agent_message":"Hello"}}}}"#
        ),
        r#"{"timestamp":"2026-11-20T22:04:08.640Z","type":"world_state","payload":{"full":true}}"#.to_owned(),
    ];
    let (facts, tally) = read(&lines, b"");
    assert_eq!(tally.problem_count(), 0, "{tally:?}");
    assert!(tally.unknown_types.is_empty(), "{tally:?}");
    let used = usages(&facts);
    assert_eq!(
        used.len(),
        1,
        "one response, reported twice by the file: {used:?}"
    );
    assert_eq!(used[0].usage, u(1200, 200, 30, 10));
    assert_eq!(used[0].basis, UsageBasis::Record);
    assert_eq!(used[0].response_key, "resp_2");
    assert_eq!(used[0].turn_id.as_deref(), Some(turn));
    assert_eq!(used[0].model.as_deref(), Some("gpt-5-codex"));
    assert_eq!(
        turns(&facts),
        vec![(turn.to_owned(), Some("gpt-5-codex".to_owned()))]
    );
    assert!(
        matches!(&facts[0], Fact::Thread(m) if m.id == THREAD && m.originator.as_deref() == Some("codex_exec"))
    );
    assert!(facts
        .iter()
        .any(|f| matches!(f, Fact::Turn { prompt: Some(text), .. } if text == "say hello")));
    let tools = tool_facts(&facts);
    assert_eq!(tools.len(), 1, "{tools:?}");
    assert_eq!(tools[0].name, "shell");
    assert_eq!(tools[0].call_id.as_deref(), Some("call_1"));
    assert_eq!(tools[0].input.as_deref(), Some("{}"));
    assert_eq!(tools[0].output.as_deref(), Some("ok"));
    assert_eq!(tools[0].turn_id.as_deref(), Some(turn));
    assert!(
        matches!(&facts[1], Fact::Turn { prompt: Some(p), .. } if p == "say hello"),
        "{:?}",
        facts[1]
    );
}

fn tool_facts(facts: &[Fact]) -> Vec<&ToolFact> {
    facts
        .iter()
        .filter_map(|f| match f {
            Fact::Tool(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// Reads `lines` one at a time, carrying the state through JSON between lines, as the server
/// does between shipped pieces: whatever the cut, the same facts come out.
fn read_in_pieces(lines: &[String]) -> Vec<Fact> {
    let name = format!("rollout-2026-11-20T22-04-08-{THREAD}.jsonl");
    let mut state_json = serde_json::to_string(&ThreadState::for_file(&name)).expect("state");
    let mut facts = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let mut state: ThreadState = serde_json::from_str(&state_json).expect("state back");
        let mut tally = Tally::default();
        let raw = format!("{line}\n");
        feed_line(
            &mut state,
            &mut tally,
            (&name, i as u64 + 1),
            raw.as_bytes(),
            ReadMode::Everything,
            &mut facts,
        );
        state_json = serde_json::to_string(&state).expect("state");
    }
    facts
}

/// Prompts, answers and tool calls for the compliance log: the turn carries its prompt in
/// either line order, a call is reported with its output (string, content items, or
/// `{content, success}`), and a piece boundary anywhere changes nothing.
#[test]
fn content_travels_with_turns_and_tool_calls_across_pieces() {
    let turn = "019c0000-0000-7000-8000-000000000001";
    let old_style = vec![
        meta("codex_cli_rs", "0.46.0"),
        r#"{"timestamp":"2026-11-20T22:05:00.000Z","type":"event_msg","payload":{"type":"user_message","message":"list files"}}"#.to_owned(),
        r#"{"timestamp":"2026-11-20T22:05:00.010Z","type":"turn_context","payload":{"model":"gpt-5"}}"#.to_owned(),
        r#"{"timestamp":"2026-11-20T22:05:01.000Z","type":"response_item","payload":{"type":"local_shell_call","call_id":"c1","status":"completed","action":{"type":"exec","command":["ls"]}}}"#.to_owned(),
        r#"{"timestamp":"2026-11-20T22:05:01.500Z","type":"response_item","payload":{"type":"function_call_output","call_id":"c1","output":{"content":"a.txt","success":false}}}"#.to_owned(),
        r#"{"timestamp":"2026-11-20T22:05:02.000Z","type":"event_msg","payload":{"type":"agent_message","message":"One file."}}"#.to_owned(),
        token_count("2026-11-20T22:05:02.100Z", Some(usage_json(100, 0, 10, 0)), None),
    ];
    let new_style = vec![
        meta("codex_exec", "0.169.0"),
        format!(r#"{{"timestamp":"2026-11-20T22:06:00.000Z","type":"event_msg","payload":{{"type":"task_started","turn_id":"{turn}"}}}}"#),
        format!(r#"{{"timestamp":"2026-11-20T22:06:00.010Z","type":"turn_context","payload":{{"turn_id":"{turn}","model":"gpt-5-codex"}}}}"#),
        format!(r#"{{"timestamp":"2026-11-20T22:06:00.020Z","type":"event_msg","payload":{{"type":"item_completed","turn_id":"{turn}","item":{{"type":"UserMessage","content":[{{"type":"text","text":"patch it"}}]}}}}}}"#),
        r#"{"timestamp":"2026-11-20T22:06:01.000Z","type":"response_item","payload":{"type":"custom_tool_call","name":"apply_patch","call_id":"c2","input":"*** Begin Patch\n*** End Patch"}}"#.to_owned(),
        r#"{"timestamp":"2026-11-20T22:06:01.000Z","type":"response_item","payload":{"type":"function_call","name":"shell","call_id":"c3","arguments":"{\"command\":[\"true\"]}"}}"#.to_owned(),
        r#"{"timestamp":"2026-11-20T22:06:01.200Z","type":"response_item","payload":{"type":"custom_tool_call_output","call_id":"c2","output":[{"type":"input_text","text":"Done!"},{"type":"input_text","text":"1 file"}]}}"#.to_owned(),
        r#"{"timestamp":"2026-11-20T22:06:01.300Z","type":"response_item","payload":{"type":"function_call_output","call_id":"c9","output":"no such call"}}"#.to_owned(),
        r#"{"timestamp":"2026-11-20T22:06:01.400Z","type":"response_item","payload":{"type":"tool_search_call","call_id":"c4","arguments":{"query":"calendar","limit":1}}}"#.to_owned(),
        r#"{"timestamp":"2026-11-20T22:06:01.450Z","type":"response_item","payload":{"type":"tool_search_output","call_id":"c4","output":"calendar.create"}}"#.to_owned(),
        r#"{"timestamp":"2026-11-20T22:06:01.500Z","type":"response_item","payload":{"type":"web_search_call","id":"ws_1","status":"completed","action":{"type":"search","query":"rust"}}}"#.to_owned(),
        // One answer written twice (as an event and as a completed item), then said again
        // for real a model call later.
        format!(r#"{{"timestamp":"2026-11-20T22:06:02.000Z","type":"event_msg","payload":{{"type":"agent_message","turn_id":"{turn}","message":"Patched."}}}}"#),
        format!(r#"{{"timestamp":"2026-11-20T22:06:02.004Z","type":"event_msg","payload":{{"type":"item_completed","turn_id":"{turn}","item":{{"type":"AgentMessage","content":[{{"type":"Text","text":"Patched."}}]}}}}}}"#),
        format!(r#"{{"timestamp":"2026-11-20T22:06:05.000Z","type":"event_msg","payload":{{"type":"agent_message","turn_id":"{turn}","message":"Patched."}}}}"#),
        // Interrupted: c3's output never comes.
        format!(r#"{{"timestamp":"2026-11-20T22:06:06.000Z","type":"event_msg","payload":{{"type":"turn_aborted","turn_id":"{turn}"}}}}"#),
    ];
    for lines in [&old_style, &new_style] {
        let whole = read(lines, b"").0;
        let pieces = read_in_pieces(lines);
        assert_eq!(whole, pieces, "read whole and line by line");
        let turn_prompts: Vec<_> = pieces
            .iter()
            .filter_map(|f| match f {
                Fact::Turn { prompt, model, .. } => Some((prompt.clone(), model.clone())),
                _ => None,
            })
            .collect();
        let answers: Vec<_> = pieces
            .iter()
            .filter_map(|f| match f {
                Fact::AgentMessage { text, seq, .. } => Some((text.as_str(), *seq)),
                _ => None,
            })
            .collect();
        let tools = tool_facts(&pieces);
        if lines == &old_style {
            assert_eq!(
                turn_prompts,
                vec![(Some("list files".to_owned()), Some("gpt-5".to_owned()))]
            );
            assert_eq!(answers, vec![("One file.", 1)]);
            assert_eq!(tools.len(), 1, "{tools:?}");
            assert_eq!(tools[0].name, "local_shell");
            assert_eq!(
                tools[0].input.as_deref(),
                Some(r#"{"type":"exec","command":["ls"]}"#)
            );
            assert_eq!(tools[0].output.as_deref(), Some("a.txt"));
            assert_eq!(tools[0].success, Some(false));
            assert_eq!(tools[0].done_ms.map(|d| d - tools[0].called_ms), Some(500));
        } else {
            assert_eq!(
                turn_prompts,
                vec![(Some("patch it".to_owned()), Some("gpt-5-codex".to_owned()))]
            );
            assert_eq!(answers, vec![("Patched.", 1), ("Patched.", 2)]);
            // c9 has no call in this file: not reported.
            let summary: Vec<_> = tools
                .iter()
                .map(|t| {
                    (
                        t.call_id.as_deref(),
                        t.name.as_str(),
                        t.input.as_deref(),
                        t.output.as_deref(),
                    )
                })
                .collect();
            assert_eq!(
                summary,
                vec![
                    (
                        Some("c2"),
                        "apply_patch",
                        Some("*** Begin Patch\n*** End Patch"),
                        Some("Done!\n1 file")
                    ),
                    (
                        Some("c4"),
                        "",
                        Some(r#"{"query":"calendar","limit":1}"#),
                        Some("calendar.create")
                    ),
                    (
                        Some("ws_1"),
                        "web_search",
                        Some(r#"{"type":"search","query":"rust"}"#),
                        None
                    ),
                    // Closed without an output when its turn was aborted.
                    (Some("c3"), "shell", Some(r#"{"command":["true"]}"#), None),
                ]
            );
            assert!(tools.iter().all(|t| t.turn_id.as_deref() == Some(turn)));
            assert_eq!(tools[0].success, None);
        }
    }
}

/// A thread whose outputs never come keeps at most `MAX_OPEN_CALLS` calls waiting: the oldest
/// is reported without one. And state saved before calls and answers were tracked still loads.
#[test]
fn open_calls_are_bounded_and_older_state_loads() {
    let mut lines = vec![meta("codex_exec", "0.169.0")];
    for n in 0..=steward_rollout::reader::MAX_OPEN_CALLS {
        lines.push(format!(
            r#"{{"timestamp":"2026-11-20T22:07:{:02}.{:03}Z","type":"response_item","payload":{{"type":"function_call","name":"shell","call_id":"k{n}","arguments":"{{}}"}}}}"#,
            n / 1000,
            n % 1000
        ));
    }
    let facts = read_in_pieces(&lines);
    let tools = tool_facts(&facts);
    assert_eq!(tools.len(), 1, "{tools:?}");
    assert_eq!(tools[0].call_id.as_deref(), Some("k0"));
    assert_eq!(tools[0].output, None);

    let name = format!("rollout-2026-11-20T22-04-08-{THREAD}.jsonl");
    let old = r#"{"meta":null,"fallback_id":"x","model":"gpt-5","turn":{"id":"t1","started_ms":5,"announced":true,"real":true,"ended":false,"prompted":true,"used":true},"turns":1,"prev_total":null,"usage_records":false,"last_ms":5}"#;
    let mut state: ThreadState = serde_json::from_str(old).expect("state of the previous version");
    let mut out = Vec::new();
    feed_line(
        &mut state,
        &mut Tally::default(),
        (&name, 1),
        br#"{"timestamp":"2026-11-20T22:08:00.000Z","type":"event_msg","payload":{"type":"agent_message","message":"ok"}}"#,
        ReadMode::Everything,
        &mut out,
    );
    assert!(
        matches!(&out[..], [Fact::AgentMessage { seq: 1, turn_id: Some(t), .. }] if t == "t1"),
        "{out:?}"
    );
}

/// Older versions: token_count only; a repeated cumulative total is not a new response; a file
/// with totals only gets differences; a resumed thread's restarted counter is new usage.
#[test]
fn token_counts_per_response_deltas_duplicates_and_restarts() {
    let lines = vec![
        meta("codex_cli_rs", "0.46.0"),
        r#"{"timestamp":"2025-10-01T10:00:00.000Z","type":"turn_context","payload":{"model":"gpt-5","cwd":"/p"}}"#.to_owned(),
        r#"{"timestamp":"2025-10-01T10:00:01.000Z","type":"event_msg","payload":{"type":"user_message","message":"fix it"}}"#.to_owned(),
        token_count("2025-10-01T10:00:02.000Z", Some(usage_json(1000, 400, 100, 20)), Some(usage_json(1000, 400, 100, 20))),
        // Rate limits changed only: the same total again.
        token_count("2025-10-01T10:00:03.000Z", Some(usage_json(1000, 400, 100, 20)), Some(usage_json(1000, 400, 100, 20))),
        r#"{"timestamp":"2025-10-01T10:00:03.500Z","type":"event_msg","payload":{"type":"token_count","info":null,"rate_limits":{"primary":null}}}"#.to_owned(),
        // Totals only: the difference is the response.
        token_count("2025-10-01T10:00:04.000Z", Some(usage_json(2500, 1400, 160, 30)), None),
        r#"{"timestamp":"2025-10-01T10:00:05.000Z","type":"event_msg","payload":{"type":"task_complete","last_agent_message":"done"}}"#.to_owned(),
        // Resumed later: a new turn_context and prompt; this version restarted the counter.
        r#"{"timestamp":"2025-10-02T09:00:00.000Z","type":"turn_context","payload":{"model":"gpt-5-codex","cwd":"/p"}}"#.to_owned(),
        r#"{"timestamp":"2025-10-02T09:00:01.000Z","type":"event_msg","payload":{"type":"user_message","message":"again"}}"#.to_owned(),
        token_count("2025-10-02T09:00:02.000Z", Some(usage_json(700, 0, 50, 0)), None),
    ];
    let (facts, tally) = read(&lines, b"");
    assert_eq!(tally.problem_count(), 0, "{tally:?}");
    let used = usages(&facts);
    let figures: Vec<TokenUsage> = used.iter().map(|x| x.usage).collect();
    assert_eq!(
        figures,
        vec![u(1000, 400, 100, 20), u(1500, 1000, 60, 10), u(700, 0, 50, 0)]
    );
    assert_eq!(
        used.iter().map(|x| x.basis).collect::<Vec<_>>(),
        vec![
            UsageBasis::LastTokenUsage,
            UsageBasis::TotalDelta,
            UsageBasis::TotalDelta
        ]
    );
    assert_eq!(
        used[2].model.as_deref(),
        Some("gpt-5-codex"),
        "the resumed turn's model"
    );
    let t = turns(&facts);
    assert_eq!(t.len(), 2, "two prompts, two turns: {t:?}");
    assert_eq!(t[0].0, format!("{THREAD}#1"));
    assert_eq!(t[1].1.as_deref(), Some("gpt-5-codex"));
    // Each response is in a turn.
    assert!(used.iter().all(|x| x.turn_id.is_some()));
}

/// Garbage, cut-off lines and wrong types are counted with their line numbers; every good line
/// around them still counts, and a bad token figure is an error, never a zero.
#[test]
fn damaged_lines_are_counted_and_skipped() {
    let lines = vec![
        meta("codex_cli_rs", "0.80.0"),
        r#"{"timestamp":"2025-10-01T10:00:00.000Z","type":"turn_context","payload":{"model":"gpt-5"}}"#
            .to_owned(),
        "this is not json".to_owned(),
        "[1,2,3]".to_owned(),
        token_count(
            "2025-10-01T10:00:02.000Z",
            None,
            Some(r#"{"input_tokens":"12","output_tokens":3}"#.to_owned()),
        ),
        r#"{"timestamp":"yesterday","type":"event_msg","payload":{"type":"agent_message","message":"x"}}"#
            .to_owned(),
        r#"{"payload":{}}"#.to_owned(),
        token_count(
            "2025-10-01T10:00:03.000Z",
            None,
            Some(usage_json(900, 100, 90, 9)),
        ),
    ];
    let mut garbage = vec![0xff, 0xfe, 0x00, 0x9c, b'\n'];
    // ...and a last line cut off mid-write.
    garbage.extend_from_slice(br#"{"timestamp":"2025-10-01T10:00:04.000Z","type":"event_msg","payload":{"type":"token_count","info":{"last_token_usage":{"input_tokens":5"#);
    let (facts, tally) = read(&lines, &garbage);
    let used = usages(&facts);
    assert_eq!(used.len(), 1, "only the good token line: {used:?}");
    assert_eq!(used[0].usage, u(900, 100, 90, 9));
    let count = |k| tally.problems.get(&k).copied().unwrap_or(0);
    assert_eq!(count(ProblemKind::MalformedJson), 1, "{tally:?}");
    assert_eq!(count(ProblemKind::NotAnObject), 1, "{tally:?}");
    assert_eq!(
        count(ProblemKind::BadField),
        2,
        "string token figure, bad timestamp: {tally:?}"
    );
    assert_eq!(count(ProblemKind::MissingField), 1, "{tally:?}");
    assert_eq!(count(ProblemKind::NotUtf8), 1, "{tally:?}");
    assert_eq!(count(ProblemKind::Truncated), 1, "{tally:?}");
    assert_eq!(tally.lines, 10);
    let bad_figure = tally
        .examples
        .iter()
        .find(|e| e.line == 5)
        .expect("line 5 is named");
    assert!(
        bad_figure.detail.contains("last_token_usage.input_tokens"),
        "the field is named: {bad_figure:?}"
    );
    let cut = tally.examples.iter().find(|e| e.line == 10).expect("line 10");
    assert_eq!(cut.kind, ProblemKind::Truncated);
}

/// A rollout from a future version: new line types and event types are counted as unknown,
/// extra fields are ignored, and the usage Steward does understand is still read.
#[test]
fn unknown_future_versions_keep_what_is_understood() {
    let lines = vec![
        r#"{"timestamp":"2027-03-01T08:00:00.000Z","type":"session_meta","payload":{"id":"0199a1b2-0000-7000-8000-000000000001","originator":"codex_cli_rs","cli_version":"9.0.0","source":{"subagent":{"thread_spawn":{"depth":1}}},"hologram":{"x":1}}}"#.to_owned(),
        r#"{"timestamp":"2027-03-01T08:00:00.100Z","type":"quantum_state","payload":{"tokens":999999}}"#.to_owned(),
        r#"{"timestamp":"2027-03-01T08:00:00.200Z","type":"event_msg","payload":{"type":"telepathy_started","turn_id":"t-9"}}"#.to_owned(),
        r#"{"timestamp":"2027-03-01T08:00:00.300Z","type":"event_msg","payload":{"type":"turn_started","turn_id":"t-9","brand_new":true}}"#.to_owned(),
        r#"{"timestamp":"2027-03-01T08:00:00.400Z","type":"turn_context","payload":{"turn_id":"t-9","model":"gpt-9-codex","new_knob":[1,2]}}"#.to_owned(),
        token_count("2027-03-01T08:00:01.000Z", Some(r#"{"input_tokens":10,"cached_input_tokens":0,"cache_write_input_tokens":7,"output_tokens":5,"reasoning_output_tokens":0,"total_tokens":15,"future_tokens":3}"#.to_owned()), Some(usage_json(10, 0, 5, 0))),
    ];
    let (facts, tally) = read(&lines, b"");
    assert_eq!(tally.problem_count(), 0, "{tally:?}");
    assert_eq!(tally.unknown_types.get("quantum_state"), Some(&1));
    assert_eq!(tally.unknown_types.get("event_msg.telepathy_started"), Some(&1));
    let used = usages(&facts);
    assert_eq!(used.len(), 1);
    assert_eq!(used[0].usage, u(10, 0, 5, 0));
    assert_eq!(used[0].turn_id.as_deref(), Some("t-9"));
    assert!(
        matches!(&facts[0], Fact::Thread(m) if m.source.as_deref().is_some_and(|s| s.contains("subagent")))
    );
}

#[test]
fn thread_ids_come_from_file_names() {
    assert_eq!(
        thread_id_from_file_name(&format!("/x/rollout-2025-10-01T14-03-22-{THREAD}.jsonl")).as_deref(),
        Some(THREAD)
    );
    assert_eq!(
        thread_id_from_file_name("rollout-2025-10-01T14-03-22-short.jsonl"),
        None
    );
    assert_eq!(thread_id_from_file_name("notes.txt"), None);
}

/// A file with usage but no session_meta is read (the name gives the thread) and flagged.
#[test]
fn usage_without_session_meta_is_flagged_but_kept() {
    let lines = vec![token_count(
        "2025-10-01T10:00:03.000Z",
        None,
        Some(usage_json(9, 0, 1, 0)),
    )];
    let (facts, tally) = read(&lines, b"");
    assert_eq!(usages(&facts).len(), 1);
    assert_eq!(tally.problems.get(&ProblemKind::NoSessionMeta), Some(&1));
}

/// Versions without turn ids cut turns on prompts and turn_contexts, in either order; the
/// turn_context written at resume is not a turn by itself.
#[test]
fn turns_without_ids_in_either_order() {
    let tc =
        |ts: &str| format!(r#"{{"timestamp":"{ts}","type":"turn_context","payload":{{"model":"gpt-5"}}}}"#);
    let um = |ts: &str| {
        format!(
            r#"{{"timestamp":"{ts}","type":"event_msg","payload":{{"type":"user_message","message":"go"}}}}"#
        )
    };
    let tok = |ts: &str, n: i64| token_count(ts, None, Some(usage_json(n, 0, 1, 0)));
    let prompt_first = vec![
        meta("codex_cli_rs", "0.30.0"),
        um("2025-10-01T10:00:00.000Z"),
        tc("2025-10-01T10:00:00.100Z"),
        tok("2025-10-01T10:00:01.000Z", 10),
        tok("2025-10-01T10:00:02.000Z", 20),
        um("2025-10-01T10:01:00.000Z"),
        tc("2025-10-01T10:01:00.100Z"),
        tok("2025-10-01T10:01:01.000Z", 30),
        // resume: a bare turn_context, then nothing
        tc("2025-10-02T10:00:00.000Z"),
    ];
    let (facts, _) = read(&prompt_first, b"");
    assert_eq!(turns(&facts).len(), 2, "{:?}", turns(&facts));
    let context_first = vec![
        meta("codex_cli_rs", "0.40.0"),
        tc("2025-10-01T10:00:00.000Z"),
        um("2025-10-01T10:00:00.100Z"),
        tok("2025-10-01T10:00:01.000Z", 10),
        tc("2025-10-01T10:01:00.000Z"),
        um("2025-10-01T10:01:00.100Z"),
        tok("2025-10-01T10:01:01.000Z", 30),
        tc("2025-10-01T10:02:00.000Z"),
        um("2025-10-01T10:02:00.100Z"),
    ];
    let (facts, _) = read(&context_first, b"");
    assert_eq!(
        turns(&facts).len(),
        3,
        "a prompt without usage yet is still a turn"
    );
    let per_turn: Vec<Option<String>> = usages(&facts).iter().map(|u| u.turn_id.clone()).collect();
    assert_eq!(
        per_turn,
        vec![Some(format!("{THREAD}#1")), Some(format!("{THREAD}#2"))]
    );
}

/// A `session_meta` without its own `timestamp` starts the thread at the line's time, not
/// at 1970.
#[test]
fn a_session_meta_without_a_timestamp_takes_the_lines() {
    let lines = vec![format!(
        r#"{{"timestamp":"2026-11-20T22:04:08.535Z","type":"session_meta","payload":{{"id":"{THREAD}","originator":"codex_exec","cli_version":"0.40.0"}}}}"#
    )];
    let (facts, tally) = read(&lines, b"");
    assert_eq!(tally.problem_count(), 0, "{tally:?}");
    let started = facts.iter().find_map(|f| match f {
        Fact::Thread(m) => Some(m.started_ms),
        _ => None,
    });
    assert_eq!(started, Some(Some(1_795_212_248_535)));
}

/// The newest Codex versions may compress rollouts (`.jsonl.zst`): read like the plain file,
/// and a compressed copy beside its plain file is not a second session.
#[test]
fn compressed_rollouts_read_like_plain_ones_and_plain_wins() {
    let turn = "019c0000-0000-7000-8000-0000000000aa";
    let lines = [
        meta("codex_exec", "0.169.0"),
        format!(
            r#"{{"timestamp":"2026-11-20T22:06:00.000Z","type":"event_msg","payload":{{"type":"task_started","turn_id":"{turn}"}}}}"#
        ),
        format!(
            r#"{{"timestamp":"2026-11-20T22:06:00.010Z","type":"turn_context","payload":{{"turn_id":"{turn}","model":"gpt-5-codex"}}}}"#
        ),
        token_count(
            "2026-11-20T22:06:01.000Z",
            Some(usage_json(500, 100, 20, 5)),
            None,
        ),
    ];
    let text = lines.join("\n") + "\n";
    let dir = tempfile::tempdir().expect("dir");
    let day = dir.path().join("sessions/2026/11/20");
    std::fs::create_dir_all(&day).expect("dirs");
    let name = format!("rollout-2026-11-20T22-04-08-{THREAD}.jsonl");
    let zst = day.join(format!("{name}.zst"));
    std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 3).expect("compress")).expect("write");

    let read_all = |path: &std::path::Path| {
        let mut facts = Vec::new();
        read_file(path, ReadMode::Everything, &mut Tally::default(), |_, f| {
            facts.push(f)
        })
        .expect("read");
        facts
    };
    let found = steward_rollout::files::find_rollouts(dir.path()).expect("find");
    assert_eq!(found.len(), 1, "{found:?}");
    let compressed = read_all(&found[0].path);
    assert_eq!(usages(&compressed).len(), 1);
    assert_eq!(usages(&compressed)[0].usage, u(500, 100, 20, 5));

    std::fs::write(day.join(&name), &text).expect("plain copy");
    let found = steward_rollout::files::find_rollouts(dir.path()).expect("find");
    assert_eq!(found.len(), 1, "the plain file only: {found:?}");
    assert!(found[0].path.ends_with(&name));
    assert_eq!(read_all(&found[0].path), compressed);
}
