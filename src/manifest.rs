//! The manifest (`submission.yaml`): who submits, for which contract and period, against which
//! standard, with which waivers. It is read key by key, so that one bad entry becomes a finding
//! with its line while everything else in the manifest still counts.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::finding::{builtin, Finding, Location};
use crate::records;
use crate::standard::Severity;

/// A waiver as written in a manifest or profile.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// A rule id (glob patterns allowed).
    pub rule: String,
    /// The record ids it covers; none listed means every record.
    #[serde(default)]
    pub records: Vec<String>,
    pub reason: String,
    pub approved_by: String,
    #[serde(default)]
    pub expires: Option<String>,
}

/// The period a submission covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: Date,
    pub end: Date,
}

/// The manifest's entries that were read.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub organisation: Option<Value>,
    pub contract: Option<Value>,
    pub standard: Option<String>,
    pub profile: Option<String>,
    pub period: Option<Period>,
    pub calendar: Option<String>,
    pub parameters: BTreeMap<String, Value>,
    pub waivers: Vec<Waiver>,
}

/// A finding about a submission-level file (the manifest, an unreadable path).
pub(crate) fn problem(
    file: &str,
    line: u64,
    column: u64,
    rule: &str,
    severity: Severity,
    message: String,
) -> Finding {
    let at = Location {
        file: Some(file.to_string()),
        line: (line > 0).then_some(line),
        column: (column > 0).then_some(column),
        ..Location::default()
    };
    Finding::builtin(rule, severity, at, message)
}

impl Manifest {
    /// Reads a manifest's text; the findings say what could not be used and where.
    pub fn parse(text: &str, name: &str) -> (Manifest, Vec<Finding>) {
        let mut m = Manifest::default();
        let mut findings = Vec::new();
        let entries: BTreeMap<String, Spanned<Value>> =
            match serde_saphyr::from_str_with_options(text, records::yaml_options()) {
                Ok(e) => e,
                Err(e) => {
                    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                    findings.push(problem(
                        name,
                        line,
                        column,
                        builtin::PARSE,
                        Severity::Major,
                        format!("the manifest cannot be read: {}", e.without_snippet()),
                    ));
                    return (m, findings);
                }
            };
        let mut bad = |line: u64, severity: Severity, message: String| {
            findings.push(problem(name, line, 0, builtin::MANIFEST, severity, message));
        };
        for (key, entry) in entries {
            let line = entry.referenced.line();
            let value = entry.value;
            let text = |v: &Value| v.as_str().map(str::to_string);
            match key.as_str() {
                "organisation" => m.organisation = Some(value),
                "contract" => m.contract = Some(value),
                "standard" | "profile" | "calendar" => match text(&value) {
                    Some(s) => match key.as_str() {
                        "standard" => m.standard = Some(s),
                        "profile" => m.profile = Some(s),
                        _ => m.calendar = Some(s),
                    },
                    None => bad(
                        line,
                        Severity::Major,
                        format!("{key} must be a string, not {}", records::kind_name(&value)),
                    ),
                },
                "period" => match read_period(&value) {
                    Ok(p) => m.period = Some(p),
                    Err(e) => bad(line, Severity::Major, e),
                },
                "parameters" => match value {
                    Value::Object(map) => m.parameters = map.into_iter().collect(),
                    other => bad(
                        line,
                        Severity::Major,
                        format!(
                            "parameters must be a mapping, not {}",
                            records::kind_name(&other)
                        ),
                    ),
                },
                "waivers" => match value {
                    Value::Array(items) => {
                        for (i, item) in items.into_iter().enumerate() {
                            match serde_json::from_value::<Waiver>(item) {
                                Ok(w) => m.waivers.push(w),
                                Err(e) => bad(
                                    line,
                                    Severity::Major,
                                    format!("waiver {} is ignored: {e}", i + 1),
                                ),
                            }
                        }
                    }
                    other => bad(
                        line,
                        Severity::Major,
                        format!("waivers must be a list, not {}", records::kind_name(&other)),
                    ),
                },
                other => bad(
                    line,
                    Severity::Minor,
                    format!("unknown key '{other}' is ignored"),
                ),
            }
        }
        if m.period.is_none() && !findings.iter().any(|f| f.message.starts_with("period")) {
            findings.push(problem(
                name,
                0,
                0,
                builtin::MANIFEST,
                Severity::Major,
                "the manifest gives no period: records cannot be checked against it, and rules have no 'today'".into(),
            ));
        }
        if let Some(cal) = &m.calendar {
            if crate::expr::Calendar::builtin(cal).is_none() {
                findings.push(problem(
                    name,
                    0,
                    0,
                    builtin::MANIFEST,
                    Severity::Major,
                    format!(
                        "unknown holiday calendar '{cal}' (shipped: {}); working-day rules will be errors",
                        crate::expr::Calendar::builtin_ids().join(", ")
                    ),
                ));
            }
        }
        (m, findings)
    }
}

fn read_period(value: &Value) -> Result<Period, String> {
    let read = |which: &str| -> Result<Date, String> {
        let v = value
            .get(which)
            .ok_or_else(|| format!("period.{which} is missing"))?;
        let text = v.as_str().ok_or_else(|| {
            format!(
                "period.{which} must be a date, not {}",
                records::kind_name(v)
            )
        })?;
        crate::expr::dates::parse(text)
            .map(|w| w.date())
            .map_err(|e| format!("period.{which}: {e}"))
    };
    if !value.is_object() {
        return Err(format!(
            "period must be a mapping with start and end, not {}",
            records::kind_name(value)
        ));
    }
    let (start, end) = (read("start")?, read("end")?);
    if start > end {
        return Err(format!("period ends ({end}) before it starts ({start})"));
    }
    Ok(Period { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_entry_it_can_and_reports_the_rest_with_their_lines() {
        let text = "standard: elderly-care\nperiod: {start: 2025/1/1, end: 2025-12-31}\nnotes: hello\n\
waivers:\n  - {rule: EC-RSK-03, reason: r, approved_by: a}\n  - {rule: EC-RSK-01}\nparameters: {target_cases: 3}\n";
        let (m, findings) = Manifest::parse(text, "submission.yaml");
        assert_eq!(m.standard.as_deref(), Some("elderly-care"));
        assert_eq!(m.period.unwrap().start.to_string(), "2025-01-01");
        assert_eq!(m.waivers.len(), 1);
        assert_eq!(m.parameters["target_cases"], serde_json::json!(3));
        let messages: Vec<(Option<u64>, Severity, &str)> = findings
            .iter()
            .map(|f| (f.record.line, f.severity, f.message.as_str()))
            .collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages
            .iter()
            .any(|(l, s, m)| *l == Some(3) && *s == Severity::Minor && m.contains("notes")));
        assert!(messages
            .iter()
            .any(|(_, s, m)| *s == Severity::Major && m.contains("waiver 2")));
    }

    #[test]
    fn a_period_that_ends_before_it_starts_or_is_missing_is_a_finding() {
        let (m, f) = Manifest::parse("period: {start: 2025-12-31, end: 2025-01-01}\n", "s.yaml");
        assert!(m.period.is_none());
        assert!(f[0].message.contains("before it starts"), "{:?}", f);
        let (_, f) = Manifest::parse("standard: x\n", "s.yaml");
        assert!(f[0].message.contains("no period"));
        let (_, f) = Manifest::parse("standard: [x\n", "s.yaml");
        assert_eq!(f[0].rule, builtin::PARSE);
    }
}
