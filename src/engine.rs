//! Evaluation: every record against every rule of its kind, and every indicator over the
//! records, with the built-in checks (parse, schema, duplicate id, kind, period) first.

use std::collections::BTreeMap;

use minijinja::{context, Value as JValue};
use rayon::prelude::*;
use serde_json::Value;

use crate::expr::{self, to_value};
use crate::finding::{builtin, pointer, Finding, FindingStatus, Location};
use crate::profile::Tailoring;
use crate::records::Record;
use crate::schema::KindSchema;
use crate::standard::{jinja_detail, CompiledTarget, Evidence, Measure, Severity, Standard};
use crate::submission::{Period, Submission};
use crate::text::{Lang, Text};

/// How an applicable (rule, record) pair came out; not-applicable pairs are only counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
        }
    }
}

/// The results of one rule over the records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleTally {
    pub pass: u64,
    pub fail: u64,
    pub error: u64,
    pub not_applicable: u64,
    pub waived: u64,
}

impl RuleTally {
    pub fn applicable(&self) -> u64 {
        self.pass + self.fail + self.error + self.waived
    }
}

/// The computed value of one indicator.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndicatorTally {
    pub numerator: f64,
    pub denominator: Option<f64>,
    /// `None` when not applicable (a rate or mean over no record).
    pub value: Option<f64>,
    pub target: Option<f64>,
    /// Why the target could not be computed.
    pub error: Option<String>,
}

/// A result a waiver covered.
#[derive(Debug, Clone, PartialEq)]
pub struct WaiverUse {
    pub waiver: usize,
    pub rule: String,
    pub record: Location,
    /// What the result would have been.
    pub outcome: Outcome,
}

/// A record ready for evaluation: its fields held once, as the expression engine's value.
pub struct Prepared {
    pub kind: String,
    pub id: Option<String>,
    pub file: String,
    pub line: u64,
    jvalue: JValue,
}

impl Prepared {
    fn location(&self) -> Location {
        Location {
            kind: Some(self.kind.clone()),
            id: self.id.clone(),
            file: Some(self.file.clone()),
            line: Some(self.line),
            column: None,
            pointer: None,
        }
    }
}

/// Everything evaluation found.
pub struct Evaluation {
    /// Records read, of any kind.
    pub records_read: usize,
    /// Records evaluated (known kind, inside the period).
    pub records_evaluated: usize,
    /// Per rule of the standard; `None` when tailoring deselected it.
    pub rules: Vec<Option<RuleTally>>,
    pub indicators: Vec<Option<IndicatorTally>>,
    pub findings: Vec<Finding>,
    pub waiver_uses: Vec<WaiverUse>,
    /// Required kinds the submission holds no record of, with the points of their active rules
    /// and indicators, which all fail.
    pub missing_evidence: Vec<(String, f64)>,
    /// Years a working-day count reached that the holiday calendar does not cover (counted
    /// Monday to Friday).
    pub uncovered_years: Vec<i16>,
}

/// The kind a record's file or folder names stand for, nearest first.
fn kind_from_path(standard: &Standard, file: &str) -> Option<String> {
    let mut parts: Vec<&str> = file.split('/').collect();
    let last = parts.pop()?;
    let stem = last.split('.').next().unwrap_or(last);
    std::iter::once(stem)
        .chain(parts.into_iter().rev())
        .find_map(|name| standard.kind_for_name(name).map(str::to_string))
}

fn lookup<'a>(value: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted
        .split('.')
        .try_fold(value, |v, key| v.get(key))
        .filter(|v| !v.is_null())
}

/// Whether a dotted field is present (defined and not null) in an expression value.
fn present(value: &JValue, dotted: &str) -> bool {
    dotted
        .split('.')
        .try_fold(value.clone(), |v, key| v.get_attr(key).ok())
        .is_some_and(|v| !v.is_undefined() && !v.is_none())
}

