//! One record on its own: its kind settled, normalised and checked against its schema, then
//! judged by every active rule of its kind and counted by every active indicator over it.
//! Nothing here depends on any other record, so records are judged in parallel; what depends on
//! the order of the records (duplicate ids, copies of one record) is settled by the tally.

use minijinja::{context, Value as JValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::sync::Arc;

use crate::expr::native::{Facts, Memo, Scope};
use crate::expr::{self, to_value, Compiled};
use crate::finding::{builtin, pointer, Finding, FindingStatus, Location};
use crate::profile::Tailoring;
use crate::records::Record;
use crate::schema::KindSchema;
use crate::standard::{jinja_detail, Measure, Severity, Standard};
use crate::submission::Period;
use crate::text::{Lang, Text};

/// How an applicable (rule, record) pair came out; not-applicable pairs are only counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

    /// How bad an outcome is, for the least favourable of a group of copies.
    pub(super) fn badness(self) -> u8 {
        match self {
            Outcome::Pass => 0,
            Outcome::Fail => 1,
            Outcome::Error => 2,
        }
    }
}

/// What one record gives an indicator, after its `where`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Contribution {
    /// `where` left it out (or it could not be counted: a finding says why).
    Out,
    /// In: a rate's test, a sum's or mean's number, a distinct value.
    Hit(bool),
    Number(f64),
    Value(String),
    /// In, but its value could not be read (a finding says why).
    Unread,
}

/// What the rules and indicators made of a record that was evaluated: one outcome per active
/// rule of its kind (`None`: not applicable) and one contribution per active indicator over it,
/// in the order of [`Plan::rules_of_kind`] and [`Plan::indicators_of_kind`]. It is kept for every
/// record until the end of a run (copies of a record are judged together), so it is packed into
/// one allocation: the rule count, two bits an outcome, then each contribution as a tag byte and
/// its payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Judgement(Box<[u8]>);

impl Judgement {
    pub fn new(rules: &[Option<Outcome>], contributions: &[Contribution]) -> Judgement {
        let n = rules.len();
        let mut bytes = Vec::with_capacity(2 + n.div_ceil(4) + contributions.len());
        bytes.extend_from_slice(&(n as u16).to_le_bytes());
        for chunk in rules.chunks(4) {
            let mut b = 0u8;
            for (i, r) in chunk.iter().enumerate() {
                let code = match r {
                    None => 0,
                    Some(Outcome::Pass) => 1,
                    Some(Outcome::Fail) => 2,
                    Some(Outcome::Error) => 3,
                };
                b |= code << (2 * i);
            }
            bytes.push(b);
        }
        for c in contributions {
            match c {
                Contribution::Out => bytes.push(0),
                Contribution::Hit(false) => bytes.push(1),
                Contribution::Hit(true) => bytes.push(2),
                Contribution::Number(x) => {
                    bytes.push(3);
                    bytes.extend_from_slice(&x.to_le_bytes());
                }
                Contribution::Value(v) => {
                    bytes.push(4);
                    bytes.extend_from_slice(&(v.len() as u32).to_le_bytes());
                    bytes.extend_from_slice(v.as_bytes());
                }
                Contribution::Unread => bytes.push(5),
            }
        }
        Judgement(bytes.into_boxed_slice())
    }

    /// The packed bytes, for a tally to keep without an allocation per record.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The outcome of the `pos`-th active rule of the record's kind.
    #[cfg(test)]
    pub fn rule(&self, pos: usize) -> Option<Outcome> {
        Packed(&self.0).rule(pos)
    }

    /// The contribution to the `pos`-th active indicator over the record's kind.
    #[cfg(test)]
    pub fn contribution(&self, pos: usize) -> Option<Contribution> {
        Packed(&self.0).contribution(pos)
    }
}

/// A [`Judgement`]'s packed bytes, read where they are kept.
#[derive(Debug, Clone, Copy)]
pub(super) struct Packed<'j>(pub &'j [u8]);

