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
use crate::text::{Lang, Text};

/// A waiver as written in a contract profile or a waiver file (with its approver), or as an
/// organisation's request in its manifest (with none).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// A rule id (a glob pattern may name several, never every rule).
    pub rule: String,
    /// The record ids it covers.
    #[serde(default)]
    pub records: Vec<String>,
    pub reason: String,
    #[serde(default)]
    pub approved_by: Option<String>,
    #[serde(default)]
    pub expires: Option<String>,
}

/// The period a submission covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: Date,
    pub end: Date,
}

impl Period {
    /// Days in the period, both ends included.
    pub fn days(&self) -> i64 {
        crate::expr::dates::days_between(self.start, self.end) + 1
    }
}

/// The manifest's entries that were read.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub organisation: Option<Value>,
    pub contract: Option<Value>,
    /// The shipped standard's id.
    pub standard: Option<String>,
    /// A standard file the manifest named, which is not used.
    pub standard_file: Option<String>,
    pub profile: Option<String>,
    pub period: Option<Period>,
    pub calendar: Option<String>,
    /// Parameters with the line each was written on.
    pub parameters: BTreeMap<String, (Value, u64)>,
    /// Waivers the organisation asks for: never applied, listed for the evaluator.
    pub waiver_requests: Vec<Waiver>,
}

/// A finding about a submission-level file (the manifest, an unreadable path).
pub(crate) fn problem(
    file: &str,
    line: u64,
    column: u64,
    rule: &str,
    severity: Severity,
    message: Text,
) -> Finding {
    let at = Location {
        file: Some(file.to_string()),
        line: (line > 0).then_some(line),
        column: (column > 0).then_some(column),
        ..Location::default()
    };
    Finding::builtin(rule, severity, at, message)
}

/// The YAML options of the manifest: as for records, but a non-finite number (`.nan`) is read as
/// its text, so that one bad entry is a finding about that entry and the rest still counts.
fn manifest_options() -> serde_saphyr::Options {
    let mut options = records::yaml_options();
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::AsString;
    options
}

/// The Chinese name of a kind of value, for messages.
fn kind_zh(v: &Value) -> &'static str {
    match v {
        Value::Null => "空值",
        Value::Bool(_) => "布尔值",
        Value::Number(_) => "数字",
        Value::String(_) => "文本",
        Value::Array(_) => "列表",
        Value::Object(_) => "映射",
    }
}