/// Whether the record's dates fall wholly outside the period; the message says how.
fn outside(
    schema: &KindSchema,
    value: &Value,
    period: &Period,
    grace: i64,
) -> Option<(String, String)> {
    let (start_field, end_field) = schema.period.as_ref()?;
    let read = |field: &str| {
        lookup(value, field)
            .and_then(Value::as_str)
            .and_then(|s| expr::dates::parse(s).ok())
            .map(|w| w.date())
    };
    let start = read(start_field)?;
    if start > period.end {
        return Some((
            format!("{start_field} {start} 晚于周期结束日（{}）", period.end),
            format!(
                "{start_field} {start} is after the period ends ({})",
                period.end
            ),
        ));
    }
    let end = end_field.as_deref().and_then(read);
    match end {
        Some(end) if expr::dates::days_between(end, period.start) > grace => {
            let field = end_field.as_deref().unwrap_or_default();
            Some((
                format!("{field} {end} 早于周期开始日（{}）", period.start),
                format!(
                    "{field} {end} is before the period starts ({})",
                    period.start
                ),
            ))
        }
        // A record dated by one field (an event) is outside when it came before the period,
        // beyond the grace its schema allows for duties due after it.
        None if end_field.is_none() && expr::dates::days_between(start, period.start) > grace => {
            Some((
                format!("{start_field} {start} 早于周期开始日（{}）", period.start),
                format!(
                    "{start_field} {start} is before the period starts ({})",
                    period.start
                ),
            ))
        }
        _ => None,
    }
}

/// Settles each record's kind, normalises and validates it, and raises the built-in findings.
pub fn prepare(
    standard: &Standard,
    submission: &Submission,
    params: &BTreeMap<String, Value>,
) -> (Vec<Prepared>, Vec<Finding>, usize) {
    // A record that ended shortly before the period stays in it for the duties that fall due
    // after its end (`x-period.grace`: the largest of the parameters it names), by kind.
    let graces: BTreeMap<&str, i64> = standard
        .kinds
        .iter()
        .map(|(kind, schema)| {
            let grace = schema
                .period_grace
                .iter()
                .filter_map(|p| params.get(p).and_then(Value::as_i64))
                .max()
                .unwrap_or(0)
                .max(0);
            (kind.as_str(), grace)
        })
        .collect();
    let mut findings = Vec::new();
    let mut prepared = Vec::new();
    let mut seen: BTreeMap<(String, String), (String, u64)> = BTreeMap::new();
    let mut read = 0;
    for file in &submission.files {
        for e in &file.errors {
            findings.push(Finding::builtin(
                builtin::PARSE,
                Severity::Major,
                Location {
                    file: Some(file.path.clone()),
                    line: (e.line > 0).then_some(e.line),
                    column: (e.column > 0).then_some(e.column),
                    ..Location::default()
                },
                e.message.clone(),
            ));
        }
        for record in &file.records {
            read += 1;
            if let Some(p) = prepare_one(
                standard,
                submission,
                &graces,
                record,
                &mut seen,
                &mut findings,
            ) {
                prepared.push(p);
            }
        }
    }
    (prepared, findings, read)
}

