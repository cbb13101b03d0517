//! The standard file format as written (contract v1), before inheritance is resolved.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::text::Text;

/// One `standards/<id>.yaml` file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StandardFile {
    pub id: String,
    pub version: String,
    pub title: Text,
    #[serde(default)]
    pub description: Option<Text>,
    #[serde(default)]
    pub sector: Option<String>,
    #[serde(default)]
    pub status: Status,
    #[serde(default)]
    pub basis: Vec<BasisDoc>,
    #[serde(default)]
    pub extends: Vec<String>,
    #[serde(default)]
    pub parameters: BTreeMap<String, Parameter>,
    /// The record kinds the submission must hold (`required`) or may hold (`optional`).
    #[serde(default)]
    pub evidence: BTreeMap<String, Evidence>,
    #[serde(default)]
    pub total_points: Option<f64>,
    #[serde(default)]
    pub grades: Option<Vec<Grade>>,
    #[serde(default)]
    pub schemas: BTreeMap<String, String>,
    #[serde(default)]
    pub sections: Vec<Spanned<Section>>,
    /// Inherited items (rules, indicators, sections) this standard drops, by id.
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Draft,
    Published,
    Withdrawn,
}

/// A document a guide implements.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BasisDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub title: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandatory: Option<bool>,
}

/// A tailorable value.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub default: serde_json::Value,
    #[serde(default)]
    pub description: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// A fact about the organisation that its manifest declares (the number of residents);
    /// every other parameter is the contract's to set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub declared: bool,
    /// The least and greatest values a number may be set to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
}

impl Parameter {
    /// Why a value cannot be this parameter's (zh, en): not of its default's kind, or a number
    /// outside its bounds.
    pub fn refuse(&self, value: &serde_json::Value) -> Option<(String, String)> {
        use serde_json::Value as V;
        let same_kind = matches!(
            (&self.default, value),
            (V::Number(_), V::Number(_))
                | (V::String(_), V::String(_))
                | (V::Bool(_), V::Bool(_))
                | (V::Array(_), V::Array(_))
                | (V::Object(_), V::Object(_))
        );
        if !same_kind {
            return Some((
                format!("取值 {value} 与默认值 {} 的类型不同", self.default),
                format!("{value} is not of the kind of the default {}", self.default),
            ));
        }
        let whole = |v: &V| v.is_i64() || v.is_u64();
        if whole(&self.default) && !whole(value) {
            return Some((
                format!("取值 {value} 不是整数"),
                format!("{value} is not a whole number"),
            ));
        }
        let n = value.as_f64()?;
        if let Some(min) = self.minimum.filter(|min| n < *min) {
            return Some((
                format!("取值 {value} 小于下限 {min}"),
                format!("{value} is below the least allowed value {min}"),
            ));
        }
        if let Some(max) = self.maximum.filter(|max| n > *max) {
            return Some((
                format!("取值 {value} 大于上限 {max}"),
                format!("{value} is above the greatest allowed value {max}"),
            ));
        }
        None
    }
}

/// Whether a submission must hold records of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    Required,
    Optional,
}

/// A grade band: a score at or above `min` gets it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Grade {
    pub id: String,
    pub min: f64,
    pub title: Text,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: String,
    /// Optional only so that a child standard can add items to an inherited section.
    #[serde(default)]
    pub title: Option<Text>,
    #[serde(default)]
    pub description: Option<Text>,
    #[serde(default)]
    pub sections: Vec<Spanned<Section>>,
    #[serde(default)]
    pub rules: Vec<Spanned<Rule>>,
    #[serde(default)]
    pub indicators: Vec<Spanned<Indicator>>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Deserialize,
    Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Minor,
    Major,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
        }
    }
}

/// How a rule's points are earned over its applicable records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleScoring {
    /// points × passed / applicable
    #[default]
    Ratio,
    /// full points if none failed, else 0
    All,
    /// max(0, points − d × failures)
    Deduct(f64),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub title: Text,
    pub applies_to: String,
    #[serde(default)]
    pub when: Option<String>,
    pub assert: String,
    #[serde(default)]
    pub message: Option<Text>,
    pub severity: Severity,
    pub points: f64,
    #[serde(default)]
    pub scoring: RuleScoring,
    #[serde(default)]
    pub veto: bool,
    #[serde(default)]
    pub basis: Option<String>,
    #[serde(default)]
    pub rationale: Option<Text>,
    /// What the rule requires, in words: a template over `params`.
    #[serde(default)]
    pub requirement: Option<Text>,
    /// The field a failure points at (dotted: `reviews`, `closure.date`), when the rule knows
    /// better than the engine's reading of its `assert`.
    #[serde(default)]
    pub pointer: Option<String>,
}

impl Rule {
    /// The message template; a rule without one says its title.
    pub fn message(&self) -> &Text {
        self.message.as_ref().unwrap_or(&self.title)
    }

    /// Every expression and template it holds: what may name a parameter.
    pub fn sources(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.when.iter().map(String::as_str).collect();
        out.push(&self.assert);
        out.extend(self.message().variants());
        out.extend(self.requirement.iter().flat_map(Text::variants));
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    Rate,
    Count,
    Sum,
    Mean,
    Distinct,
}

impl Measure {
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Rate => "rate",
            Measure::Count => "count",
            Measure::Sum => "sum",
            Measure::Mean => "mean",
            Measure::Distinct => "distinct",
        }
    }
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Higher,
    Lower,
}

/// A target: a number, or an expression over `params` and `submission`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Target {
    Number(f64),
    Expr(String),
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Linear {
    pub zero_at: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    pub points: f64,
}

/// How an indicator's value becomes points.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IndicatorScoring {
    #[default]
    Threshold,
    Proportional,
    Linear(Linear),
    Bands(Vec<Band>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub id: String,
    pub title: Text,
    pub applies_to: String,
    pub measure: Measure,
    #[serde(default, rename = "where")]
    pub where_: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    pub target: Target,
    #[serde(default)]
    pub direction: Direction,
    pub points: f64,
    #[serde(default)]
    pub scoring: IndicatorScoring,
    /// The severity of the finding raised when the indicator earns less than its points.
    #[serde(default = "default_indicator_severity")]
    pub severity: Severity,
    #[serde(default)]
    pub basis: Option<String>,
    #[serde(default)]
    pub rationale: Option<Text>,
    /// What the indicator asks for, in words: a template over `params`.
    #[serde(default)]
    pub requirement: Option<Text>,
}

impl Indicator {
    /// Every expression and template it holds: what may name a parameter.
    pub fn sources(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .where_
            .iter()
            .chain(self.value.iter())
            .map(String::as_str)
            .collect();
        if let Target::Expr(t) = &self.target {
            out.push(t);
        }
        out.extend(self.requirement.iter().flat_map(Text::variants));
        out
    }
}

fn default_indicator_severity() -> Severity {
    Severity::Major
}