impl Packed<'_> {
    fn rule_count(&self) -> usize {
        match self.0.get(..2) {
            Some(&[a, b]) => usize::from(u16::from_le_bytes([a, b])),
            _ => 0,
        }
    }

    /// The outcome of the `pos`-th active rule of the record's kind.
    pub fn rule(&self, pos: usize) -> Option<Outcome> {
        if pos >= self.rule_count() {
            return None;
        }
        let byte = self.0.get(2 + pos / 4)?;
        match (byte >> (2 * (pos % 4))) & 3 {
            1 => Some(Outcome::Pass),
            2 => Some(Outcome::Fail),
            3 => Some(Outcome::Error),
            _ => None,
        }
    }

    /// The contribution to the `pos`-th active indicator over the record's kind.
    pub fn contribution(&self, pos: usize) -> Option<Contribution> {
        let mut at = 2 + self.rule_count().div_ceil(4);
        let mut index = 0;
        loop {
            let tag = *self.0.get(at)?;
            at += 1;
            let c = match tag {
                0 => Contribution::Out,
                1 => Contribution::Hit(false),
                2 => Contribution::Hit(true),
                3 => {
                    let bytes: [u8; 8] = self.0.get(at..at + 8)?.try_into().ok()?;
                    at += 8;
                    Contribution::Number(f64::from_le_bytes(bytes))
                }
                4 => {
                    let len: [u8; 4] = self.0.get(at..at + 4)?.try_into().ok()?;
                    let len = u32::from_le_bytes(len) as usize;
                    let text = std::str::from_utf8(self.0.get(at + 4..at + 4 + len)?).ok()?;
                    at += 4 + len;
                    Contribution::Value(text.to_string())
                }
                _ => Contribution::Unread,
            };
            if index == pos {
                return Some(c);
            }
            index += 1;
        }
    }
}

/// One record, judged.
#[derive(Serialize, Deserialize)]
pub(super) struct Verdict {
    pub line: u64,
    /// The kind, by its index in [`Plan::kinds`], when the standard knows it.
    pub kind: Option<usize>,
    pub id: Option<String>,
    /// The findings about this record alone, in any order.
    pub findings: Vec<Finding>,
    /// `None` when the record was not evaluated (unknown kind, outside the period).
    pub judgement: Option<Judgement>,
}

/// What every record of a run is judged with: the standard, the tailoring, and the lookups
/// worked out once.
pub(super) struct Plan<'a> {
    pub standard: &'a Standard,
    pub tailoring: &'a Tailoring,
    pub period: Option<Period>,
    /// The record kinds, in the standard's order; records name a kind by its index here.
    pub kinds: Vec<&'a str>,
    /// Per kind, the active rules over it (indices into the standard's rules).
    pub rules_of_kind: Vec<Vec<usize>>,
    /// Per kind, the active indicators over it.
    pub indicators_of_kind: Vec<Vec<usize>>,
    /// Per kind, the grace its period allows for duties due after a record ended.
    graces: Vec<i64>,
    /// Per rule, the waivers in force whose pattern names it.
    rule_waivers: Vec<Vec<usize>>,
    params: JValue,
    sub: JValue,
    notes: JValue,
    patterns: JValue,
    /// The parameters and the submission as the native evaluator reads them.
    params_json: Value,
    sub_json: Value,
    facts: Facts,
}