fn prepare_one(
    standard: &Standard,
    submission: &Submission,
    graces: &BTreeMap<&str, i64>,
    record: &Record,
    seen: &mut BTreeMap<(String, String), (String, u64)>,
    findings: &mut Vec<Finding>,
) -> Option<Prepared> {
    let id = record.id();
    let mut location = Location {
        kind: record.kind.clone(),
        id: id.clone(),
        file: Some(record.file.clone()),
        line: Some(record.line),
        column: None,
        pointer: None,
    };
    let kind = match &record.kind {
        Some(k) if standard.kinds.contains_key(k) => k.clone(),
        Some(k) => {
            let known = standard
                .kinds
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            findings.push(Finding::builtin(
                builtin::UNKNOWN_KIND,
                Severity::Major,
                location,
                Text::bi(
                    format!("记录类型 '{k}' 不是标准 {} 的记录类型（已知：{known}），该记录未评分", standard.id),
                    format!(
                        "kind '{k}' is not a record kind of standard {} (known: {known}); the record is not scored",
                        standard.id
                    ),
                ),
            ));
            return None;
        }
        None => match kind_from_path(standard, &record.file) {
            Some(k) => k,
            None => {
                findings.push(Finding::builtin(builtin::UNKNOWN_KIND, Severity::Major, location,
                    Text::bi(
                        "记录没有 kind 字段，其文件名和文件夹名也未指明记录类型（如 cases/、requests.jsonl），该记录未评分",
                        "the record has no kind field, and neither its file nor its folder names a kind (cases/, requests.jsonl, …); the record is not scored",
                    )));
                return None;
            }
        },
    };
    location.kind = Some(kind.clone());
    let schema = &standard.kinds[&kind];
    let mut value = record.value.clone();
    schema.normalise_dates(&mut value);
    schema.normalise_labels(&mut value);
    if !schema.is_valid(&value) {
        for v in schema.violations(&value) {
            let at = if v.pointer.is_empty() {
                "/"
            } else {
                v.pointer.as_str()
            };
            findings.push(Finding::builtin(
                builtin::SCHEMA,
                Severity::Major,
                Location {
                    pointer: Some(v.pointer.clone()),
                    ..location.clone()
                },
                Text::bi(
                    format!(
                        "{at} 不符合{}的数据规范：{}",
                        schema.name_zh(),
                        v.message_zh
                    ),
                    format!("{at} breaks the {kind} schema: {}", v.message),
                ),
            ));
        }
    }
    for u in schema.unknown_fields(&value) {
        let (zh, en) = match &u.suggestion {
            Some(s) => (
                format!("字段 '{}' 不是{}的数据规范所定义的字段，其内容未被读取；是否应为 '{s}'？", u.name, schema.name_zh()),
                format!("field '{}' is not defined for {kind} records and is not read; did you mean '{s}'?", u.name),
            ),
            None => (
                format!("字段 '{}' 不是{}的数据规范所定义的字段，其内容未被读取", u.name, schema.name_zh()),
                format!("field '{}' is not defined for {kind} records and is not read", u.name),
            ),
        };
        findings.push(Finding::builtin(
            builtin::UNKNOWN_FIELD,
            Severity::Minor,
            Location {
                pointer: Some(u.pointer),
                ..location.clone()
            },
            Text::bi(zh, en),
        ));
    }
    if let Some(id) = &id {
        if let Some((file, line)) = seen.get(&(kind.clone(), id.clone())) {
            findings.push(Finding::builtin(
                builtin::DUPLICATE_ID,
                Severity::Major,
                Location {
                    pointer: Some("/id".into()),
                    ..location.clone()
                },
                Text::bi(
                    format!("{}编号 '{id}' 已在 {file}:{line} 使用", schema.name_zh()),
                    format!("{kind} id '{id}' is already used at {file}:{line}"),
                ),
            ));
        } else {
            seen.insert(
                (kind.clone(), id.clone()),
                (record.file.clone(), record.line),
            );
        }
    }
    if let Some(period) = &submission.period() {
        let grace = graces.get(kind.as_str()).copied().unwrap_or(0);
        if let Some(why) = outside(schema, &value, period, grace) {
            let (zh, en) = why;
            findings.push(Finding::builtin(
                builtin::PERIOD,
                Severity::Minor,
                location,
                Text::bi(
                    format!(
                        "记录不在评估周期 {}–{} 内：{zh}；未评分",
                        period.start, period.end
                    ),
                    format!(
                        "the record lies outside the submission period {}–{}: {en}; it is not scored",
                        period.start, period.end
                    ),
                ),
            ));
            return None;
        }
    }
    let jvalue = to_value(&value);
    Some(Prepared {
        kind,
        id,
        file: record.file.clone(),
        line: record.line,
        jvalue,
    })
}

/// The `submission` value expressions see.
pub fn submission_value(
    standard: &Standard,
    submission: &Submission,
    tailoring: &Tailoring,
) -> JValue {
    let m = &submission.manifest;
    let period = submission
        .period()
        .map(|p| serde_json::json!({"start": p.start.to_string(), "end": p.end.to_string(), "days": p.days()}));
    to_value(&serde_json::json!({
        "organisation": m.organisation.clone().unwrap_or(Value::Null),
        "contract": m.contract.clone().unwrap_or(Value::Null),
        "period": period,
        "calendar": m.calendar.clone().unwrap_or_else(|| expr::DEFAULT_CALENDAR.to_string()),
        "standard": standard.id,
        "parameters": tailoring.params,
    }))
}