impl Manifest {
    /// Reads a manifest's text; the findings say what could not be used and where.
    pub fn parse(text: &str, name: &str) -> (Manifest, Vec<Finding>) {
        let mut m = Manifest::default();
        let mut findings = Vec::new();
        let entries: BTreeMap<String, Spanned<Value>> =
            match serde_saphyr::from_str_with_options(text, manifest_options()) {
                Ok(e) => e,
                Err(e) => {
                    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                    let detail = e.without_snippet().to_string();
                    findings.push(problem(
                        name,
                        line,
                        column,
                        builtin::PARSE,
                        Severity::Major,
                        Text::bi(
                            format!("清单文件无法读取：{detail}"),
                            format!("the manifest cannot be read: {detail}"),
                        ),
                    ));
                    return (m, findings);
                }
            };
        let mut bad = |line: u64, severity: Severity, message: Text| {
            findings.push(problem(name, line, 0, builtin::MANIFEST, severity, message));
        };
        for (key, entry) in entries {
            let line = entry.referenced.line();
            let value = entry.value;
            let text = |v: &Value| v.as_str().map(str::to_string);
            match key.as_str() {
                "organisation" | "contract" => match value {
                    Value::Object(_) if key == "organisation" => m.organisation = Some(value),
                    Value::Object(_) => m.contract = Some(value),
                    other => bad(
                        line,
                        Severity::Major,
                        Text::bi(
                            format!(
                                "{key} 应为映射（如 {{name: ..., id: ...}}），而不是{}",
                                kind_zh(&other)
                            ),
                            format!(
                                "{key} must be a mapping (such as {{name: ..., id: ...}}), not {}",
                                records::kind_name(&other)
                            ),
                        ),
                    ),
                },
                "standard" | "profile" | "calendar" => match text(&value) {
                    Some(s) => match key.as_str() {
                        "standard" if crate::run::is_path(&s) => {
                            bad(
                                line,
                                Severity::Major,
                                Text::bi(
                                    format!("standard 指向标准文件 {s}，该文件不予采用：清单只能以编号指定内置标准（如 elderly-care），自带的标准文件由评估方用 --standard 提供"),
                                    format!("standard names the file {s}, which is not used: a manifest names a shipped standard by id (such as elderly-care); a standard file is the evaluator's to bring, with --standard"),
                                ),
                            );
                            m.standard_file = Some(s);
                        }
                        "standard" => m.standard = Some(s),
                        "profile" => m.profile = Some(s),
                        _ => m.calendar = Some(s),
                    },
                    None => bad(
                        line,
                        Severity::Major,
                        Text::bi(
                            format!("{key} 应为文本，而不是{}", kind_zh(&value)),
                            format!("{key} must be a string, not {}", records::kind_name(&value)),
                        ),
                    ),
                },
                "period" => match read_period(&value) {
                    Ok(p) => m.period = Some(p),
                    Err(e) => bad(line, Severity::Major, e),
                },
                "parameters" => match value {
                    Value::Object(map) => {
                        m.parameters = map.into_iter().map(|(k, v)| (k, (v, line))).collect()
                    }
                    other => bad(
                        line,
                        Severity::Major,
                        Text::bi(
                            format!("parameters 应为映射，而不是{}", kind_zh(&other)),
                            format!(
                                "parameters must be a mapping, not {}",
                                records::kind_name(&other)
                            ),
                        ),
                    ),
                },
                "waivers" => match value {
                    Value::Array(items) => {
                        for (i, item) in items.into_iter().enumerate() {
                            match serde_json::from_value::<Waiver>(item) {
                                Ok(w) => m.waiver_requests.push(w),
                                Err(e) => bad(
                                    line,
                                    Severity::Major,
                                    Text::bi(
                                        format!("第 {} 项豁免申请无法读取：{e}", i + 1),
                                        format!("waiver request {} cannot be read: {e}", i + 1),
                                    ),
                                ),
                            }
                        }
                    }
                    other => bad(
                        line,
                        Severity::Major,
                        Text::bi(
                            format!("waivers 应为列表，而不是{}", kind_zh(&other)),
                            format!("waivers must be a list, not {}", records::kind_name(&other)),
                        ),
                    ),
                },
                other => bad(
                    line,
                    Severity::Minor,
                    Text::bi(
                        format!("未知的清单项 '{other}'，已忽略"),
                        format!("unknown key '{other}' is ignored"),
                    ),
                ),
            }
        }
        // The manifest identifies who is scored, under which contract, on which calendar.
        let named = |v: &Option<Value>, field: &str| {
            v.as_ref()
                .and_then(|v| v.get(field))
                .and_then(Value::as_str)
                .is_some_and(|s| !s.trim().is_empty())
        };
        for (key, zh, missing) in [
            (
                "organisation",
                "被评估机构的名称",
                !named(&m.organisation, "name"),
            ),
            ("contract", "合同编号", !named(&m.contract, "id")),
        ] {
            let said = findings
                .iter()
                .any(|f| f.message.get(Lang::En).starts_with(key));
            if missing && !said {
                findings.push(problem(
                    name,
                    0,
                    0,
                    builtin::MANIFEST,
                    Severity::Major,
                    Text::bi(
                        format!("清单未写明{zh}（{key}）：报告无法说明评估的是谁"),
                        format!("the manifest does not name the {key} ({}): the report cannot say whom it scores", if key == "organisation" { "name" } else { "id" }),
                    ),
                ));
            }
        }
        if m.calendar.is_none() {
            findings.push(problem(
                name,
                0,
                0,
                builtin::MANIFEST,
                Severity::Minor,
                Text::bi(
                    format!(
                        "清单未写明节假日日历（calendar），按 {} 计算工作日",
                        crate::expr::DEFAULT_CALENDAR
                    ),
                    format!(
                        "the manifest names no holiday calendar; working days are counted on {}",
                        crate::expr::DEFAULT_CALENDAR
                    ),
                ),
            ));
        }
        if m.period.is_none()
            && !findings
                .iter()
                .any(|f| f.message.get(Lang::En).starts_with("period"))
        {
            findings.push(problem(
                name,
                0,
                0,
                builtin::MANIFEST,
                Severity::Major,
                Text::bi(
                    "清单未给出评估周期（period）：无法判断记录是否在周期内，规则也没有“今天”",
                    "the manifest gives no period: records cannot be checked against it, and rules have no 'today'",
                ),
            ));
        }
        if let Some(cal) = &m.calendar {
            if crate::expr::Calendar::builtin(cal).is_none() {
                let shipped = crate::expr::Calendar::builtin_ids().join(", ");
                findings.push(problem(
                    name,
                    0,
                    0,
                    builtin::MANIFEST,
                    Severity::Major,
                    Text::bi(
                        format!("未知的节假日日历 '{cal}'（内置：{shipped}）；按工作日计算的规则将出错"),
                        format!("unknown holiday calendar '{cal}' (shipped: {shipped}); working-day rules will be errors"),
                    ),
                ));
            }
        }
        (m, findings)
    }
}

