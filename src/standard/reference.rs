//! A standard as a document: every parameter, grade, rule and indicator with its basis and
//! rationale in both languages, rendered from the same data the engine runs
//! (`yardstick standards show ID --format markdown`; the pages under `docs/standards/`).

use serde_json::{json, Value};

use super::{
    CompiledIndicator, CompiledRule, Direction, IndicatorScoring, RuleScoring, SectionNode,
    Standard, Target,
};
use crate::text::{Lang, Text};

fn bi(t: &Text) -> Value {
    json!({"zh": t.get(Lang::Zh), "en": t.get(Lang::En)})
}

/// A rule's scoring in words.
pub fn rule_scoring(s: RuleScoring) -> String {
    rule_scoring_in(s, Lang::En)
}

/// A rule's scoring in words, in a language.
pub fn rule_scoring_in(s: RuleScoring, lang: Lang) -> String {
    match (s, lang) {
        (RuleScoring::Ratio, Lang::En) => "ratio".into(),
        (RuleScoring::Ratio, Lang::Zh) => "按通过比例得分".into(),
        (RuleScoring::All, Lang::En) => "all".into(),
        (RuleScoring::All, Lang::Zh) => "全部通过方得分".into(),
        (RuleScoring::Deduct(d), Lang::En) => format!("deduct {d} per failure"),
        (RuleScoring::Deduct(d), Lang::Zh) => format!("每项不符合扣 {d} 分"),
    }
}

/// An indicator's scoring in words.
pub fn indicator_scoring(s: &IndicatorScoring, direction: Direction) -> String {
    indicator_scoring_in(s, direction, Lang::En)
}

/// An indicator's scoring in words, in a language.
pub fn indicator_scoring_in(s: &IndicatorScoring, direction: Direction, lang: Lang) -> String {
    let zh = lang == Lang::Zh;
    match s {
        IndicatorScoring::Threshold if zh => "达到目标得满分，否则不得分".into(),
        IndicatorScoring::Threshold => "threshold".into(),
        IndicatorScoring::Proportional if zh => "按达成比例得分".into(),
        IndicatorScoring::Proportional => "proportional".into(),
        IndicatorScoring::Linear(l) if zh => format!("自 {} 起线性得分，达到目标得满分", l.zero_at),
        IndicatorScoring::Linear(l) => format!("linear from {}", l.zero_at),
        IndicatorScoring::Bands(bands) => {
            let parts: Vec<String> = bands
                .iter()
                .map(|b| match direction {
                    Direction::Higher => format!("≥ {}: {}", b.min.unwrap_or_default(), b.points),
                    Direction::Lower => format!("≤ {}: {}", b.max.unwrap_or_default(), b.points),
                })
                .collect();
            if zh {
                format!("分档（{}）", parts.join("；"))
            } else {
                format!("bands ({})", parts.join("; "))
            }
        }
    }
}

/// An indicator's target as written.
/// The parameters these expressions name (`params.x`), sorted, each once.
pub fn parameters_named(sources: &[&str]) -> Vec<String> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"params\.([A-Za-z_][A-Za-z0-9_]*)").expect("valid pattern")
    });
    let mut out: Vec<String> = sources
        .iter()
        .flat_map(|s| {
            re.captures_iter(s)
                .filter_map(|c| c.get(1))
                .map(|m| m.as_str().to_string())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

pub fn target(t: &Target) -> String {
    match t {
        Target::Number(n) => n.to_string(),
        Target::Expr(e) => e.clone(),
    }
}

/// What an item requires, in both languages, with the standard's default parameters.
fn requirement(s: &Standard, id: &str) -> Value {
    let defaults = s
        .parameters
        .iter()
        .map(|(k, p)| (k.clone(), p.default.clone()))
        .collect();
    match (
        s.render_requirement(id, Lang::Zh, &defaults),
        s.render_requirement(id, Lang::En, &defaults),
    ) {
        (Some(zh), Some(en)) => json!({"zh": zh, "en": en}),
        _ => Value::Null,
    }
}

fn rule(s: &Standard, r: &CompiledRule) -> Value {
    let d = &r.def;
    json!({
        "id": d.id, "title": bi(&d.title), "requirement": requirement(s, &d.id), "applies_to": d.applies_to, "when": d.when,
        "assert": d.assert, "message": bi(d.message()), "severity": d.severity.as_str(),
        "points": d.points, "scoring": rule_scoring(d.scoring), "veto": d.veto,
        "basis": d.basis, "rationale": d.rationale.as_ref().map(bi),
    })
}

fn indicator(s: &Standard, i: &CompiledIndicator) -> Value {
    let d = &i.def;
    let target = target(&d.target);
    json!({
        "id": d.id, "title": bi(&d.title), "requirement": requirement(s, &d.id), "applies_to": d.applies_to, "measure": d.measure.as_str(),
        "where": d.where_, "value": d.value, "target": target,
        "direction": match d.direction { Direction::Higher => "higher", Direction::Lower => "lower" },
        "points": d.points, "scoring": indicator_scoring(&d.scoring, d.direction),
        "basis": d.basis, "rationale": d.rationale.as_ref().map(bi),
    })
}

fn section(s: &Standard, node: &SectionNode) -> Value {
    json!({
        "id": node.id,
        "title": bi(&node.title),
        "rules": node.rules.iter().map(|&i| rule(s, &s.rules[i])).collect::<Vec<_>>(),
        "indicators": node.indicators.iter().map(|&i| indicator(s, &s.indicators[i])).collect::<Vec<_>>(),
        "sections": node.sections.iter().map(|c| section(s, c)).collect::<Vec<_>>(),
    })
}

/// The standard as data for a reference template.
pub fn view(s: &Standard) -> Value {
    let points: f64 = s.rules.iter().map(|r| r.def.points).sum::<f64>()
        + s.indicators.iter().map(|i| i.def.points).sum::<f64>();
    json!({
        "id": s.id,
        "version": s.version,
        "title": bi(&s.title),
        "description": s.description.as_ref().map(bi),
        "sector": s.sector,
        "status": format!("{:?}", s.status).to_lowercase(),
        "extends": s.extends,
        "total_points": s.total_points,
        "points": points,
        "sha256": s.sha256,
        "basis": s.basis.iter().map(|b| json!({"code": b.code, "title": bi(&b.title)})).collect::<Vec<_>>(),
        "parameters": s.parameters.iter().map(|(name, p)| json!({
            "name": name, "default": p.default.to_string(), "unit": p.unit, "declared": p.declared,
            "description": p.description.as_ref().map(bi),
        })).collect::<Vec<_>>(),
        "evidence": s.evidence.iter().map(|(k, e)| json!({"kind": k, "need": match e {
            super::Evidence::Required => "required", super::Evidence::Optional => "optional" }}))
            .collect::<Vec<_>>(),
        "grades": s.grades.iter().map(|g| json!({"id": g.id, "min": g.min, "title": bi(&g.title)})).collect::<Vec<_>>(),
        "kinds": s.kinds.iter().map(|(k, schema)| json!({
            "kind": k, "schemas": schema.documents.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "rules": s.rules.len(),
        "indicators": s.indicators.len(),
        "sections": s.sections.iter().map(|n| section(s, n)).collect::<Vec<_>>(),
    })
}
