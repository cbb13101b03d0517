//! The report model (the JSON report of cli-and-report.md) and how it is built from an
//! evaluation. Every output format is rendered from this one model.

mod render;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::engine::{Evaluation, IndicatorTally, RuleTally};
use crate::error::Result;
use crate::finding::Finding;
use crate::profile::{LoadedProfile, LoadedWaivers, ParamSource, ProfileSource, Tailoring};
use crate::score;
use crate::sink::Findings;
use crate::standard::{Direction, SectionNode, Severity, Standard};
use crate::submission::Submission;
use crate::text::Lang;
use crate::text::Text;

pub use render::{render, render_to, Format, Renderer};

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Tool {
    #[schemars(extend("const" = "yardstick"))]
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ProfileInfo {
    pub file: String,
    pub sha256: String,
    /// `command_line` (the evaluator's `--profile`) or `submission_folder` (named by the
    /// organisation's manifest, used because no `--profile` was given).
    pub source: ProfileSource,
    pub id: Option<String>,
    pub title: Option<String>,
    pub overrides: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BasisInfo {
    pub code: Option<String>,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct StandardInfo {
    pub id: String,
    pub version: String,
    pub title: String,
    pub sha256: String,
    /// Whether the standard (and everything it extends) is one shipped with yardstick; when not,
    /// `file` is the evaluator's own standard file.
    pub shipped: bool,
    pub file: Option<String>,
    pub profile: Option<ProfileInfo>,
    pub basis: Vec<BasisInfo>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Input {
    pub path: String,
    pub sha256: String,
    pub records: usize,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PeriodInfo {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SubmissionInfo {
    pub organisation: Value,
    pub contract: Value,
    pub period: Option<PeriodInfo>,
    pub calendar: String,
    pub inputs: Vec<Input>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Counts {
    pub pass: u64,
    pub fail: u64,
    pub error: u64,
    pub not_applicable: u64,
    pub waived: u64,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct GradeInfo {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Summary {
    pub records: usize,
    pub records_evaluated: usize,
    pub results: Counts,
    pub score: Option<f64>,
    pub earned: f64,
    pub possible: f64,
    pub total_points: f64,
    pub grade: Option<GradeInfo>,
    pub vetoed_by: Vec<String>,
    pub findings: SeverityCounts,
}

/// Findings by severity.
#[derive(Debug, Clone, Copy, Default, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SeverityCounts {
    pub critical: usize,
    pub major: usize,
    pub minor: usize,
    pub info: usize,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SectionResult {
    pub id: String,
    pub title: String,
    pub earned: f64,
    pub possible: f64,
    pub score: Option<f64>,
    pub sections: Vec<SectionResult>,
    pub rules: Vec<String>,
    pub indicators: Vec<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RuleResult {
    pub id: String,
    pub title: String,
    /// What the rule requires, with this run's parameter values.
    pub requirement: Option<String>,
    pub section: String,
    pub applies_to: String,
    pub severity: Severity,
    pub veto: bool,
    pub basis: Option<String>,
    pub applicable: u64,
    pub pass: u64,
    pub fail: u64,
    pub error: u64,
    pub waived: u64,
    pub not_applicable: u64,
    pub points: f64,
    pub earned: f64,
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct IndicatorResult {
    pub id: String,
    pub title: String,
    pub requirement: Option<String>,
    pub section: String,
    pub applies_to: String,
    pub measure: &'static str,
    pub direction: &'static str,
    pub numerator: f64,
    pub denominator: Option<f64>,
    pub value: Option<f64>,
    pub target: Option<f64>,
    pub met: Option<bool>,
    pub points: f64,
    pub earned: f64,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct WaivedResult {
    pub rule: String,
    pub record: crate::finding::Location,
    pub outcome: &'static str,
}

/// A parameter's value and where it came from.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ParameterInfo {
    pub value: Value,
    pub source: ParamSource,
}

/// A waiver the organisation asked for in its manifest: listed for the evaluator, not applied.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct WaiverRequest {
    pub rule: String,
    pub records: Vec<String>,
    pub reason: String,
}

/// A required kind the submission holds no record of, and the points that cost.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MissingEvidence {
    pub kind: String,
    /// The kind's name in the report's language.
    pub title: String,
    pub points: f64,
}

/// A file of the evaluator's that the run used, with its hash.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FileInfo {
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct WaiverInfo {
    pub rule: String,
    pub records: Vec<String>,
    pub reason: String,
    pub approved_by: String,
    pub expires: Option<String>,
    pub source: String,
    pub expired: bool,
    pub applied: Vec<WaivedResult>,
}

/// The report: the canonical result every format is rendered from.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Report {
    #[schemars(extend("const" = 1))]
    pub report_version: u32,
    pub tool: Tool,
    pub lang: Lang,
    pub standard: StandardInfo,
    pub submission: SubmissionInfo,
    /// Every parameter's value and its source (`standard`, `profile`, `declared`).
    pub parameters: BTreeMap<String, ParameterInfo>,
    /// The required kinds with no record, and the points each cost.
    pub missing_evidence: Vec<MissingEvidence>,
    pub summary: Summary,
    pub sections: Vec<SectionResult>,
    pub rules: Vec<RuleResult>,
    pub indicators: Vec<IndicatorResult>,
    /// The findings, in report order.
    pub findings: Findings,
    /// Waivers granted (by the contract profile or a waiver file) and what each covered.
    pub waivers: Vec<WaiverInfo>,
    /// The waiver file given with `--waivers`.
    pub waiver_file: Option<FileInfo>,
    /// Waivers the organisation requested in its manifest: not applied.
    pub waiver_requests: Vec<WaiverRequest>,
    /// What the reader should know about how the figures were computed.
    pub notes: Vec<String>,
}

/// What the command line's exit status is decided by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Severity(Severity),
    Never,
}

impl Report {
    /// Whether the submission meets the bar: no finding at or above `fail_on`, a score not
    /// under `min_score`, and no veto. The reasons when it does not.
    pub fn verdict(&self, fail_on: FailOn, min_score: Option<f64>) -> Vec<String> {
        let mut reasons = Vec::new();
        if let FailOn::Severity(level) = fail_on {
            let n: usize = [
                Severity::Info,
                Severity::Minor,
                Severity::Major,
                Severity::Critical,
            ]
            .into_iter()
            .filter(|s| *s >= level)
            .map(|s| self.findings.count(s))
            .sum();
            if n > 0 {
                reasons.push(format!("{n} finding(s) at or above {}", level.as_str()));
            }
        }
        if let Some(min) = min_score {
            match self.summary.score {
                Some(score) if score >= min => {}
                Some(score) => reasons.push(format!("score {score:.2} is under the minimum {min}")),
                None => reasons.push(format!("no score could be computed (minimum {min})")),
            }
        }
        if !self.summary.vetoed_by.is_empty() {
            reasons.push(format!("vetoed by {}", self.summary.vetoed_by.join(", ")));
        }
        reasons
    }
}

fn rule_status(t: &RuleTally, missing: bool) -> &'static str {
    if missing {
        "fail"
    } else if t.applicable() == 0 {
        "not_applicable"
    } else if t.fail > 0 {
        "fail"
    } else if t.error > 0 {
        "error"
    } else {
        "pass"
    }
}

struct Scored {
    earned: f64,
    possible: f64,
}

fn rule_scored(
    points: f64,
    scoring: crate::standard::RuleScoring,
    t: &RuleTally,
    missing: bool,
) -> Option<Scored> {
    if missing {
        return Some(Scored {
            earned: 0.0,
            possible: points,
        });
    }
    (t.applicable() > 0).then(|| Scored {
        earned: score::rule_points(scoring, points, t.pass + t.waived, t.fail + t.error),
        possible: points,
    })
}

fn indicator_scored(
    standard: &Standard,
    i: usize,
    points: f64,
    t: &IndicatorTally,
    missing: bool,
) -> (Option<Scored>, Option<bool>, &'static str) {
    let def = &standard.indicators[i].def;
    if missing {
        return (
            Some(Scored {
                earned: 0.0,
                possible: points,
            }),
            Some(false),
            "fail",
        );
    }
    let Some(value) = t.value else {
        return (None, None, "not_applicable");
    };
    let Some(target) = t.target else {
        return (
            Some(Scored {
                earned: 0.0,
                possible: points,
            }),
            None,
            "error",
        );
    };
    let met = score::meets(def.direction, value, target);
    let earned = score::indicator_points(&def.scoring, def.direction, points, value, target);
    (
        Some(Scored {
            earned,
            possible: points,
        }),
        Some(met),
        if met { "pass" } else { "fail" },
    )
}

/// The JSON Schema of the JSON report, generated from the report's types (the published copy
/// is `schemas/report.schema.json`; a test keeps the two the same).
pub fn schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let mut schema =
        serde_json::to_value(generator.into_root_schema_for::<Report>()).unwrap_or_default();
    if let Some(map) = schema.as_object_mut() {
        map.insert(
            "$id".into(),
            "https://yardstick.invalid/schemas/report.schema.json".into(),
        );
        map.insert("title".into(), "yardstick report".into());
        map.insert(
            "description".into(),
            "The canonical JSON report (report_version 1). Every other format is rendered from it."
                .into(),
        );
    }
    schema
}

/// What a run was given: the standard, the submission, and how the evaluator tailored it.
#[derive(Clone, Copy)]
pub struct Given<'a> {
    pub standard: &'a Standard,
    pub submission: &'a Submission,
    pub tailoring: &'a Tailoring,
    pub profile: Option<&'a LoadedProfile>,
    pub waiver_file: Option<&'a LoadedWaivers>,
}

/// Builds the report of an evaluation from what the run was given, the tallies and the
/// findings (in report order), in one language.
pub fn build(given: Given, eval: &Evaluation, findings: Findings, lang: Lang) -> Result<Report> {
    let Given {
        standard,
        submission,
        tailoring,
        profile,
        waiver_file,
    } = given;
    let missing = |kind: &str| eval.missing_evidence.iter().any(|(k, _)| k == kind);
    let mut findings = findings.in_lang(lang)?;
    let mut rule_scores: Vec<Option<Scored>> = Vec::new();
    let mut rules = Vec::new();
    let mut counts = Counts::default();
    let mut vetoed_by = Vec::new();
    for (i, rule) in standard.rules.iter().enumerate() {
        let Some(t) = &eval.rules[i] else {
            rule_scores.push(None);
            continue;
        };
        let points = tailoring.rules[i].points;
        let gone = missing(&rule.def.applies_to);
        let scored = rule_scored(points, rule.def.scoring, t, gone);
        counts.pass += t.pass;
        counts.fail += t.fail;
        counts.error += t.error;
        counts.not_applicable += t.not_applicable;
        counts.waived += t.waived;
        if rule.def.veto && t.fail + t.error > 0 {
            vetoed_by.push(rule.def.id.clone());
        }
        rules.push(RuleResult {
            id: rule.def.id.clone(),
            title: rule.def.title.get(lang).to_string(),
            requirement: standard.render_requirement(&rule.def.id, lang, &tailoring.params),
            section: rule.section.clone(),
            applies_to: rule.def.applies_to.clone(),
            severity: rule.def.severity,
            veto: rule.def.veto,
            basis: rule.def.basis.clone(),
            applicable: t.applicable(),
            pass: t.pass,
            fail: t.fail,
            error: t.error,
            waived: t.waived,
            not_applicable: t.not_applicable,
            points,
            earned: score::round2(scored.as_ref().map_or(0.0, |s| s.earned)),
            status: rule_status(t, gone),
        });
        rule_scores.push(scored);
    }
    let mut indicator_scores: Vec<Option<Scored>> = Vec::new();
    let mut indicators = Vec::new();
    for (i, ind) in standard.indicators.iter().enumerate() {
        let Some(t) = &eval.indicators[i] else {
            indicator_scores.push(None);
            continue;
        };
        let points = tailoring.indicators[i].points;
        let gone = missing(&ind.def.applies_to);
        let (scored, met, status) = indicator_scored(standard, i, points, t, gone);
        if let Some(sc) = scored
            .as_ref()
            .filter(|sc| !gone && sc.earned < sc.possible - 1e-9)
        {
            findings.push(shortfall(standard, i, t, sc, lang));
        }
        indicators.push(IndicatorResult {
            id: ind.def.id.clone(),
            title: ind.def.title.get(lang).to_string(),
            requirement: standard.render_requirement(&ind.def.id, lang, &tailoring.params),
            section: ind.section.clone(),
            applies_to: ind.def.applies_to.clone(),
            measure: ind.def.measure.as_str(),
            direction: match ind.def.direction {
                Direction::Higher => "higher",
                Direction::Lower => "lower",
            },
            numerator: t.numerator,
            denominator: t.denominator,
            value: t.value,
            target: t.target,
            met,
            points,
            earned: score::round2(scored.as_ref().map_or(0.0, |s| s.earned)),
            status,
            error: t.error.clone(),
        });
        indicator_scores.push(scored);
    }
    let mut total = Scored {
        earned: 0.0,
        possible: 0.0,
    };
    let mut sections = Vec::new();
    for node in &standard.sections {
        let (result, sum) = section_result(
            node,
            (&rule_scores, &indicator_scores),
            standard,
            eval,
            lang,
        );
        total.earned += sum.earned;
        total.possible += sum.possible;
        sections.push(result);
    }
    let raw = score::total(total.earned, total.possible, standard.total_points);
    let rounded = raw.map(score::round2);
    let grade = rounded
        .and_then(|s| score::grade(&standard.grades, s, !vetoed_by.is_empty()))
        .map(|g| GradeInfo {
            id: g.id.clone(),
            title: g.title.get(lang).to_string(),
        });
    let by_severity = SeverityCounts {
        critical: findings.count(Severity::Critical),
        major: findings.count(Severity::Major),
        minor: findings.count(Severity::Minor),
        info: findings.count(Severity::Info),
    };
    let summary = Summary {
        records: eval.records_read,
        records_evaluated: eval.records_evaluated,
        results: counts,
        score: rounded,
        earned: score::round2(total.earned),
        possible: score::round2(total.possible),
        total_points: standard.total_points,
        grade,
        vetoed_by,
        findings: by_severity,
    };
    Ok(Report {
        report_version: 1,
        tool: Tool {
            name: "yardstick".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        lang,
        standard: StandardInfo {
            id: standard.id.clone(),
            version: standard.version.clone(),
            title: standard.title.get(lang).to_string(),
            sha256: standard.sha256.clone(),
            shipped: standard.shipped,
            file: (!standard.shipped).then(|| standard.file.clone()),
            profile: profile.map(|p| ProfileInfo {
                file: p.file.clone(),
                sha256: p.sha256.clone(),
                source: p.source,
                id: p.profile.id.clone(),
                title: p.profile.title.as_ref().map(|t| t.get(lang).to_string()),
                overrides: tailoring
                    .overrides
                    .iter()
                    .map(|o| o.get(lang).to_string())
                    .collect(),
            }),
            basis: standard
                .basis
                .iter()
                .map(|b| BasisInfo {
                    code: b.code.clone(),
                    title: b.title.get(lang).to_string(),
                })
                .collect(),
        },
        submission: submission_info(submission, eval),
        parameters: tailoring
            .params
            .iter()
            .map(|(k, v)| {
                let source = tailoring
                    .param_sources
                    .get(k)
                    .copied()
                    .unwrap_or(ParamSource::Standard);
                (
                    k.clone(),
                    ParameterInfo {
                        value: v.clone(),
                        source,
                    },
                )
            })
            .collect(),
        missing_evidence: eval
            .missing_evidence
            .iter()
            .map(|(kind, points)| MissingEvidence {
                kind: kind.clone(),
                title: match (lang, standard.kinds.get(kind)) {
                    (Lang::Zh, Some(k)) => k.name_zh().to_string(),
                    _ => kind.clone(),
                },
                points: score::round2(*points),
            })
            .collect(),
        summary,
        sections,
        rules,
        indicators,
        findings,
        waivers: waiver_info(submission, tailoring, eval),
        waiver_file: waiver_file.map(|w| FileInfo {
            file: w.file.clone(),
            sha256: w.sha256.clone(),
        }),
        waiver_requests: tailoring
            .requests
            .iter()
            .map(|w| WaiverRequest {
                rule: w.rule.clone(),
                records: w.records.clone(),
                reason: w.reason.clone(),
            })
            .collect(),
        notes: notes(eval, lang),
    })
}

/// What the reader should know about how the figures were computed, in the report's language.
fn notes(eval: &Evaluation, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    if !eval.uncovered_years.is_empty() {
        let years = eval
            .uncovered_years
            .iter()
            .map(|y| y.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        out.push(
            Text::bi(
                format!("节假日日历未涵盖 {years} 年：这些年份的工作日按周一至周五计算"),
                format!("the holiday calendar does not cover {years}: working days there were counted Monday to Friday"),
            )
            .get(lang)
            .to_string(),
        );
    }
    out
}

/// The finding of an indicator that earned less than its points: its value against its target.
fn shortfall(
    standard: &Standard,
    i: usize,
    t: &IndicatorTally,
    sc: &Scored,
    lang: Lang,
) -> Finding {
    let def = &standard.indicators[i].def;
    let show = |v: Option<f64>| match (v, def.measure) {
        (None, _) => "—".to_string(),
        (Some(v), crate::standard::Measure::Rate) => format!("{:.2}%", v * 100.0),
        (Some(v), _) if v.fract() == 0.0 => format!("{v:.0}"),
        (Some(v), _) => format!("{v:.2}"),
    };
    let (value, target) = (show(t.value), show(t.target));
    let (cmp_zh, cmp_en) = match def.direction {
        Direction::Higher => ("不低于", "at least"),
        Direction::Lower => ("不高于", "at most"),
    };
    let (earned, possible) = (score::round2(sc.earned), score::round2(sc.possible));
    let title = &def.title;
    let message = match &t.error {
        Some(why) => Text::bi(
            format!("{}：目标无法计算（{why}），得 0 / {possible} 分", title.get(Lang::Zh)),
            format!("{}: the target could not be computed ({why}); 0 of {possible} points", title.get(Lang::En)),
        ),
        None => Text::bi(
            format!(
                "{}为 {value}，目标为{cmp_zh} {target}：得 {earned} / {possible} 分",
                title.get(Lang::Zh)
            ),
            format!(
                "{} is {value} against a target of {cmp_en} {target}: {earned} of {possible} points",
                title.get(Lang::En)
            ),
        ),
    };
    Finding {
        rule: def.id.clone(),
        severity: def.severity,
        status: crate::finding::FindingStatus::Fail,
        record: crate::finding::Location {
            kind: Some(def.applies_to.clone()),
            ..Default::default()
        },
        message: Text::Plain(message.get(lang).to_string()),
    }
}

/// A section's result with its raw (unrounded) earned and possible points.
fn section_result(
    node: &SectionNode,
    scores: (&[Option<Scored>], &[Option<Scored>]),
    standard: &Standard,
    eval: &Evaluation,
    lang: Lang,
) -> (SectionResult, Scored) {
    let (rules, indicators) = scores;
    let mut sum = Scored {
        earned: 0.0,
        possible: 0.0,
    };
    let own = node.rules.iter().filter_map(|&i| rules[i].as_ref()).chain(
        node.indicators
            .iter()
            .filter_map(|&i| indicators[i].as_ref()),
    );
    for s in own {
        sum.earned += s.earned;
        sum.possible += s.possible;
    }
    let mut sections = Vec::new();
    for child in &node.sections {
        let (result, child_sum) = section_result(child, scores, standard, eval, lang);
        sum.earned += child_sum.earned;
        sum.possible += child_sum.possible;
        sections.push(result);
    }
    let result = SectionResult {
        id: node.id.clone(),
        title: node.title.get(lang).to_string(),
        earned: score::round2(sum.earned),
        possible: score::round2(sum.possible),
        score: (sum.possible > 0.0).then(|| score::round2(sum.earned / sum.possible * 100.0)),
        sections,
        rules: node
            .rules
            .iter()
            .filter(|&&i| eval.rules[i].is_some())
            .map(|&i| standard.rules[i].def.id.clone())
            .collect(),
        indicators: node
            .indicators
            .iter()
            .filter(|&&i| eval.indicators[i].is_some())
            .map(|&i| standard.indicators[i].def.id.clone())
            .collect(),
    };
    (result, sum)
}

fn submission_info(submission: &Submission, eval: &Evaluation) -> SubmissionInfo {
    let m = &submission.manifest;
    let mut inputs: Vec<Input> = eval
        .inputs
        .iter()
        .map(|f| Input {
            path: f.path.clone(),
            sha256: f.sha256.clone(),
            records: f.records,
        })
        .collect();
    if let Some((name, sha)) = &submission.manifest_file {
        inputs.push(Input {
            path: name.clone(),
            sha256: sha.clone(),
            records: 0,
        });
    }
    inputs.sort_by(|a, b| a.path.cmp(&b.path));
    SubmissionInfo {
        organisation: m
            .organisation
            .clone()
            .unwrap_or_else(|| Value::Object(Default::default())),
        contract: m
            .contract
            .clone()
            .unwrap_or_else(|| Value::Object(Default::default())),
        period: submission.period().map(|p| PeriodInfo {
            start: p.start.to_string(),
            end: p.end.to_string(),
        }),
        calendar: m
            .calendar
            .clone()
            .unwrap_or_else(|| crate::expr::DEFAULT_CALENDAR.to_string()),
        inputs,
    }
}

fn waiver_info(
    submission: &Submission,
    tailoring: &Tailoring,
    eval: &Evaluation,
) -> Vec<WaiverInfo> {
    tailoring
        .waivers
        .iter()
        .enumerate()
        .map(|(i, w)| WaiverInfo {
            rule: w.waiver.rule.clone(),
            records: w.waiver.records.clone(),
            reason: w.waiver.reason.clone(),
            approved_by: w.waiver.approved_by.clone().unwrap_or_default(),
            expires: w.expires.map(|d| d.to_string()),
            source: w.source.clone(),
            expired: !w.in_force(submission.period().as_ref()),
            applied: eval
                .waiver_uses
                .iter()
                .filter(|u| u.waiver == i)
                .map(|u| WaivedResult {
                    rule: u.rule.clone(),
                    record: u.record.clone(),
                    outcome: u.outcome.as_str(),
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    /// The published report schema is the one the report's types give: regenerate it with
    /// `YARDSTICK_WRITE_SCHEMA=1 cargo test --lib report_schema`.
    #[test]
    fn the_published_report_schema_is_generated_from_the_report_types() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/report.schema.json");
        let generated = serde_json::to_string_pretty(&super::schema()).unwrap() + "\n";
        if std::env::var_os("YARDSTICK_WRITE_SCHEMA").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let published = std::fs::read_to_string(path).unwrap();
        assert!(
            published == generated,
            "schemas/report.schema.json is not what the report types give; regenerate it with YARDSTICK_WRITE_SCHEMA=1 cargo test --lib report_schema"
        );
    }
}