/// What evaluating one rule over the records gives.
#[derive(Default)]
struct RuleResults {
    tally: RuleTally,
    findings: Vec<Finding>,
    waiver_uses: Vec<WaiverUse>,
}

/// What every evaluation of one run shares.
struct Run<'a> {
    standard: &'a Standard,
    submission: &'a Submission,
    tailoring: &'a Tailoring,
    params: JValue,
    sub: JValue,
    notes: JValue,
    lang: Lang,
}

impl Run<'_> {
    /// The context an expression about one record is evaluated in.
    fn context(&self, kind: &str, record: JValue) -> JValue {
        context! {
            record => record,
            __kind => kind,
            params => self.params.clone(),
            submission => self.sub.clone(),
            __notes => self.notes.clone(),
            __lang => lang_code(self.lang),
        }
    }
}

/// The records of one kind that share an id (or a record with no id, alone), in the order they
/// were read. A group is judged once, as the least favourable of its members: copies of a record
/// add nothing, and a clean copy cannot hide a failing one.
struct Group {
    kind: String,
    members: Vec<usize>,
}

fn groups(records: &[Prepared]) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    let mut by_id: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, rec) in records.iter().enumerate() {
        match &rec.id {
            Some(id) => match by_id.get(&(rec.kind.as_str(), id.as_str())) {
                Some(&g) => out[g].members.push(i),
                None => {
                    by_id.insert((rec.kind.as_str(), id.as_str()), out.len());
                    out.push(Group {
                        kind: rec.kind.clone(),
                        members: vec![i],
                    });
                }
            },
            None => out.push(Group {
                kind: rec.kind.clone(),
                members: vec![i],
            }),
        }
    }
    out
}

/// How bad an outcome is, for the least favourable of a group.
fn badness(o: Outcome) -> u8 {
    match o {
        Outcome::Pass => 0,
        Outcome::Fail => 1,
        Outcome::Error => 2,
    }
}

/// The points a missing kind of evidence cost: its active rules and indicators.
fn points_over_kind(standard: &Standard, tailoring: &Tailoring, kind: &str) -> f64 {
    let rules: f64 = standard
        .rules
        .iter()
        .enumerate()
        .filter(|(i, r)| tailoring.rule_active[*i] && r.def.applies_to == kind)
        .map(|(i, _)| tailoring.rule_points[i])
        .sum();
    let indicators: f64 = standard
        .indicators
        .iter()
        .enumerate()
        .filter(|(i, x)| tailoring.indicator_active[*i] && x.def.applies_to == kind)
        .map(|(i, _)| tailoring.indicator_points[i])
        .sum();
    rules + indicators
}

