//! Tokens of the `.rules` subset, with Starlark's (starlark-rust's) lexical rules.
//!
//! The string rules matter most: a token that decodes differently here than in Codex would
//! make Steward evaluate a different rule than the CLI. Hence the faithful copies of its quirks:
//! unknown escapes like `\d` keep their backslash, `\x`/`\u`/`\U` need exactly 2/4/8 hex
//! digits, octal escapes take 1-3 digits, raw carriage returns inside strings are dropped, and
//! in raw strings a backslash before a quote is dropped.

use std::iter::Peekable;
use std::str::Chars;

use super::error::{Position, ReadError, ReadErrorKind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    Ident(String),
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Equals,
    Semicolon,
    /// End of a logical line (only outside brackets, as in Starlark).
    Newline,
    Eof,
    /// Where lexing failed. Kept as a token, not returned at once, so that errors are reported
    /// in file order: an earlier problem the parser finds wins over a later lexical one.
    Invalid(ReadErrorKind),
}

impl Token {
    pub(crate) fn describe(&self) -> String {
        match self {
            Token::Ident(name) => format!("`{name}`"),
            Token::Str(_) => "a string".to_string(),
            Token::LParen => "`(`".to_string(),
            Token::RParen => "`)`".to_string(),
            Token::LBracket => "`[`".to_string(),
            Token::RBracket => "`]`".to_string(),
            Token::Comma => "`,`".to_string(),
            Token::Equals => "`=`".to_string(),
            Token::Semicolon => "`;`".to_string(),
            Token::Newline => "end of line".to_string(),
            Token::Eof => "end of file".to_string(),
            Token::Invalid(kind) => kind.to_string(),
        }
    }
}

/// Splits the whole source into tokens, each with the position of its first character. The
/// last token is [`Token::Eof`], preceded by [`Token::Invalid`] if lexing failed.
pub(crate) fn tokenize(source: &str) -> Vec<(Token, Position)> {
    let mut lexer = Lexer {
        chars: source.chars().peekable(),
        line: 1,
        column: 1,
        depth: 0,
        tokens: Vec::new(),
    };
    if let Err(error) = lexer.run() {
        lexer.tokens.push((Token::Invalid(error.kind), error.position));
        lexer.tokens.push((Token::Eof, error.position));
    }
    lexer.tokens
}

struct Lexer<'a> {
    chars: Peekable<Chars<'a>>,
    line: usize,
    column: usize,
    /// Bracket nesting; newlines and indentation only count at depth 0.
    depth: usize,
    tokens: Vec<(Token, Position)>,
}

fn error(position: Position, kind: ReadErrorKind) -> ReadError {
    ReadError { position, kind }
}

