//! Reads the `prefix_rule(...)` subset of Codex's Starlark `.rules` files.
//!
//! Steward has to load `.rules` files it wrote and ones admins wrote by hand, without embedding
//! a Starlark interpreter. The subset: top-level `prefix_rule(...)` calls (separated by newlines
//! or `;`), positional or keyword arguments, string and list literals, comments. Anything else
//! is a [`ReadErrorKind::Unsupported`] error rather than a guess.
//!
//! Validation follows Codex 0.169.0's `prefix_rule` builtin: the same argument names and
//! positional order, the same type and value checks, and `match` / `not_match` examples checked
//! once the whole file is read (each against only the rules of its own call).

use super::error::{Position, ReadError, ReadErrorKind};
use super::lexer::{tokenize, Token};
use crate::execpolicy::policy::Policy;
use crate::execpolicy::rule::{Decision, PatternToken, PrefixRule};
use crate::execpolicy::shlex;

/// Parses a `.rules` file into its rules, in file order (first-position alternatives are kept
/// unexpanded; [`Policy`] expands them).
pub fn parse_rules(source: &str) -> Result<Vec<PrefixRule>, ReadError> {
    let tokens = tokenize(source);
    let mut parser = Parser { tokens, next: 0 };
    let mut calls = Vec::new();
    loop {
        while parser.peek() == &Token::Newline {
            parser.advance();
        }
        if parser.peek() == &Token::Eof {
            break;
        }
        calls.push(parser.call()?);
        // `a()`, `a();`, `a(); b()` but not `;` alone or `a();;`.
        while parser.peek() == &Token::Semicolon {
            parser.advance();
            if parser.peek() == &Token::Newline {
                break;
            }
            calls.push(parser.call()?);
        }
        parser.expect(&Token::Newline, "end of line")?;
    }
    let mut rules = Vec::with_capacity(calls.len());
    for call in &calls {
        rules.push(call.rule()?);
    }
    for (call, rule) in calls.iter().zip(&rules) {
        call.validate_examples(rule)?;
    }
    Ok(rules)
}

/// A literal argument value.
#[derive(Debug)]
enum Value {
    Str(String),
    List(Vec<Value>),
}

/// One `prefix_rule(...)` call with its arguments bound to parameters.
#[derive(Debug)]
struct Call {
    position: Position,
    pattern: Option<Value>,
    decision: Option<Value>,
    matches: Option<Value>,
    not_matches: Option<Value>,
    justification: Option<Value>,
}

/// `prefix_rule`'s parameters in positional order (Codex 0.169.0's signature).
const PARAMETERS: [&str; 5] = ["pattern", "decision", "match", "not_match", "justification"];