/// Runs every active rule and indicator.
pub fn evaluate(
    standard: &Standard,
    submission: &Submission,
    tailoring: &Tailoring,
    lang: Lang,
) -> Evaluation {
    let (records, mut findings, records_read) = prepare(standard, submission, &tailoring.params);
    let groups = groups(&records);
    let notes = std::sync::Arc::new(expr::Notes::default());
    let run = Run {
        standard,
        submission,
        tailoring,
        params: to_value(&tailoring.params),
        sub: submission_value(standard, submission, tailoring),
        notes: JValue::from_dyn_object(notes.clone()),
        lang,
    };
    // Rules are independent of each other: evaluate them in parallel, then merge in rule order.
    let per_rule: Vec<Option<RuleResults>> = (0..standard.rules.len())
        .into_par_iter()
        .map(|ri| {
            if !tailoring.rule_active[ri] {
                return None;
            }
            let rule = &standard.rules[ri];
            let mut out = RuleResults::default();
            for group in groups.iter().filter(|g| g.kind == rule.def.applies_to) {
                let judged: Vec<(&Prepared, Option<Judged>)> = group
                    .members
                    .iter()
                    .map(|&i| (&records[i], judge(&run, ri, &records[i])))
                    .collect();
                let worst = judged
                    .iter()
                    .filter_map(|(rec, j)| j.as_ref().map(|(o, _)| (*rec, *o)))
                    .max_by_key(|(_, o)| badness(*o));
                let Some((rec, outcome)) = worst else {
                    out.tally.not_applicable += 1;
                    continue;
                };
                if run.count(ri, rec, outcome, &mut out) {
                    for (rec, j) in judged {
                        if let Some((o @ (Outcome::Fail | Outcome::Error), why)) = j {
                            out.findings.push(run.finding(ri, rec, o, why));
                        }
                    }
                }
            }
            Some(out)
        })
        .collect();
    let mut waiver_uses = Vec::new();
    let mut rules = Vec::with_capacity(standard.rules.len());
    for result in per_rule {
        rules.push(result.map(|out| {
            findings.extend(out.findings);
            waiver_uses.extend(out.waiver_uses);
            out.tally
        }));
    }
    let indicators = (0..standard.indicators.len())
        .map(|ii| {
            tailoring.indicator_active[ii]
                .then(|| evaluate_indicator(&run, ii, &records, &groups, &mut findings))
        })
        .collect();
    let missing_evidence: Vec<(String, f64)> = tailoring
        .evidence
        .iter()
        .filter(|(kind, need)| {
            **need == Evidence::Required && !records.iter().any(|r| &r.kind == *kind)
        })
        .map(|(kind, _)| (kind.clone(), points_over_kind(standard, tailoring, kind)))
        .collect();
    for (kind, points) in &missing_evidence {
        let cost = crate::score::round2(*points);
        let name = standard
            .kinds
            .get(kind)
            .map_or(kind.as_str(), |k| k.name_zh());
        findings.push(Finding::builtin(
            builtin::MISSING_EVIDENCE,
            Severity::Major,
            Location {
                kind: Some(kind.clone()),
                ..Location::default()
            },
            Text::bi(
                format!("标准要求提交{name}（{kind}），但提交材料中没有任何{name}：相关规则和指标按未达标计分，失去 {cost} 分"),
                format!("the standard requires {kind} records and the submission holds none: the rules and indicators over them are scored as failed, costing {cost} points"),
            ),
        ));
    }
    place_fields(submission, &mut findings);
    findings.extend(submission.findings.iter().cloned());
    findings.extend(tailoring.findings.iter().cloned());
    findings.sort_by(crate::finding::report_order);
    Evaluation {
        records_read,
        records_evaluated: records.len(),
        rules,
        indicators,
        findings,
        waiver_uses,
        missing_evidence,
        uncovered_years: notes.uncovered_years(),
    }
}

/// Moves each finding that points at a field of a record to the line of that field (or of its
/// nearest ancestor the record has), where the file's format lets it be found.
fn place_fields(submission: &Submission, findings: &mut [Finding]) {
    let mut wanted: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for f in findings.iter() {
        if let (Some(file), Some(line), Some(_)) =
            (&f.record.file, f.record.line, &f.record.pointer)
        {
            wanted.entry(file.as_str()).or_default().push(line);
        }
    }
    let lines: BTreeMap<String, BTreeMap<u64, std::collections::HashMap<String, u64>>> = wanted
        .into_iter()
        .filter_map(|(file, record_lines)| {
            let read = submission.files.iter().find(|r| r.path == file)?;
            Some((file.to_string(), read.field_lines(&record_lines)))
        })
        .collect();
    for f in findings.iter_mut() {
        let (Some(file), Some(line), Some(ptr)) =
            (&f.record.file, f.record.line, &f.record.pointer)
        else {
            continue;
        };
        if let Some(at) = lines
            .get(file)
            .and_then(|by_record| by_record.get(&line))
            .and_then(|fields| crate::records::position::line_of(fields, ptr))
        {
            f.record.line = Some(at);
        }
    }
}

enum Eval {
    True,
    False,
    Missing(String),
    Raised(String),
}

fn eval(e: &minijinja::Expression<'static, 'static>, ctx: &JValue) -> Eval {
    match e.eval(ctx.clone()) {
        Ok(v) if v.is_true() => Eval::True,
        Ok(_) => Eval::False,
        Err(err) if expr::is_missing_data(&err) => Eval::Missing(jinja_detail(&err)),
        Err(err) => Eval::Raised(jinja_detail(&err)),
    }
}

/// A rule's outcome on a record and, for a failure on missing data or an error, the reason.
type Judged = (Outcome, Option<String>);