impl<'a> Plan<'a> {
    pub fn new(
        standard: &'a Standard,
        tailoring: &'a Tailoring,
        period: Option<Period>,
        sub: Value,
        notes: Arc<expr::Notes>,
    ) -> Plan<'a> {
        let kinds: Vec<&str> = standard.kinds.keys().map(String::as_str).collect();
        let rules_of_kind = kinds
            .iter()
            .map(|k| {
                let applies = standard.rules.iter().map(|r| r.def.applies_to.as_str());
                active_over(applies, &tailoring.rules, k)
            })
            .collect();
        let indicators_of_kind = kinds
            .iter()
            .map(|k| {
                let applies = standard
                    .indicators
                    .iter()
                    .map(|x| x.def.applies_to.as_str());
                active_over(applies, &tailoring.indicators, k)
            })
            .collect();
        // A record that ended shortly before the period stays in it for the duties that fall due
        // after its end (`x-period.grace`: the largest of the parameters it names), by kind.
        let graces = standard
            .kinds
            .values()
            .map(|schema| {
                schema
                    .period_grace
                    .iter()
                    .filter_map(|p| tailoring.params.get(p).and_then(Value::as_i64))
                    .max()
                    .unwrap_or(0)
                    .max(0)
            })
            .collect();
        let rule_waivers = standard
            .rules
            .iter()
            .map(|rule| {
                tailoring
                    .waivers
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| {
                        crate::profile::glob_match(&w.waiver.rule, &rule.def.id)
                            && w.in_force(period.as_ref())
                    })
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        // Every expression a record meets, for the patterns its `matches` calls name.
        let sources = standard
            .rules
            .iter()
            .flat_map(|r| r.def.when.iter().chain([&r.def.assert]))
            .chain(
                standard
                    .indicators
                    .iter()
                    .flat_map(|x| x.def.where_.iter().chain(x.def.value.iter())),
            )
            .map(String::as_str);
        let patterns = Arc::new(expr::Patterns::compile(sources, &tailoring.params));
        let facts = Facts::new(&sub, notes.clone(), patterns.clone());
        Plan {
            patterns: JValue::from_dyn_object(patterns),
            standard,
            tailoring,
            period,
            kinds,
            rules_of_kind,
            indicators_of_kind,
            graces,
            rule_waivers,
            params: to_value(&tailoring.params),
            sub: to_value(&sub),
            notes: JValue::from_dyn_object(notes),
            params_json: Value::Object(
                tailoring
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            sub_json: sub,
            facts,
        }
    }

    /// Whether any active rule or indicator is about the kind (by index): a record of a kind
    /// that nothing is scored over is only read and checked.
    pub fn scores_kind(&self, kind: usize) -> bool {
        let any = |of: &[Vec<usize>]| of.get(kind).is_some_and(|v| !v.is_empty());
        any(&self.rules_of_kind) || any(&self.indicators_of_kind)
    }

    /// The kind's index.
    pub fn kind_index(&self, kind: &str) -> Option<usize> {
        self.kinds.iter().position(|k| *k == kind)
    }

    /// The waiver (index) covering a rule's result on a record, if one is in force.
    pub fn covering_waiver(&self, ri: usize, id: Option<&str>) -> Option<usize> {
        let id = id?;
        self.rule_waivers.get(ri)?.iter().copied().find(|&w| {
            self.tailoring.waivers[w]
                .waiver
                .records
                .iter()
                .any(|r| r == id)
        })
    }

    /// The context an expression about one record is evaluated in.
    fn context(&self, kind: &str, record: JValue, lang: Lang) -> JValue {
        context! {
            record => record,
            __kind => kind,
            params => self.params.clone(),
            submission => self.sub.clone(),
            __notes => self.notes.clone(),
            __patterns => self.patterns.clone(),
            __lang => lang_code(lang),
        }
    }

    /// The context of an indicator's target: the parameters and the submission.
    pub fn target_context(&self) -> JValue {
        context! { params => self.params.clone(), submission => self.sub.clone() }
    }

    /// Judges one record.
    pub fn judge(&self, record: Record) -> Verdict {
        let id = record.id();
        let mut location = Location {
            kind: record.kind.clone(),
            id: id.clone(),
            file: Some(record.file.clone()),
            line: Some(record.line),
            column: None,
            pointer: None,
        };
        let mut verdict = Verdict {
            line: record.line,
            kind: None,
            id,
            findings: Vec::new(),
            judgement: None,
        };
        let kind = match &record.kind {
            Some(k) if self.standard.kinds.contains_key(k) => k.clone(),
            Some(k) => {
                let known = self.kinds.join(", ");
                verdict.findings.push(Finding::builtin(
                    builtin::UNKNOWN_KIND,
                    Severity::Major,
                    location,
                    Text::bi(
                        format!("记录类型 '{k}' 不是标准 {} 的记录类型（已知：{known}），该记录未评分", self.standard.id),
                        format!(
                            "kind '{k}' is not a record kind of standard {} (known: {known}); the record is not scored",
                            self.standard.id
                        ),
                    ),
                ));
                return verdict;
            }
            None => match kind_from_path(self.standard, &record.file) {
                Some(k) => k,
                None => {
                    verdict.findings.push(Finding::builtin(builtin::UNKNOWN_KIND, Severity::Major, location,
                        Text::bi(
                            "记录没有 kind 字段，其文件名和文件夹名也未指明记录类型（如 cases/、requests.jsonl），该记录未评分",
                            "the record has no kind field, and neither its file nor its folder names a kind (cases/, requests.jsonl, …); the record is not scored",
                        )));
                    return verdict;
                }
            },
        };
        let Some((ki, schema)) = self.kind_index(&kind).zip(self.standard.kinds.get(&kind)) else {
            return verdict;
        };
        verdict.kind = Some(ki);
        location.kind = Some(kind.clone());
        let mut value = record.value;
        let unknown = schema.prepare(&mut value);
        check_schema(
            schema,
            &kind,
            &value,
            unknown,
            &location,
            &mut verdict.findings,
        );
        if let Some(period) = &self.period {
            let grace = self.graces.get(ki).copied().unwrap_or(0);
            if let Some((zh, en)) = outside(schema, &value, period, grace) {
                verdict.findings.push(Finding::builtin(
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
                return verdict;
            }
        }
        let judgement = |rules: Vec<Option<Outcome>>, contributions: Vec<Contribution>| {
            Some(Judgement::new(&rules, &contributions))
        };
        // A kind no active rule or indicator is about is only read and checked.
        if !self.scores_kind(ki) {
            verdict.judgement = judgement(Vec::new(), Vec::new());
            return verdict;
        }
        let record = Judged {
            kind: &kind,
            schema,
            value: &value,
            location: &location,
            masked: OnceCell::new(),
        };
        let ctx = Ctx {
            scope: Scope {
                record: &value,
                params: &self.params_json,
                submission: &self.sub_json,
                run: &self.facts,
                memo: Memo::new(self.standard.memo_slots),
            },
            jinja: OnceCell::new(),
            plan: self,
            kind: &kind,
        };
        let rules = self.rules_of_kind[ki]
            .iter()
            .map(|&ri| {
                let judged = self.judge_rule(ri, &ctx);
                if let Some((o @ (Outcome::Fail | Outcome::Error), why)) = &judged {
                    if self.covering_waiver(ri, verdict.id.as_deref()).is_none() {
                        verdict
                            .findings
                            .push(self.finding(ri, &record, &ctx, *o, why.clone()));
                    }
                }
                judged.map(|(o, _)| o)
            })
            .collect();
        let contributions = self.indicators_of_kind[ki]
            .iter()
            .map(|&ii| self.contribution(ii, &location, &ctx, &mut verdict.findings))
            .collect();
        verdict.judgement = judgement(rules, contributions);
        verdict
    }

    /// One rule on one record: `None` when the rule does not apply, else the outcome and, for a
    /// failure on missing data or an error, the reason.
    fn judge_rule<'r>(&self, ri: usize, ctx: &'r Ctx<'r>) -> Option<(Outcome, Option<String>)>
    where
        'a: 'r,
    {
        let rule = &self.standard.rules[ri];
        if let Some(when) = &rule.when {
            match eval(when, ctx) {
                Eval::True => {}
                Eval::False | Eval::Missing(_) => return None,
                Eval::Raised(why) => return Some((Outcome::Error, Some(why))),
            }
        }
        Some(match eval(&rule.assert, ctx) {
            Eval::True => (Outcome::Pass, None),
            Eval::False => (Outcome::Fail, None),
            Eval::Missing(why) => (Outcome::Fail, Some(why)),
            Eval::Raised(why) => (Outcome::Error, Some(why)),
        })
    }

    /// The finding of a failed or erroneous result on a record, in both languages.
    fn finding<'r>(
        &self,
        ri: usize,
        rec: &Judged,
        ctx: &'r Ctx<'r>,
        outcome: Outcome,
        why: Option<String>,
    ) -> Finding
    where
        'a: 'r,
    {
        let rule = &self.standard.rules[ri];
        let title = &rule.def.title;
        let message = match (outcome, why) {
            // The rule could not be judged: say why, not what a failure would mean.
            (Outcome::Error, Some(why)) => Text::bi(
                format!("{}：无法判定：{why}", title.get(Lang::Zh)),
                format!("{}: could not be evaluated: {why}", title.get(Lang::En)),
            ),
            (_, why) => {
                // Only the fields the messages read are masked and converted, when their
                // templates show which; else the whole record, once for all its findings.
                let partial;
                let masked = match &rule.message_keys {
                    Some(keys) => {
                        partial = to_value(&rec.schema.masked(&only_keys(rec.value, keys)));
                        &partial
                    }
                    _ => rec
                        .masked
                        .get_or_init(|| to_value(&rec.schema.masked(rec.value))),
                };
                let render = |lang: Lang| {
                    self.standard
                        .render_message(
                            &rule.def.id,
                            lang,
                            self.context(rec.kind, masked.clone(), lang),
                        )
                        .unwrap_or_else(|e| {
                            format!(
                                "{} (message could not be rendered: {})",
                                title.get(lang),
                                jinja_detail(&e)
                            )
                        })
                };
                let (zh, en) = (render(Lang::Zh), render(Lang::En));
                // A failure on missing data says so.
                match why {
                    Some(why) => Text::bi(
                        format!("{zh}（缺少判定所需的数据）"),
                        format!("{en} [{why}]"),
                    ),
                    None => Text::bi(zh, en),
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
                pointer: self.failing_field(ri, rec, ctx).map(|f| pointer(&f)),
                ..rec.location.clone()
            },
            message,
        }
    }

    /// The field that made a rule fail on a record: the rule's own `pointer`, else in the first
    /// part of the `assert` that does not hold, the first field missing, else the last field it
    /// names (in a deadline, `days_between(intake, assessment) <= n`, the event that came late).
    fn failing_field<'r>(&self, ri: usize, rec: &Judged, ctx: &'r Ctx<'r>) -> Option<String>
    where
        'a: 'r,
    {
        let rule = &self.standard.rules[ri];
        if let Some(field) = &rule.def.pointer {
            return Some(field.clone());
        }
        let part = rule
            .assert_parts
            .iter()
            .find(|(e, _)| !matches!(eval(e, ctx), Eval::True))
            .map(|(_, fields)| fields)
            .filter(|fields| !fields.is_empty());
        let fields = part.unwrap_or(&rule.assert_fields);
        fields
            .iter()
            .find(|f| lookup(rec.value, f).is_none())
            .or_else(|| fields.last())
            .cloned()
    }

    /// What one record gives an indicator; a value that cannot be read is a finding.
    fn contribution<'r>(
        &self,
        ii: usize,
        location: &Location,
        ctx: &'r Ctx<'r>,
        findings: &mut Vec<Finding>,
    ) -> Contribution
    where
        'a: 'r,
    {
        let ind = &self.standard.indicators[ii];
        let def = &ind.def;
        let mut problem = |why: Text| {
            findings.push(Finding {
                rule: def.id.clone(),
                severity: Severity::Major,
                status: FindingStatus::Error,
                record: Location {
                    pointer: None,
                    ..location.clone()
                },
                message: Text::bi(
                    format!(
                        "{}：该记录无法计入：{}",
                        def.title.get(Lang::Zh),
                        why.get(Lang::Zh)
                    ),
                    format!(
                        "{}: this record could not be counted: {}",
                        def.title.get(Lang::En),
                        why.get(Lang::En)
                    ),
                ),
            });
        };
        if let Some(w) = &ind.where_ {
            match eval(w, ctx) {
                Eval::True => {}
                Eval::False | Eval::Missing(_) => return Contribution::Out,
                Eval::Raised(why) => {
                    problem(Text::Plain(why));
                    return Contribution::Out;
                }
            }
        }
        let Some(v) = &ind.value else {
            return Contribution::Hit(true);
        };
        let missing = || Text::bi("取值缺失", "the value is missing");
        match def.measure {
            Measure::Count => Contribution::Hit(true),
            Measure::Rate => match eval(v, ctx) {
                Eval::True => Contribution::Hit(true),
                Eval::False | Eval::Missing(_) => Contribution::Hit(false),
                Eval::Raised(why) => {
                    problem(Text::Plain(why));
                    Contribution::Hit(false)
                }
            },
            Measure::Distinct => match ctx.value_of(v) {
                Ok(x) if x.is_undefined() || x.is_none() => {
                    problem(missing());
                    Contribution::Unread
                }
                Ok(x) => Contribution::Value(x.to_string()),
                Err(e) => {
                    problem(Text::Plain(jinja_detail(&e)));
                    Contribution::Unread
                }
            },
            Measure::Sum | Measure::Mean => match ctx.value_of(v) {
                Ok(x) => match f64::try_from(x.clone()) {
                    Ok(n) if n.is_finite() && !x.is_undefined() && !x.is_none() => {
                        Contribution::Number(n)
                    }
                    _ if x.is_undefined() || x.is_none() => {
                        problem(missing());
                        Contribution::Unread
                    }
                    _ => {
                        problem(Text::bi(
                            format!("取值 {x} 不是数字"),
                            format!("the value {x} is not a number"),
                        ));
                        Contribution::Unread
                    }
                },
                Err(e) => {
                    problem(Text::Plain(jinja_detail(&e)));
                    Contribution::Unread
                }
            },
        }
    }
}

/// The indices of the active items (rules or indicators, given by the kind each applies to, in
/// the standard's order) over a kind.
pub(super) fn active_over<'s>(
    applies: impl Iterator<Item = &'s str>,
    tailored: &[crate::profile::ItemTailoring],
    kind: &str,
) -> Vec<usize> {
    applies
        .zip(tailored)
        .enumerate()
        .filter(|(_, (applies, t))| t.active && *applies == kind)
        .map(|(i, _)| i)
        .collect()
}

/// A record being judged: its fields as read (normalised).
struct Judged<'r> {
    kind: &'r str,
    schema: &'r KindSchema,
    value: &'r Value,
    location: &'r Location,
    /// The record with its personal fields masked, as messages see it: built once, for the
    /// first finding on the record, and shared by the others.
    masked: OnceCell<JValue>,
}