impl Lexer<'_> {
    fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn run(&mut self) -> Result<(), ReadError> {
        self.check_indentation()?;
        while let Some(&c) = self.chars.peek() {
            let start = self.position();
            match c {
                ' ' => {
                    self.bump();
                }
                '\t' => return Err(error(start, ReadErrorKind::Tab)),
                '#' => {
                    while self.chars.peek().is_some_and(|&c| c != '\n' && c != '\r') {
                        self.bump();
                    }
                }
                '\r' | '\n' => {
                    self.newline(start)?;
                    if self.depth == 0 {
                        if self.tokens.last().is_some_and(|(t, _)| *t != Token::Newline) {
                            self.tokens.push((Token::Newline, start));
                        }
                        self.check_indentation()?;
                    }
                }
                '\\' => {
                    // An escaped newline joins lines outside strings.
                    self.bump();
                    if !matches!(self.chars.peek(), Some('\n' | '\r')) {
                        return Err(error(start, ReadErrorKind::Syntax("stray `\\`".into())));
                    }
                    self.newline(start)?;
                }
                '"' | '\'' => {
                    let value = self.string(start, false)?;
                    self.tokens.push((Token::Str(value), start));
                }
                c if c == '_' || c.is_ascii_alphabetic() => {
                    let mut name = String::new();
                    while let Some(&c) = self.chars.peek() {
                        if c != '_' && !c.is_ascii_alphanumeric() {
                            break;
                        }
                        name.push(c);
                        self.bump();
                    }
                    match (name.as_str(), self.chars.peek()) {
                        ("r", Some('"' | '\'')) => {
                            let value = self.string(start, true)?;
                            self.tokens.push((Token::Str(value), start));
                        }
                        (_, Some('"' | '\'')) if matches!(name.as_str(), "f" | "fr" | "b") => {
                            return Err(error(
                                start,
                                ReadErrorKind::Unsupported(format!("{name}-strings")),
                            ));
                        }
                        _ => self.tokens.push((Token::Ident(name), start)),
                    }
                }
                _ => {
                    let token = match c {
                        '(' => Token::LParen,
                        ')' => Token::RParen,
                        '[' => Token::LBracket,
                        ']' => Token::RBracket,
                        ',' => Token::Comma,
                        '=' => Token::Equals,
                        ';' => Token::Semicolon,
                        other => return Err(error(start, ReadErrorKind::Unsupported(format!("`{other}`")))),
                    };
                    self.bump();
                    match token {
                        Token::LParen | Token::LBracket => self.depth += 1,
                        Token::RParen | Token::RBracket => self.depth = self.depth.saturating_sub(1),
                        _ => {}
                    }
                    self.tokens.push((token, start));
                }
            }
        }
        let end = self.position();
        if self.tokens.last().is_some_and(|(t, _)| *t != Token::Newline) {
            self.tokens.push((Token::Newline, end));
        }
        self.tokens.push((Token::Eof, end));
        Ok(())
    }

    /// Consumes `\n` or `\r\n`; a lone `\r` is an error, as in Starlark.
    fn newline(&mut self, start: Position) -> Result<(), ReadError> {
        if self.chars.peek() == Some(&'\r') {
            self.bump();
            if self.chars.peek() != Some(&'\n') {
                return Err(error(
                    start,
                    ReadErrorKind::Syntax("stray carriage return".into()),
                ));
            }
        }
        self.bump();
        Ok(())
    }

    /// At the start of a top-level line: Starlark opens an indented block when code starts
    /// after spaces, which is a syntax error for a file of plain calls. Blank and comment-only
    /// lines may be indented.
    fn check_indentation(&mut self) -> Result<(), ReadError> {
        let mut indented = false;
        loop {
            match self.chars.peek() {
                Some(' ') => {
                    indented = true;
                    self.bump();
                }
                Some('\t') => return Err(error(self.position(), ReadErrorKind::Tab)),
                None | Some('\n' | '\r' | '#') => return Ok(()),
                Some(_) if indented => {
                    let line = self.line;
                    return Err(error(Position { line, column: 1 }, ReadErrorKind::Indentation));
                }
                Some(_) => return Ok(()),
            }
        }
    }

    /// Decodes a string literal whose opening quote is next (after an `r` prefix if `raw`).
    fn string(&mut self, start: Position, raw: bool) -> Result<String, ReadError> {
        let quote = self.bump().unwrap_or('"');
        let mut lookahead = self.chars.clone();
        let triple = lookahead.next() == Some(quote) && lookahead.next() == Some(quote);
        if triple {
            self.bump();
            self.bump();
        }
        let unfinished = || error(start, ReadErrorKind::UnfinishedString);
        let mut value = String::new();
        // Consecutive closing quotes seen; escaped characters are not counted, and anything
        // else resets the count (Starlark's rule, which makes `"""a\""""` end oddly, too).
        let mut quotes = 0;
        loop {
            let escape_start = self.position();
            let c = self.bump().ok_or_else(unfinished)?;
            if c == quote {
                if !triple {
                    return Ok(value);
                }
                quotes += 1;
                if quotes == 3 {
                    value.truncate(value.len() - 2);
                    return Ok(value);
                }
            } else {
                quotes = 0;
            }
            match c {
                '\n' if !triple => return Err(unfinished()),
                '\r' => {}
                '\\' if raw => {
                    let next = self.bump().ok_or_else(unfinished)?;
                    if next != '\'' && next != '"' {
                        value.push('\\');
                    }
                    value.push(next);
                }
                '\\' => self
                    .escape(&mut value)
                    .map_err(|()| error(escape_start, ReadErrorKind::InvalidEscape))?,
                other => value.push(other),
            }
        }
    }

    /// Decodes the escape after a backslash inside a non-raw string.
    fn escape(&mut self, value: &mut String) -> Result<(), ()> {
        match self.bump().ok_or(())? {
            'n' => value.push('\n'),
            'r' => value.push('\r'),
            't' => value.push('\t'),
            'a' => value.push('\x07'),
            'b' => value.push('\x08'),
            'f' => value.push('\x0c'),
            'v' => value.push('\x0b'),
            '\n' => {}
            '\r' => {
                if self.bump() != Some('\n') {
                    return Err(());
                }
            }
            'x' => value.push(self.escape_digits(2, 2, 16)?),
            'u' => value.push(self.escape_digits(4, 4, 16)?),
            'U' => value.push(self.escape_digits(8, 8, 16)?),
            c @ '0'..='7' => {
                // The first digit is already consumed: read up to two more.
                let first = c.to_digit(8).unwrap_or(0);
                let mut code = first;
                for _ in 0..2 {
                    match self.chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(digit) => {
                            code = code * 8 + digit;
                            self.bump();
                        }
                        None => break,
                    }
                }
                value.push(char::from_u32(code).ok_or(())?);
            }
            c @ ('"' | '\'' | '\\') => value.push(c),
            other => {
                value.push('\\');
                value.push(other);
            }
        }
        Ok(())
    }

    /// Reads between `min` and `max` digits in `radix` as one code point.
    fn escape_digits(&mut self, min: usize, max: usize, radix: u32) -> Result<char, ()> {
        let mut code = 0u32;
        let mut count = 0;
        while count < max {
            match self.chars.peek().and_then(|c| c.to_digit(radix)) {
                Some(digit) => {
                    code = code * radix + digit;
                    count += 1;
                    self.bump();
                }
                None if count >= min => break,
                None => return Err(()),
            }
        }
        char::from_u32(code).ok_or(())
    }
}