struct Parser {
    tokens: Vec<(Token, Position)>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.next].0
    }

    fn peek_second(&self) -> &Token {
        self.tokens
            .get(self.next + 1)
            .map_or(&Token::Eof, |(token, _)| token)
    }

    fn position(&self) -> Position {
        self.tokens[self.next].1
    }

    fn advance(&mut self) -> (Token, Position) {
        let token = self.tokens[self.next].clone();
        if self.next + 1 < self.tokens.len() {
            self.next += 1;
        }
        token
    }

    /// The error for the next token, which is not what the grammar allows here: the lexer's
    /// own error if lexing stopped there.
    fn unexpected(&self, expected: &str) -> ReadError {
        let kind = match self.peek() {
            Token::Invalid(kind) => kind.clone(),
            other => ReadErrorKind::Syntax(format!("expected {expected}, found {}", other.describe())),
        };
        ReadError {
            position: self.position(),
            kind,
        }
    }

    fn expect(&mut self, token: &Token, description: &str) -> Result<(), ReadError> {
        if self.peek() == token {
            self.advance();
            Ok(())
        } else {
            Err(self.unexpected(description))
        }
    }

    /// `prefix_rule(args)`; any other statement is unsupported.
    fn call(&mut self) -> Result<Call, ReadError> {
        let position = self.position();
        match self.peek() {
            Token::Ident(name) if name == "prefix_rule" => {}
            Token::Ident(name) => {
                let what = if self.peek_second() == &Token::LParen {
                    format!("{name}()")
                } else {
                    format!("`{name}`")
                };
                return Err(ReadError {
                    position,
                    kind: ReadErrorKind::Unsupported(what),
                });
            }
            _ => return Err(self.unexpected("prefix_rule(...)")),
        }
        self.advance();
        self.expect(&Token::LParen, "`(`")?;
        let mut call = Call {
            position,
            pattern: None,
            decision: None,
            matches: None,
            not_matches: None,
            justification: None,
        };
        let mut positional = 0;
        let mut seen_keyword = false;
        while self.peek() != &Token::RParen {
            let arg_position = self.position();
            let name = match (self.peek(), self.peek_second()) {
                (Token::Ident(name), Token::Equals) => {
                    let name = name.clone();
                    self.advance();
                    self.advance();
                    seen_keyword = true;
                    Some(name)
                }
                _ => None,
            };
            let value = self.value()?;
            let arg_error = |kind| ReadError {
                position: arg_position,
                kind,
            };
            let parameter = match name {
                Some(name) => match PARAMETERS.iter().position(|p| *p == name) {
                    Some(index) => index,
                    None if name == "reviewer" => return Err(arg_error(ReadErrorKind::ReviewerUnsupported)),
                    None => return Err(arg_error(ReadErrorKind::UnknownArgument(name))),
                },
                None if seen_keyword => return Err(arg_error(ReadErrorKind::PositionalAfterKeyword)),
                None if positional == PARAMETERS.len() => {
                    return Err(arg_error(ReadErrorKind::TooManyPositional))
                }
                None => {
                    positional += 1;
                    positional - 1
                }
            };
            let slot = match parameter {
                0 => &mut call.pattern,
                1 => &mut call.decision,
                2 => &mut call.matches,
                3 => &mut call.not_matches,
                _ => &mut call.justification,
            };
            if slot.replace(value).is_some() {
                return Err(arg_error(ReadErrorKind::RepeatedArgument(
                    PARAMETERS[parameter].to_string(),
                )));
            }
            if self.peek() == &Token::Comma {
                self.advance();
            } else if self.peek() != &Token::RParen {
                return Err(self.unexpected("`,` or `)`"));
            }
        }
        self.advance();
        Ok(call)
    }

    /// A string or list literal.
    fn value(&mut self) -> Result<Value, ReadError> {
        match self.peek().clone() {
            Token::Str(value) => {
                self.advance();
                Ok(Value::Str(value))
            }
            Token::LBracket => {
                self.advance();
                let mut items = Vec::new();
                while self.peek() != &Token::RBracket {
                    items.push(self.value()?);
                    if self.peek() == &Token::Comma {
                        self.advance();
                    } else if self.peek() != &Token::RBracket {
                        return Err(self.unexpected("`,` or `]`"));
                    }
                }
                self.advance();
                Ok(Value::List(items))
            }
            Token::Ident(name) => Err(ReadError {
                position: self.position(),
                kind: ReadErrorKind::Unsupported(format!("value `{name}`")),
            }),
            _ => Err(self.unexpected("a string or list")),
        }
    }
}

impl Call {
    fn error(&self, kind: ReadErrorKind) -> ReadError {
        ReadError {
            position: self.position,
            kind,
        }
    }

    fn wrong_type(&self, argument: &'static str, expected: &'static str) -> ReadError {
        self.error(ReadErrorKind::WrongType { argument, expected })
    }