/// A record with only the named top-level fields (those it has).
fn only_keys(record: &Value, keys: &BTreeSet<String>) -> Value {
    let Value::Object(map) = record else {
        return record.clone();
    };
    Value::Object(
        keys.iter()
            .filter_map(|k| map.get(k).map(|v| (k.clone(), v.clone())))
            .collect(),
    )
}

/// What a record's expressions are evaluated in: the record as read for the native evaluator,
/// and the template engine's context, built only when an evaluation is left to it.
struct Ctx<'r> {
    scope: Scope<'r>,
    jinja: OnceCell<JValue>,
    plan: &'r Plan<'r>,
    kind: &'r str,
}

impl<'r> Ctx<'r> {
    fn jinja(&self) -> JValue {
        self.jinja
            .get_or_init(|| {
                self.plan
                    .context(self.kind, to_value(self.scope.record), Lang::Zh)
            })
            .clone()
    }

    fn value_of(&'r self, e: &'r Compiled) -> Result<JValue, minijinja::Error> {
        e.eval(&self.scope, &|| self.jinja())
    }
}

/// The schema violations and the unknown fields of a record, as findings.
fn check_schema(
    schema: &KindSchema,
    kind: &str,
    value: &Value,
    unknown: Vec<crate::schema::UnknownField>,
    location: &Location,
    findings: &mut Vec<Finding>,
) {
    if !schema.is_valid(value) {
        for v in schema.violations(value) {
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
    for u in unknown {
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

enum Eval {
    True,
    False,
    Missing(String),
    Raised(String),
}

fn eval<'r>(e: &'r Compiled, ctx: &'r Ctx<'r>) -> Eval {
    match ctx.value_of(e) {
        Ok(v) if v.is_true() => Eval::True,
        Ok(_) => Eval::False,
        Err(err) if expr::is_missing_data(&err) => Eval::Missing(jinja_detail(&err)),
        Err(err) => Eval::Raised(jinja_detail(&err)),
    }
}

/// Evaluates a target expression to a number.
pub(super) fn eval_target(
    e: &minijinja::Expression<'static, 'static>,
    ctx: JValue,
) -> Result<f64, String> {
    match e.eval(ctx) {
        Ok(v) => match f64::try_from(v.clone()) {
            Ok(t) if t.is_finite() && !v.is_undefined() && !v.is_none() => Ok(t),
            _ => Err(format!("the target evaluated to {v}, not a number")),
        },
        Err(e) => Err(format!(
            "the target could not be evaluated: {}",
            jinja_detail(&e)
        )),
    }
}

fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "zh",
        Lang::En => "en",
    }
}

#[cfg(test)]
mod tests {
    use super::{kind_from_path, Contribution, Ctx, Judgement, Outcome};
    use crate::expr::native::{Memo, Scope};
    use std::cell::OnceCell;

    #[test]
    fn a_packed_judgement_gives_back_every_outcome_and_contribution() {
        let rules = [
            Some(Outcome::Pass),
            None,
            Some(Outcome::Fail),
            Some(Outcome::Error),
            Some(Outcome::Pass),
        ];
        let contributions = [
            Contribution::Out,
            Contribution::Hit(true),
            Contribution::Number(-2.5e-7),
            Contribution::Value("护理等级 high".into()),
            Contribution::Hit(false),
            Contribution::Unread,
        ];
        let j = Judgement::new(&rules, &contributions);
        for (i, r) in rules.iter().enumerate() {
            assert_eq!(j.rule(i), *r);
        }
        assert_eq!(j.rule(rules.len()), None);
        for (i, c) in contributions.iter().enumerate() {
            assert_eq!(j.contribution(i).as_ref(), Some(c));
        }
        assert_eq!(j.contribution(contributions.len()), None);
        let empty = Judgement::new(&[], &[]);
        assert_eq!((empty.rule(0), empty.contribution(0)), (None, None));
    }

    /// Every fixture submission (with its contract, when it has one) opened and planned: `each`
    /// is given each record of a kind the standard knows, as read, with its kind and schema.
    /// Returns how many submissions there were.
    fn for_each_fixture_record(
        mut each: impl FnMut(&super::Plan, &str, &crate::schema::KindSchema, serde_json::Value),
    ) -> usize {
        use std::path::Path;

        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut subs = Vec::new();
        for standard in std::fs::read_dir(&root).unwrap() {
            for sub in std::fs::read_dir(standard.unwrap().path())
                .into_iter()
                .flatten()
            {
                let sub = sub.unwrap().path();
                if sub.join("submission.yaml").is_file() {
                    let name = sub.file_name().unwrap().to_string_lossy().to_string();
                    let contract = sub.with_file_name(format!("{name}-contract.yaml"));
                    subs.push((sub, contract.is_file().then_some(contract)));
                }
            }
        }
        subs.sort();
        for (sub, contract) in &subs {
            let options = crate::run::Options {
                profile: contract.clone(),
                ..Default::default()
            };
            let opened = crate::run::open(std::slice::from_ref(sub), &options).unwrap();
            let tailoring = opened.tailoring().unwrap();
            let notes = std::sync::Arc::new(crate::expr::Notes::default());
            let plan = super::super::plan(&opened.standard, &opened.submission, &tailoring, &notes);
            for file in &opened.submission.files {
                let Ok(bytes) = std::fs::read(&file.disk) else {
                    continue;
                };
                let (records, _) = crate::records::read_bytes(&bytes, &file.path, file.format);
                for record in records {
                    let Some(kind) = record
                        .kind
                        .clone()
                        .or_else(|| kind_from_path(plan.standard, &record.file))
                    else {
                        continue;
                    };
                    let Some(schema) = plan.standard.kinds.get(&kind) else {
                        continue;
                    };
                    each(&plan, &kind, schema, record.value);
                }
            }
        }
        subs.len()
    }

    /// Every record of every fixture submission is readied (dates and labels normalised,
    /// unknown fields found) by the one walk exactly as by the separate walks.
    #[test]
    fn every_fixture_record_is_readied_by_one_walk_as_by_the_separate_walks() {
        let (mut records, mut walked_once) = (0, 0);
        for_each_fixture_record(|_, _, schema, value| {
            let mut once = value.clone();
            let unknown = schema.prepare(&mut once);
            let mut in_turn = value;
            schema.normalise_dates(&mut in_turn);
            schema.normalise_labels(&mut in_turn);
            assert_eq!(once, in_turn);
            assert_eq!(unknown, schema.unknown_fields(&in_turn));
            records += 1;
            walked_once += usize::from(schema.walks_once());
        });
        assert!(
            records > 1000 && walked_once == records,
            "{walked_once} of {records}"
        );
    }

    /// Every message of every shipped rule, rendered on every fixture record of its kind (whether
    /// or not the rule fails there), in both languages, reads the same from only the fields its
    /// templates name as from the whole record; and the templates name them for every shipped
    /// rule.
    #[test]
    fn every_shipped_message_reads_the_same_from_only_the_fields_it_names() {
        use crate::text::Lang;
        let (mut rendered, mut whole) = (0, 0);
        for_each_fixture_record(|plan, kind, schema, value| {
            let full = crate::expr::to_value(&schema.masked(&value));
            for rule in &plan.standard.rules {
                if rule.def.applies_to != kind {
                    continue;
                }
                let Some(keys) = &rule.message_keys else {
                    whole += 1;
                    continue;
                };
                let part = crate::expr::to_value(&schema.masked(&super::only_keys(&value, keys)));
                for lang in [Lang::Zh, Lang::En] {
                    let render = |record: &minijinja::Value| {
                        plan.standard
                            .render_message(
                                &rule.def.id,
                                lang,
                                plan.context(kind, record.clone(), lang),
                            )
                            .map_err(|e| e.to_string())
                    };
                    assert_eq!(render(&part), render(&full), "{} ({lang:?})", rule.def.id);
                    rendered += 1;
                }
            }
        });
        assert!(rendered > 10_000, "{rendered} messages rendered");
        assert_eq!(
            whole, 0,
            "shipped rules whose messages read the whole record"
        );
    }

    /// Every expression of every shipped standard, evaluated on every record of every fixture
    /// submission of its kind (whether or not its `when` holds): wherever the native evaluator
    /// gives a value, MiniJinja gives the same one (the check sits in `Compiled::eval` in
    /// tests); the counts say how much of the work stays native.
    #[test]
    fn every_shipped_expression_gives_minijinjas_result_natively_on_every_fixture_record() {
        use crate::expr::shadow;
        use std::sync::atomic::Ordering;

        let (mut native, mut fallback, mut evaluations) = (0usize, 0usize, 0usize);
        let mut left = std::collections::BTreeSet::new();
        let subs = for_each_fixture_record(|plan, kind, schema, value| {
            let mut value = value;
            schema.prepare(&mut value);
            let ctx = Ctx {
                scope: Scope {
                    record: &value,
                    params: &plan.params_json,
                    submission: &plan.sub_json,
                    run: &plan.facts,
                    memo: Memo::new(plan.standard.memo_slots),
                },
                jinja: OnceCell::new(),
                plan,
                kind,
            };
            let rules = plan
                .standard
                .rules
                .iter()
                .filter(|r| r.def.applies_to == kind);
            let indicators = plan
                .standard
                .indicators
                .iter()
                .filter(|x| x.def.applies_to == kind);
            let expressions = rules
                .flat_map(|r| {
                    r.when
                        .iter()
                        .chain([&r.assert])
                        .chain(r.assert_parts.iter().map(|(e, _)| e))
                })
                .chain(indicators.flat_map(|x| x.where_.iter().chain(x.value.iter())));
            for e in expressions {
                evaluations += 1;
                if e.is_native() {
                    native += 1;
                } else {
                    fallback += 1;
                    left.insert(e.text().to_string());
                }
                let _ = ctx.value_of(e);
            }
        });
        let differences = shadow::DIFFERENCES.lock().unwrap().clone();
        assert!(
            differences.is_empty(),
            "{} native results differ from MiniJinja's:\n{}",
            differences.len(),
            differences.join("\n")
        );
        let checked = shadow::CHECKED.load(Ordering::Relaxed);
        eprintln!(
            "{evaluations} evaluations over {} submissions: {native} with a native program, \
             {fallback} without; {checked} native results checked; {} expressions without:\n{}",
            subs,
            left.len(),
            left.into_iter().collect::<Vec<_>>().join("\n")
        );
        assert!(subs > 30 && evaluations > 10_000, "{evaluations}");
        assert!(
            checked as usize > evaluations / 2,
            "{checked} of {evaluations}"
        );
    }
}
