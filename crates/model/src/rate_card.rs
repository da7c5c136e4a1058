//! The versioned rate card: credits and USD per million input, cached-input and output tokens.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::usage::TokenUsage;

/// The rate card shipped with Steward (`crates/model/rate-card.toml`).
pub const DEFAULT_RATE_CARD_TOML: &str = include_str!("../rate-card.toml");

#[derive(Debug, thiserror::Error)]
pub enum RateCardError {
    #[error("rate card is not valid TOML: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("rate card field `{field}` is invalid: {message}")]
    Invalid { field: String, message: String },
}

/// Prices per million tokens of each kind.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerMillion {
    pub input: f64,
    pub cached_input: f64,
    pub output: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRate {
    pub usd_per_million: PerMillion,
    pub credits_per_million: PerMillion,
}

/// The rate-card file as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateCardFile {
    version: String,
    default_model: String,
    models: BTreeMap<String, ModelRate>,
}

/// A validated rate card. Built only through [`RateCard::from_toml`], so the default rate exists.
#[derive(Debug, Clone, PartialEq)]
pub struct RateCard {
    pub version: String,
    pub default_model: String,
    pub models: BTreeMap<String, ModelRate>,
    default_rate: ModelRate,
}

/// A price in millionths of a credit and of a US dollar (integers, so sums never drift).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Price {
    pub credits_micro: i64,
    pub usd_micro: i64,
}

impl RateCard {
    /// The rate card shipped with Steward.
    pub fn builtin() -> Result<Self, RateCardError> {
        Self::from_toml(DEFAULT_RATE_CARD_TOML)
    }

    pub fn from_toml(text: &str) -> Result<Self, RateCardError> {
        let file: RateCardFile = toml::from_str(text)?;
        file.validate()?;
        let default_rate = file
            .models
            .get(&file.default_model)
            .copied()
            .ok_or_else(|| invalid("default_model", "must name a model listed under [models]"))?;
        Ok(RateCard {
            version: file.version,
            default_model: file.default_model,
            models: file.models,
            default_rate,
        })
    }
}

impl RateCardFile {
    fn validate(&self) -> Result<(), RateCardError> {
        if self.version.trim().is_empty() {
            return Err(invalid("version", "must not be empty"));
        }
        if !self.models.contains_key(&self.default_model) {
            return Err(invalid(
                "default_model",
                "must name a model listed under [models]",
            ));
        }
        for (name, rate) in &self.models {
            for (kind, per) in [
                ("usd_per_million", rate.usd_per_million),
                ("credits_per_million", rate.credits_per_million),
            ] {
                for (field, value) in [
                    ("input", per.input),
                    ("cached_input", per.cached_input),
                    ("output", per.output),
                ] {
                    if !value.is_finite() || value < 0.0 {
                        return Err(invalid(
                            &format!("models.\"{name}\".{kind}.{field}"),
                            "must be a non-negative number",
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

impl RateCard {
    /// The rate for `model`, falling back to the default model's rate for unlisted models.
    pub fn rate_for(&self, model: Option<&str>) -> &ModelRate {
        model
            .and_then(|m| self.models.get(m))
            .unwrap_or(&self.default_rate)
    }

    /// Prices one response's usage. Cached input is charged at the cached rate and only once;
    /// reasoning is inside output and is not charged again.
    pub fn price(&self, model: Option<&str>, usage: &TokenUsage) -> Price {
        let rate = self.rate_for(model);
        Price {
            credits_micro: micro(usage, &rate.credits_per_million),
            usd_micro: micro(usage, &rate.usd_per_million),
        }
    }
}

fn micro(usage: &TokenUsage, per: &PerMillion) -> i64 {
    // tokens * (units per 1M tokens) / 1M * 1M micro-units = tokens * units-per-million.
    let cached = usage.cached_input.min(usage.input).max(0) as f64;
    let value = usage.uncached_input() as f64 * per.input
        + cached * per.cached_input
        + usage.output.max(0) as f64 * per.output;
    value.round() as i64
}

fn invalid(field: &str, message: &str) -> RateCardError {
    RateCardError::Invalid {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> RateCard {
        RateCard::builtin().expect("builtin rate card parses")
    }

    /// Golden: 1M uncached input + 1M cached + 1M output (of which 0.5M reasoning) on gpt-5-codex.
    #[test]
    fn golden_price_gpt5_codex() {
        let usage = TokenUsage {
            input: 2_000_000,
            cached_input: 1_000_000,
            output: 1_000_000,
            reasoning_output: 500_000,
            total: 3_000_000,
        };
        let p = card().price(Some("gpt-5-codex"), &usage);
        // USD: 1.25 + 0.125 + 10.0 = 11.375
        assert_eq!(p.usd_micro, 11_375_000);
        // credits: 31.25 + 3.125 + 250 = 284.375
        assert_eq!(p.credits_micro, 284_375_000);
    }

    /// The classic bug: billing cached tokens at the full input rate as well as the cached rate.
    #[test]
    fn cached_tokens_are_not_billed_twice() {
        let all_cached = TokenUsage {
            input: 1_000_000,
            cached_input: 1_000_000,
            ..Default::default()
        };
        let p = card().price(Some("gpt-5-codex"), &all_cached);
        assert_eq!(p.usd_micro, 125_000, "only the cached rate applies");
    }

    /// The other classic bug: adding reasoning tokens on top of output tokens.
    #[test]
    fn reasoning_tokens_are_not_billed_twice() {
        let with_reasoning = TokenUsage {
            output: 1_000_000,
            reasoning_output: 1_000_000,
            ..Default::default()
        };
        let without = TokenUsage {
            output: 1_000_000,
            ..Default::default()
        };
        let card = card();
        assert_eq!(card.price(None, &with_reasoning), card.price(None, &without));
        assert_eq!(card.price(None, &with_reasoning).usd_micro, 10_000_000);
    }

    #[test]
    fn unknown_model_uses_default_rate() {
        let u = TokenUsage {
            input: 1000,
            output: 1000,
            ..Default::default()
        };
        let card = card();
        assert_eq!(
            card.price(Some("brand-new-model"), &u),
            card.price(Some("gpt-5-codex"), &u)
        );
    }

    #[test]
    fn rejects_missing_default_model_naming_the_field() {
        let err = RateCard::from_toml("version = \"x\"\ndefault_model = \"nope\"\n[models]\n").unwrap_err();
        assert!(err.to_string().contains("default_model"), "{err}");
    }

    #[test]
    fn rejects_negative_price_naming_the_field() {
        let text = DEFAULT_RATE_CARD_TOML.replace("input = 1.25,", "input = -1.0,");
        let err = RateCard::from_toml(&text).unwrap_err();
        assert!(err.to_string().contains("usd_per_million.input"), "{err}");
    }
}
