//! Findings: what the report says is wrong, with the record and place it concerns.

use serde::{Deserialize, Serialize};

use crate::standard::Severity;
use crate::text::{Lang, Text};

/// The reserved ids of the findings yardstick itself raises.
pub mod builtin {
    /// A file that could not be read or parsed.
    pub const PARSE: &str = "YS-PARSE";
    /// A record that breaks its kind's JSON Schema (one finding per violation).
    pub const SCHEMA: &str = "YS-SCHEMA";
    /// A record whose id another record of its kind already has.
    pub const DUPLICATE_ID: &str = "YS-DUPLICATE-ID";
    /// A record of no kind the standard knows.
    pub const UNKNOWN_KIND: &str = "YS-UNKNOWN-KIND";
    /// A record dated wholly outside the submission period.
    pub const PERIOD: &str = "YS-PERIOD";
    /// A manifest entry that is malformed or not the submission's to set.
    pub const MANIFEST: &str = "YS-MANIFEST";
    /// A required record kind with no record in the submission.
    pub const MISSING_EVIDENCE: &str = "YS-MISSING-EVIDENCE";
    /// A field the record's kind schema does not define.
    pub const UNKNOWN_FIELD: &str = "YS-UNKNOWN-FIELD";
}

/// A finding's status: the requirement was not met, or could not be evaluated.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    Fail,
    Error,
}

/// Where a finding points: the record (kind and id), the file, line and column, and the JSON
/// pointer of the field inside the record.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[schemars(deny_unknown_fields)]
pub struct Location {
    pub kind: Option<String>,
    pub id: Option<String>,
    pub file: Option<String>,
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    pub pointer: Option<String>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub status: FindingStatus,
    pub record: Location,
    /// Both languages for built-in findings; the run's language for a rule's own message.
    pub message: Text,
}

impl Finding {
    /// A failure found by yardstick itself (a built-in finding).
    pub fn builtin(rule: &str, severity: Severity, record: Location, message: Text) -> Finding {
        Finding {
            rule: rule.to_string(),
            severity,
            status: FindingStatus::Fail,
            record,
            message,
        }
    }

    /// The finding as a report in one language shows it.
    pub fn into_lang(mut self, lang: Lang) -> Finding {
        if !matches!(self.message, Text::Plain(_)) {
            self.message = Text::Plain(self.message.get(lang).to_string());
        }
        self
    }
}

/// The order findings are reported in: by rule, then file, line, record, pointer and message
/// (its English text).
#[cfg(test)]
pub fn report_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    report_order_in(a, b, Lang::En)
}

/// The report order, with messages compared in a language.
pub fn report_order_in(a: &Finding, b: &Finding, lang: Lang) -> std::cmp::Ordering {
    a.rule
        .cmp(&b.rule)
        .then_with(|| a.record.file.cmp(&b.record.file))
        .then_with(|| a.record.line.cmp(&b.record.line))
        .then_with(|| a.record.id.cmp(&b.record.id))
        .then_with(|| a.record.pointer.cmp(&b.record.pointer))
        .then_with(|| a.message.get(lang).cmp(b.message.get(lang)))
}

/// A JSON pointer for a dotted field path (`assessment.date` → `/assessment/date`).
pub fn pointer(path: &str) -> String {
    path.split('.')
        .filter(|p| !p.is_empty())
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dotted_paths_become_json_pointers() {
        assert_eq!(super::pointer("assessment.date"), "/assessment/date");
        assert_eq!(super::pointer("a/b"), "/a~1b");
    }
}