fn read_period(value: &Value) -> Result<Period, Text> {
    read_period_en(value).map_err(|en| {
        let zh = format!("评估周期（period）无法使用：{en}");
        Text::bi(zh, en)
    })
}

fn read_period_en(value: &Value) -> Result<Period, String> {
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
    let Some(map) = value.as_object() else {
        return Err(format!(
            "period must be a mapping with start and end, not {}",
            records::kind_name(value)
        ));
    };
    if let Some(other) = map.keys().find(|k| *k != "start" && *k != "end") {
        return Err(format!(
            "period takes only start and end, not '{other}' (the days are counted from them)"
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
        let text = "organisation: {name: o}\ncontract: {id: c}\ncalendar: cn-mainland\n\
standard: elderly-care\nperiod: {start: 2025/1/1, end: 2025-12-31}\nnotes: hello\n\
waivers:\n  - {rule: EC-RSK-03, reason: r, approved_by: a}\n  - {rule: EC-RSK-01}\nparameters: {target_cases: 3}\n";
        let (m, findings) = Manifest::parse(text, "submission.yaml");
        assert_eq!(m.standard.as_deref(), Some("elderly-care"));
        assert_eq!(m.period.unwrap().start.to_string(), "2025-01-01");
        assert_eq!(m.waiver_requests.len(), 1);
        assert_eq!(m.parameters["target_cases"].0, serde_json::json!(3));
        let messages: Vec<(Option<u64>, Severity, &str)> = findings
            .iter()
            .map(|f| (f.record.line, f.severity, f.message.get(Lang::En)))
            .collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages
            .iter()
            .any(|(l, s, m)| *l == Some(6) && *s == Severity::Minor && m.contains("notes")));
        assert!(messages
            .iter()
            .any(|(_, s, m)| *s == Severity::Major && m.contains("waiver request 2")));
    }

    #[test]
    fn a_non_finite_number_loses_only_its_own_entry() {
        let (m, _) = Manifest::parse(
            "standard: elderly-care\nperiod: {start: 2025-01-01, end: 2025-12-31}\nparameters: {residents: .nan}\n",
            "s.yaml",
        );
        assert_eq!(m.standard.as_deref(), Some("elderly-care"));
        assert!(m.period.is_some());
        assert_eq!(m.parameters["residents"].0, serde_json::json!(".nan"));
    }

    #[test]
    fn a_manifest_that_does_not_say_whom_it_scores_is_a_finding() {
        let (_, f) = Manifest::parse(
            "organisation: 123\nperiod: {start: 2025-01-01, end: 2025-12-31}\n",
            "s.yaml",
        );
        let said: Vec<(Severity, &str)> = f
            .iter()
            .map(|f| (f.severity, f.message.get(Lang::En)))
            .collect();
        assert!(
            said.iter()
                .any(|(s, m)| *s == Severity::Major
                    && m.starts_with("organisation must be a mapping")),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|(s, m)| *s == Severity::Major && m.contains("does not name the contract")),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|(s, m)| *s == Severity::Minor && m.contains("no holiday calendar")),
            "{said:?}"
        );
        assert!(
            !said
                .iter()
                .any(|(_, m)| m.contains("does not name the organisation")),
            "{said:?}"
        );
    }

    #[test]
    fn a_period_that_ends_before_it_starts_or_is_missing_is_a_finding() {
        let (m, f) = Manifest::parse("period: {start: 2025-12-31, end: 2025-01-01}\n", "s.yaml");
        assert!(m.period.is_none());
        assert!(
            f[0].message.get(Lang::En).contains("before it starts"),
            "{:?}",
            f
        );
        let (_, f) = Manifest::parse("standard: x\n", "s.yaml");
        assert!(f
            .iter()
            .any(|f| f.message.get(Lang::En).contains("no period")));
        let (_, f) = Manifest::parse(
            "period: {start: 2025-01-01, end: 2025-12-31, days: 10}\n",
            "s.yaml",
        );
        assert!(f
            .iter()
            .any(|f| f.message.get(Lang::En).contains("not 'days'")));
        let (_, f) = Manifest::parse("standard: [x\n", "s.yaml");
        assert_eq!(f[0].rule, builtin::PARSE);
    }
}
