//! Token usage of one model response, with Codex's subset semantics made explicit.

use serde::{Deserialize, Serialize};

/// Token usage of one model response (`response.completed`).
///
/// Codex semantics (codex-facts §1.5, §3.9): `cached_input` is a **subset** of `input`, and
/// `reasoning_output` a **subset** of `output`. Never add them on top: that double counting is
/// the classic bug of usage tools.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input: i64,
    pub cached_input: i64,
    pub output: i64,
    pub reasoning_output: i64,
    pub total: i64,
}

impl TokenUsage {
    /// Input tokens that were not served from the prompt cache.
    pub fn uncached_input(&self) -> i64 {
        (self.input - self.cached_input).max(0)
    }

    /// Total text tokens as the Analytics API reports them (input + output).
    pub fn text_total(&self) -> i64 {
        self.input + self.output
    }

    pub fn add(&mut self, other: &TokenUsage) {
        self.input += other.input;
        self.cached_input += other.cached_input;
        self.output += other.output;
        self.reasoning_output += other.reasoning_output;
        self.total += other.total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_is_inside_input() {
        let u = TokenUsage {
            input: 1200,
            cached_input: 200,
            output: 30,
            reasoning_output: 10,
            total: 1230,
        };
        assert_eq!(u.uncached_input(), 1000);
        assert_eq!(u.text_total(), 1230);
    }

    #[test]
    fn cached_larger_than_input_never_goes_negative() {
        let u = TokenUsage {
            input: 5,
            cached_input: 9,
            ..Default::default()
        };
        assert_eq!(u.uncached_input(), 0);
    }
}