    /// The rule, checked in the order Codex's builtin checks it.
    fn rule(&self) -> Result<PrefixRule, ReadError> {
        let pattern = match &self.pattern {
            None => return Err(self.error(ReadErrorKind::MissingPattern)),
            Some(Value::List(items)) => items,
            Some(Value::Str(_)) => return Err(self.wrong_type("pattern", "list")),
        };
        let decision = match &self.decision {
            None => Decision::Allow,
            Some(Value::Str(raw)) => {
                Decision::parse(raw).ok_or_else(|| self.error(ReadErrorKind::InvalidDecision(raw.clone())))?
            }
            Some(Value::List(_)) => return Err(self.wrong_type("decision", "string")),
        };
        let justification = match &self.justification {
            None => None,
            Some(Value::Str(raw)) if raw.trim().is_empty() => {
                return Err(self.error(ReadErrorKind::EmptyJustification))
            }
            Some(Value::Str(raw)) => Some(raw.clone()),
            Some(Value::List(_)) => return Err(self.wrong_type("justification", "string")),
        };
        let pattern = pattern
            .iter()
            .map(|item| self.pattern_token(item))
            .collect::<Result<Vec<_>, _>>()?;
        if pattern.is_empty() {
            return Err(self.error(ReadErrorKind::EmptyPattern));
        }
        // Examples are parsed now (bad syntax fails at the call) and matched later.
        self.examples(&self.matches, "match")?;
        self.examples(&self.not_matches, "not_match")?;
        Ok(PrefixRule {
            pattern,
            decision,
            justification,
            reviewer: None,
        })
    }

    fn pattern_token(&self, item: &Value) -> Result<PatternToken, ReadError> {
        match item {
            Value::Str(token) => Ok(PatternToken::Exact(token.clone())),
            Value::List(alternatives) => {
                let mut tokens = alternatives
                    .iter()
                    .map(|alt| match alt {
                        Value::Str(token) => Ok(token.clone()),
                        Value::List(_) => Err(self.error(ReadErrorKind::InvalidPatternElement)),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                match tokens.len() {
                    0 => Err(self.error(ReadErrorKind::EmptyAlternatives)),
                    // Codex normalises a one-element list to a plain token.
                    1 => Ok(PatternToken::Exact(tokens.remove(0))),
                    _ => Ok(PatternToken::AnyOf(tokens)),
                }
            }
        }
    }

    /// Example commands: strings are shell-split, lists are taken token by token.
    fn examples(&self, value: &Option<Value>, argument: &'static str) -> Result<Vec<Vec<String>>, ReadError> {
        let items = match value {
            None => return Ok(Vec::new()),
            Some(Value::List(items)) => items,
            Some(Value::Str(_)) => return Err(self.wrong_type(argument, "list")),
        };
        items
            .iter()
            .map(|item| {
                let tokens =
                    match item {
                        Value::Str(raw) => shlex::split(raw).ok_or_else(|| {
                            self.error(ReadErrorKind::InvalidExample(
                                "example string has invalid shell syntax",
                            ))
                        })?,
                        Value::List(tokens) => tokens
                            .iter()
                            .map(|token| match token {
                                Value::Str(token) => Ok(token.clone()),
                                Value::List(_) => Err(self
                                    .error(ReadErrorKind::InvalidExample("example tokens must be strings"))),
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                    };
                if tokens.is_empty() {
                    let what = match item {
                        Value::Str(_) => "example cannot be an empty string",
                        Value::List(_) => "example cannot be an empty list",
                    };
                    return Err(self.error(ReadErrorKind::InvalidExample(what)));
                }
                Ok(tokens)
            })
            .collect()
    }

    /// Codex checks `not_match` first, then `match`, against a policy of this call's rules only.
    fn validate_examples(&self, rule: &PrefixRule) -> Result<(), ReadError> {
        let policy = Policy::new([rule.clone()]);
        for example in self.examples(&self.not_matches, "not_match")? {
            if policy.matches_resolving_basename(&example) {
                return Err(self.error(ReadErrorKind::ExampleDidMatch(example)));
            }
        }
        let unmatched: Vec<Vec<String>> = self
            .examples(&self.matches, "match")?
            .into_iter()
            .filter(|example| !policy.matches_resolving_basename(example))
            .collect();
        if unmatched.is_empty() {
            Ok(())
        } else {
            Err(self.error(ReadErrorKind::ExampleDidNotMatch(unmatched)))
        }
    }
}
