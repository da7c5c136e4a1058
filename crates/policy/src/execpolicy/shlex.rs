//! POSIX-shell-like word splitting, compatible with the `shlex` crate's `split`.
//!
//! Codex turns string `match` / `not_match` examples into argv with `shlex::split`; an example
//! only validates the same way in Steward if it splits identically, including the quirks:
//! `#` starts a comment only at the start of a word, inside double quotes a backslash escapes
//! only `$`, `` ` ``, `"`, `\` and newline, and backslash-newline disappears. Small enough to
//! carry instead of a dependency.

/// Splits `input` into words, or `None` on an unterminated quote or a trailing backslash.
pub fn split(input: &str) -> Option<Vec<String>> {
    let mut chars = input.chars();
    let mut words = Vec::new();
    loop {
        // Skip separators and comments up to the start of the next word.
        let first = loop {
            match chars.next() {
                None => return Some(words),
                Some(' ' | '\t' | '\n') => {}
                Some('#') => {
                    for c in chars.by_ref() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                Some(c) => break c,
            }
        };
        words.push(split_word(first, &mut chars)?);
    }
}

/// Reads one word starting with `first`, consuming the separator that ends it.
fn split_word(first: char, chars: &mut std::str::Chars<'_>) -> Option<String> {
    let mut word = String::new();
    let mut next = Some(first);
    while let Some(c) = next {
        match c {
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        escaped @ ('$' | '`' | '"' | '\\') => word.push(escaped),
                        '\n' => {}
                        other => {
                            word.push('\\');
                            word.push(other);
                        }
                    },
                    other => word.push(other),
                }
            },
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    other => word.push(other),
                }
            },
            '\\' => match chars.next()? {
                '\n' => {}
                escaped => word.push(escaped),
            },
            ' ' | '\t' | '\n' => break,
            other => word.push(other),
        }
        next = chars.next();
    }
    Some(word)
}

#[cfg(test)]
mod tests {
    use super::split;

    fn owned(words: &[&str]) -> Option<Vec<String>> {
        Some(words.iter().map(|w| w.to_string()).collect())
    }

    #[test]
    fn splits_like_shlex() {
        assert_eq!(split("git  status\t-s\n"), owned(&["git", "status", "-s"]));
        assert_eq!(split(r#"a "b c" 'd e' f\ g"#), owned(&["a", "b c", "d e", "f g"]));
        assert_eq!(split(r#""a\$\`\"\\\n""#), owned(&[r#"a$`"\\n"#]));
        assert_eq!(split("'a\\b'"), owned(&["a\\b"]));
        assert_eq!(split("a#b #c d\ne"), owned(&["a#b", "e"]));
        assert_eq!(split("a\\\nb"), owned(&["ab"]));
        assert_eq!(split("'' \"\""), owned(&["", ""]));
        assert_eq!(split("   "), owned(&[]));
        assert_eq!(split("a\"b\"'c'd"), owned(&["abcd"]));
        assert_eq!(split("\"unterminated"), None);
        assert_eq!(split("'unterminated"), None);
        assert_eq!(split("trailing\\"), None);
        assert_eq!(split("\"a\\"), None);
    }
}