/// One rule on one record: `None` when the rule does not apply, else the outcome and, for a
/// failure on missing data or an error, the reason.
fn judge(run: &Run, ri: usize, rec: &Prepared) -> Option<Judged> {
    let rule = &run.standard.rules[ri];
    let ctx = run.context(&rec.kind, rec.jvalue.clone());
    if let Some(when) = &rule.when {
        match eval(when, &ctx) {
            Eval::True => {}
            Eval::False | Eval::Missing(_) => return None,
            Eval::Raised(why) => return Some((Outcome::Error, Some(why))),
        }
    }
    Some(match eval(&rule.assert, &ctx) {
        Eval::True => (Outcome::Pass, None),
        Eval::False => (Outcome::Fail, None),
        Eval::Missing(why) => (Outcome::Fail, Some(why)),
        Eval::Raised(why) => (Outcome::Error, Some(why)),
    })
}

/// The waiver (index) covering a rule's result on a record, if one is in force.
fn covering_waiver(
    tailoring: &Tailoring,
    submission: &Submission,
    rule: &str,
    id: Option<&str>,
) -> Option<usize> {
    tailoring.waivers.iter().position(|w| {
        crate::profile::glob_match(&w.waiver.rule, rule)
            && id.is_some_and(|id| w.waiver.records.iter().any(|r| r == id))
            && match (w.expires, submission.period()) {
                (Some(expires), Some(period)) => expires >= period.end,
                _ => true,
            }
    })
}

impl Run<'_> {
    /// Counts an applicable result once, applying waivers; whether it failed (and so its
    /// findings are to be raised).
    fn count(&self, ri: usize, rec: &Prepared, outcome: Outcome, out: &mut RuleResults) -> bool {
        let rule = &self.standard.rules[ri];
        if let Some(w) = covering_waiver(
            self.tailoring,
            self.submission,
            &rule.def.id,
            rec.id.as_deref(),
        ) {
            out.tally.waived += 1;
            out.waiver_uses.push(WaiverUse {
                waiver: w,
                rule: rule.def.id.clone(),
                record: rec.location(),
                outcome,
            });
            return false;
        }
        match outcome {
            Outcome::Pass => out.tally.pass += 1,
            Outcome::Fail => out.tally.fail += 1,
            Outcome::Error => out.tally.error += 1,
        }
        outcome != Outcome::Pass
    }

    /// The finding of a failed or erroneous result on a record.
    fn finding(&self, ri: usize, rec: &Prepared, outcome: Outcome, why: Option<String>) -> Finding {
        let rule = &self.standard.rules[ri];
        let lang = self.lang;
        let message = match (outcome, why) {
            // The rule could not be judged: say why, not what a failure would mean.
            (Outcome::Error, Some(why)) => match lang {
                Lang::Zh => format!("{}：无法判定：{why}", rule.def.title.get(lang)),
                Lang::En => format!(
                    "{}: could not be evaluated: {why}",
                    rule.def.title.get(lang)
                ),
            },
            (_, why) => {
                let schema = &self.standard.kinds[&rec.kind];
                let plain = serde_json::to_value(&rec.jvalue).unwrap_or_default();
                let masked = to_value(&schema.masked(&plain));
                let message = self
                    .standard
                    .render_message(&rule.def.id, lang, self.context(&rec.kind, masked))
                    .unwrap_or_else(|e| {
                        format!(
                            "{} (message could not be rendered: {})",
                            rule.def.title.get(lang),
                            jinja_detail(&e)
                        )
                    });
                // A failure on missing data says so, in the report's language.
                match (why, lang) {
                    (Some(_), Lang::Zh) => format!("{message}（缺少判定所需的数据）"),
                    (Some(why), Lang::En) => format!("{message} [{why}]"),
                    (None, _) => message,
                }
            }
        };
        Finding {
            rule: rule.def.id.clone(),
            severity: rule.def.severity,
            status: if outcome == Outcome::Error {
                FindingStatus::Error
            } else {
                FindingStatus::Fail
            },
            record: Location {
                pointer: self.failing_field(ri, rec).map(|f| pointer(&f)),
                ..rec.location()
            },
            message: Text::Plain(message),
        }
    }

    /// The field that made a rule fail on a record: the rule's own `pointer`, else in the first
    /// part of the `assert` that
    /// does not hold, the first field missing, else the last field it names (in a deadline,
    /// `days_between(intake, assessment) <= n`, the event that came late).
    fn failing_field(&self, ri: usize, rec: &Prepared) -> Option<String> {
        let rule = &self.standard.rules[ri];
        if let Some(field) = &rule.def.pointer {
            return Some(field.clone());
        }
        let ctx = self.context(&rec.kind, rec.jvalue.clone());
        let part = rule
            .assert_parts
            .iter()
            .find(|(e, _)| !matches!(eval(e, &ctx), Eval::True))
            .map(|(_, fields)| fields)
            .filter(|fields| !fields.is_empty());
        let fields = part.unwrap_or(&rule.assert_fields);
        fields
            .iter()
            .find(|f| !present(&rec.jvalue, f))
            .or_else(|| fields.last())
            .cloned()
    }
}

