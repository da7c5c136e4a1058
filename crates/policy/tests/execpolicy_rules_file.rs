//! `.rules` reader and writer behaviour that needs no Codex binary: error kinds and positions,
//! writer refusals, and evaluation details pinned down from the CLI by the differential test.

use steward_policy::execpolicy::{
    parse_rules, write_rules, Decision, PatternToken, Policy, Position, PrefixRule, ReadErrorKind, Reviewer,
    WriteError,
};

fn exact(tokens: &[&str]) -> Vec<PatternToken> {
    tokens
        .iter()
        .map(|t| PatternToken::Exact(t.to_string()))
        .collect()
}

fn rule(pattern: Vec<PatternToken>, decision: Decision) -> PrefixRule {
    PrefixRule {
        pattern,
        decision,
        justification: None,
        reviewer: None,
    }
}

fn argv(tokens: &[&str]) -> Vec<String> {
    tokens.iter().map(|t| t.to_string()).collect()
}

fn error_at(source: &str) -> (Position, ReadErrorKind) {
    let error = parse_rules(source).expect_err("should be rejected");
    (error.position, error.kind)
}

#[test]
fn errors_carry_line_and_column() {
    let (position, kind) =
        error_at("prefix_rule(pattern=[\"a\"])\n\nprefix_rule(pattern=[\"a\"], decision=\"deny\")\n");
    assert_eq!(position, Position { line: 3, column: 1 });
    assert_eq!(kind, ReadErrorKind::InvalidDecision("deny".into()));

    let (position, kind) = error_at("prefix_rule(pattern=[\"a\"],\tdecision=\"allow\")");
    assert_eq!(
        (position, kind),
        (Position { line: 1, column: 27 }, ReadErrorKind::Tab)
    );

    let (position, kind) = error_at("prefix_rule(\n  pattern=[\"ok\", \"\\x4\"])");
    assert_eq!(
        (position, kind),
        (Position { line: 2, column: 19 }, ReadErrorKind::InvalidEscape)
    );

    let (position, kind) = error_at("# c\n  prefix_rule(pattern=[\"a\"])");
    assert_eq!(
        (position, kind),
        (Position { line: 2, column: 1 }, ReadErrorKind::Indentation)
    );

    let (position, kind) = error_at("prefix_rule(pattern=[\"a\"], reviewer=\"user\")");
    assert_eq!(
        (position, kind),
        (
            Position { line: 1, column: 28 },
            ReadErrorKind::ReviewerUnsupported
        )
    );

    let (position, kind) = error_at("x = 1");
    assert_eq!(position, Position { line: 1, column: 1 });
    assert!(matches!(kind, ReadErrorKind::Unsupported(_)), "{kind:?}");

    let error = parse_rules(
        "prefix_rule(pattern=[\"a\"])\nprefix_rule(pattern=[\"a\", \"b\"], match=[\"a c\", \"a b\", \"a\"])",
    )
    .expect_err("unmatched examples");
    assert_eq!(error.position, Position { line: 2, column: 1 });
    assert_eq!(
        error.kind,
        ReadErrorKind::ExampleDidNotMatch(vec![argv(&["a", "c"]), argv(&["a"])])
    );
    assert_eq!(
        error.to_string(),
        "line 2, column 1: expected every `match` example to match the rule; unmatched: [[\"a\",\"c\"],[\"a\"]]"
    );
}

#[test]
fn writer_refuses_rules_codex_would_not_load_identically() {
    let mut with_reviewer = rule(exact(&["git"]), Decision::Prompt);
    with_reviewer.reviewer = Some(Reviewer::User);
    let mut blank = rule(exact(&["git"]), Decision::Prompt);
    blank.justification = Some(" \n".into());
    let cases = [
        (
            rule(Vec::new(), Decision::Allow),
            WriteError::EmptyPattern { rule: 1 },
        ),
        (
            rule(
                vec![PatternToken::Exact("git".into()), PatternToken::AnyOf(Vec::new())],
                Decision::Allow,
            ),
            WriteError::EmptyAlternatives { rule: 1, position: 1 },
        ),
        (blank, WriteError::BlankJustification { rule: 1 }),
        (with_reviewer, WriteError::Reviewer { rule: 1 }),
    ];
    for (bad, expected) in cases {
        let rules = [rule(exact(&["ok"]), Decision::Allow), bad];
        assert_eq!(write_rules(&rules), Err(expected));
    }
}

#[test]
fn writer_output_is_one_readable_line_per_rule() {
    let mut rules = vec![
        rule(
            vec![
                PatternToken::AnyOf(vec!["git".into(), "hg".into()]),
                PatternToken::Exact("push".into()),
            ],
            Decision::Prompt,
        ),
        rule(exact(&["rm", "-rf"]), Decision::Forbidden),
    ];
    rules[1].justification = Some("say \"no\"\n\\".into());
    assert_eq!(
        write_rules(&rules).unwrap(),
        "prefix_rule(pattern=[[\"git\", \"hg\"], \"push\"], decision=\"prompt\")\n\
         prefix_rule(pattern=[\"rm\", \"-rf\"], decision=\"forbidden\", justification=\"say \\\"no\\\"\\n\\\\\")\n"
    );
}

#[test]
fn matches_follow_rule_order_per_program_and_repeat_duplicates() {
    let mut justified = rule(exact(&["git", "push"]), Decision::Prompt);
    justified.justification = Some("review".into());
    let policy = Policy::new([
        justified.clone(),
        rule(exact(&["ls"]), Decision::Allow),
        rule(
            vec![PatternToken::AnyOf(vec!["git".into(), "git".into()])],
            Decision::Forbidden,
        ),
        justified,
    ]);
    let command = argv(&["git", "push", "origin"]);
    let evaluation = policy.check(&command);
    assert_eq!(evaluation.decision, Some(Decision::Forbidden));
    assert_eq!(
        evaluation.to_json(),
        concat!(
            r#"{"matchedRules":["#,
            r#"{"prefixRuleMatch":{"matchedPrefix":["git","push"],"decision":"prompt","justification":"review"}},"#,
            r#"{"prefixRuleMatch":{"matchedPrefix":["git"],"decision":"forbidden"}},"#,
            r#"{"prefixRuleMatch":{"matchedPrefix":["git"],"decision":"forbidden"}},"#,
            r#"{"prefixRuleMatch":{"matchedPrefix":["git","push"],"decision":"prompt","justification":"review"}}"#,
            r#"],"decision":"forbidden"}"#
        )
    );

    let short = argv(&["git"]);
    assert_eq!(policy.check(&short).matched_rules.len(), 2);
    let none = argv(&["hg", "push"]);
    let evaluation = policy.check(&none);
    assert_eq!(evaluation.decision, None);
    assert_eq!(evaluation.to_json(), r#"{"matchedRules":[]}"#);
    assert_eq!(evaluation.to_json_pretty(), "{\n  \"matchedRules\": []\n}");
}

#[test]
fn reviewer_is_reported_when_set() {
    let mut reviewed = rule(exact(&["git"]), Decision::Prompt);
    reviewed.reviewer = Some(Reviewer::AutoReview);
    let policy = Policy::new([reviewed]);
    let command = argv(&["git"]);
    assert_eq!(
        policy.check(&command).to_json(),
        r#"{"matchedRules":[{"prefixRuleMatch":{"matchedPrefix":["git"],"decision":"prompt","reviewer":"auto_review"}}],"decision":"prompt"}"#
    );
}