/// What one record gives an indicator, after its `where`.
enum Contribution {
    /// `where` left it out (or it could not be counted: a finding says why).
    Out,
    /// In: a rate's test, a sum's or mean's number, a distinct value.
    Hit(bool),
    Number(f64),
    Value(String),
    /// In, but its value could not be read (a finding says why).
    Unread,
}

fn evaluate_indicator(
    run: &Run,
    ii: usize,
    records: &[Prepared],
    groups: &[Group],
    findings: &mut Vec<Finding>,
) -> IndicatorTally {
    let (params, sub, lang) = (&run.params, &run.sub, run.lang);
    let ind = &run.standard.indicators[ii];
    let def = &ind.def;
    let higher = def.direction == crate::standard::Direction::Higher;
    let mut tally = IndicatorTally::default();
    let mut counted = 0u64;
    let mut sum = 0.0;
    let mut distinct = std::collections::BTreeSet::new();
    let problem = |rec: &Prepared, why: String, findings: &mut Vec<Finding>| {
        findings.push(Finding {
            rule: def.id.clone(),
            severity: Severity::Major,
            status: FindingStatus::Error,
            record: rec.location(),
            message: Text::Plain(match lang {
                Lang::Zh => format!("{}：该记录无法计入：{why}", def.title.get(lang)),
                Lang::En => format!(
                    "{}: this record could not be counted: {why}",
                    def.title.get(lang)
                ),
            }),
        });
    };
    let contribution = |rec: &Prepared, findings: &mut Vec<Finding>| -> Contribution {
        let ctx = run.context(&rec.kind, rec.jvalue.clone());
        if let Some(w) = &ind.where_ {
            match eval(w, &ctx) {
                Eval::True => {}
                Eval::False | Eval::Missing(_) => return Contribution::Out,
                Eval::Raised(why) => {
                    problem(rec, why, findings);
                    return Contribution::Out;
                }
            }
        }
        let Some(v) = &ind.value else {
            return Contribution::Hit(true);
        };
        match def.measure {
            Measure::Count => Contribution::Hit(true),
            Measure::Rate => match eval(v, &ctx) {
                Eval::True => Contribution::Hit(true),
                Eval::False | Eval::Missing(_) => Contribution::Hit(false),
                Eval::Raised(why) => {
                    problem(rec, why, findings);
                    Contribution::Hit(false)
                }
            },
            Measure::Distinct => match v.eval(ctx) {
                Ok(x) if x.is_undefined() || x.is_none() => {
                    problem(
                        rec,
                        lang_text(lang, "取值缺失", "the value is missing"),
                        findings,
                    );
                    Contribution::Unread
                }
                Ok(x) => Contribution::Value(x.to_string()),
                Err(e) => {
                    problem(rec, jinja_detail(&e), findings);
                    Contribution::Unread
                }
            },
            Measure::Sum | Measure::Mean => match v.eval(ctx) {
                Ok(x) => match f64::try_from(x.clone()) {
                    Ok(n) if n.is_finite() && !x.is_undefined() && !x.is_none() => {
                        Contribution::Number(n)
                    }
                    _ if x.is_undefined() || x.is_none() => {
                        problem(
                            rec,
                            lang_text(lang, "取值缺失", "the value is missing"),
                            findings,
                        );
                        Contribution::Unread
                    }
                    _ => {
                        let why = match lang {
                            Lang::Zh => format!("取值 {x} 不是数字"),
                            Lang::En => format!("the value {x} is not a number"),
                        };
                        problem(rec, why, findings);
                        Contribution::Unread
                    }
                },
                Err(e) => {
                    problem(rec, jinja_detail(&e), findings);
                    Contribution::Unread
                }
            },
        }
    };
    // Each group counts once, as the least favourable of its members for the indicator's
    // direction; a group of one is its record.
    for group in groups.iter().filter(|g| g.kind == def.applies_to) {
        let all: Vec<Contribution> = group
            .members
            .iter()
            .map(|&i| contribution(&records[i], findings))
            .collect();
        // A copy that `where` leaves out is less favourable, for a `higher` indicator, than one
        // it counts: the id then adds nothing but, in a rate, its place in the denominator.
        let all_in = !all.iter().any(|c| matches!(c, Contribution::Out));
        let parts: Vec<Contribution> = all
            .into_iter()
            .filter(|c| !matches!(c, Contribution::Out))
            .collect();
        if parts.is_empty() || (higher && !all_in && def.measure != Measure::Rate) {
            continue;
        }
        match def.measure {
            Measure::Count => counted += 1,
            Measure::Rate => {
                counted += 1;
                let hits = parts
                    .iter()
                    .filter(|c| matches!(c, Contribution::Hit(true)));
                let hit = if higher {
                    all_in && hits.count() == parts.len()
                } else {
                    hits.count() > 0
                };
                if hit {
                    sum += 1.0;
                }
            }
            Measure::Sum | Measure::Mean => {
                let numbers = parts.iter().filter_map(|c| match c {
                    Contribution::Number(n) => Some(*n),
                    _ => None,
                });
                let worst = if higher {
                    numbers.reduce(f64::min)
                } else {
                    numbers.reduce(f64::max)
                };
                if let Some(n) = worst {
                    sum += n;
                    counted += 1;
                }
            }
            Measure::Distinct => {
                let values: Vec<&String> = parts
                    .iter()
                    .filter_map(|c| match c {
                        Contribution::Value(v) => Some(v),
                        _ => None,
                    })
                    .collect();
                if higher {
                    // Copies that disagree add nothing; copies that agree add their value once.
                    if let Some(first) = values.first() {
                        if values.iter().all(|v| v == first) {
                            distinct.insert((*first).clone());
                        }
                    }
                } else {
                    distinct.extend(values.into_iter().cloned());
                }
            }
        }
    }
    let n = counted as f64;
    // With no record of its kind at all the indicator has nothing to apply to; a count, sum or
    // distinct count over records of the kind that `where` leaves out is 0.
    let any = records.iter().any(|r| r.kind == def.applies_to);
    (tally.numerator, tally.denominator, tally.value) = match def.measure {
        Measure::Count => (n, None, any.then_some(n)),
        Measure::Sum => (sum, None, any.then_some(sum)),
        Measure::Distinct => {
            let d = distinct.len() as f64;
            (d, None, any.then_some(d))
        }
        Measure::Rate => (sum, Some(n), (counted > 0).then(|| sum / n)),
        Measure::Mean => (sum, Some(n), (counted > 0).then(|| sum / n)),
    };
    match &ind.target {
        CompiledTarget::Number(t) => tally.target = Some(*t),
        CompiledTarget::Expr(e) => {
            match e.eval(context! { params => params.clone(), submission => sub.clone() }) {
                Ok(v) => match f64::try_from(v.clone()) {
                    Ok(t) if t.is_finite() && !v.is_undefined() && !v.is_none() => {
                        tally.target = Some(t)
                    }
                    _ => tally.error = Some(format!("the target evaluated to {v}, not a number")),
                },
                Err(e) => {
                    tally.error = Some(format!(
                        "the target could not be evaluated: {}",
                        jinja_detail(&e)
                    ))
                }
            }
        }
    }
    tally
}

fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "zh",
        Lang::En => "en",
    }
}

fn lang_text(lang: Lang, zh: &str, en: &str) -> String {
    match lang {
        Lang::Zh => zh.to_string(),
        Lang::En => en.to_string(),
    }
}
