//! Descriptions of a standard for people: its reference document (Markdown), the overview
//! `standards show` prints, and what `explain` says about one rule or indicator.

use crate::error::Result;
use crate::report;
use crate::standard::Standard;
use crate::text::Lang;

/// The bilingual reference document of a standard.
pub fn reference_markdown(s: &Standard) -> Result<String> {
    let text = report::Renderer::new()?
        .render_data("standard.md.j2", &crate::standard::reference::view(s))?;
    // One blank line at most, one newline at the end.
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() && (out.is_empty() || out.ends_with("\n\n")) {
            continue;
        }
        // A heading always has a blank line before it.
        if line.starts_with('#') && !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    Ok(out)
}

/// The human summary of a standard for `standards show`.
pub fn overview(s: &Standard, lang: Lang) -> String {
    let mut out = format!("{} {} — {}\n", s.id, s.version, s.title.get(lang));
    out.push_str(&format!(
        "status: {}; total points: {}\n",
        format!("{:?}", s.status).to_lowercase(),
        s.total_points
    ));
    if !s.extends.is_empty() {
        out.push_str(&format!("extends: {}\n", s.extends.join(", ")));
    }
    out.push_str("\nbasis:\n");
    for b in &s.basis {
        out.push_str(&format!(
            "  {} {}\n",
            b.code.as_deref().unwrap_or("—"),
            b.title.get(lang)
        ));
    }
    out.push_str("\nparameters:\n");
    for (k, p) in &s.parameters {
        let desc = p.description.as_ref().map(|d| d.get(lang)).unwrap_or("");
        out.push_str(&format!("  {k} = {}  {desc}\n", p.default));
    }
    out.push_str("\ngrades:\n");
    for g in &s.grades {
        out.push_str(&format!(
            "  {:<10} ≥ {:<5} {}\n",
            g.id,
            g.min,
            g.title.get(lang)
        ));
    }
    out.push_str("\nsections:\n");
    fn walk(
        s: &Standard,
        nodes: &[crate::standard::SectionNode],
        depth: usize,
        lang: Lang,
        out: &mut String,
    ) {
        for n in nodes {
            let pad = "  ".repeat(depth + 1);
            out.push_str(&format!("{pad}[{}] {}\n", n.id, n.title.get(lang)));
            let rules = n.rules.iter().map(|&i| {
                let r = &s.rules[i].def;
                (
                    &r.id,
                    r.severity.as_str(),
                    r.points,
                    &r.title,
                    &r.applies_to,
                )
            });
            let indicators = n.indicators.iter().map(|&i| {
                let d = &s.indicators[i].def;
                (&d.id, d.measure.as_str(), d.points, &d.title, &d.applies_to)
            });
            for (id, kind, points, title, applies_to) in rules.chain(indicators) {
                out.push_str(&format!(
                    "{pad}  {id:<10} {kind:<8} {points:>5} pts  {} ({applies_to})\n",
                    title.get(lang)
                ));
            }
            walk(s, &n.sections, depth + 1, lang, out);
        }
    }
    walk(s, &s.sections, 0, lang, &mut out);
    out
}

/// The explanation of a rule or indicator for `explain`.
pub fn explain_text(s: &Standard, id: &str, lang: Lang) -> Option<String> {
    let label = |zh: &'static str, en: &'static str| if lang == Lang::Zh { zh } else { en };
    let defaults: std::collections::BTreeMap<String, serde_json::Value> = s
        .parameters
        .iter()
        .map(|(k, p)| (k.clone(), p.default.clone()))
        .collect();
    // The item's id and title, the standard and the place it is written, then what it requires
    // in words with the parameters' values (never the expressions themselves).
    let header = |id: &str, title: &crate::text::Text, file: &str, line: u64, sources: &[&str]| {
        let mut out = format!(
            "{id} — {}\n{}: {} {} ({file}:{line})\n{}: {}\n",
            title.get(lang),
            label("标准", "standard"),
            s.id,
            s.version,
            label("要求", "requires"),
            s.render_requirement(id, lang, &defaults)
                .unwrap_or_else(|| title.get(lang).to_string()),
        );
        let used = crate::standard::reference::parameters_named(sources);
        if !used.is_empty() {
            out.push_str(&format!(
                "{}:\n",
                label(
                    "参数（标准默认值，合同方案可调整）",
                    "parameters (the standard's defaults; a contract profile may change them)"
                )
            ));
            for name in used {
                if let Some(p) = s.parameters.get(&name) {
                    out.push_str(&format!(
                        "  {name} = {}{}{}\n",
                        p.default,
                        p.unit
                            .as_deref()
                            .map(|u| format!(" {u}"))
                            .unwrap_or_default(),
                        p.description
                            .as_ref()
                            .map(|d| format!(" — {}", d.get(lang)))
                            .unwrap_or_default()
                    ));
                }
            }
        }
        out
    };
    // A kind by its Chinese name in a Chinese text (`个案 (case)`), by its code in English.
    let kind_name = |kind: &str| match (lang, s.kinds.get(kind)) {
        (Lang::Zh, Some(k)) if k.name_zh() != kind => format!("{} ({kind})", k.name_zh()),
        _ => kind.to_string(),
    };
    let severity = |sev: crate::standard::Severity| match (lang, sev) {
        (Lang::Zh, crate::standard::Severity::Critical) => "严重",
        (Lang::Zh, crate::standard::Severity::Major) => "重要",
        (Lang::Zh, crate::standard::Severity::Minor) => "一般",
        (Lang::Zh, crate::standard::Severity::Info) => "提示",
        (Lang::En, sev) => sev.as_str(),
    };
    if let Some(r) = s.rule(id) {
        let d = &r.def;
        let mut sources = vec![d.assert.as_str()];
        sources.extend(d.when.as_deref());
        let mut out = header(&d.id, &d.title, &r.file, r.line, &sources);
        out.push_str(&format!(
            "{}: {}\n",
            label("适用记录", "applies to"),
            kind_name(&d.applies_to)
        ));
        out.push_str(&format!(
            "{}: {}; {}: {}; {}: {}{}\n",
            label("严重程度", "severity"),
            severity(d.severity),
            label("分值", "points"),
            d.points,
            label("计分", "scoring"),
            crate::standard::reference::rule_scoring_in(d.scoring, lang),
            if d.veto {
                label("；一票否决", "; veto")
            } else {
                ""
            }
        ));
        out.push_str(&basis_and_rationale(
            d.basis.as_deref(),
            d.rationale.as_ref(),
            lang,
        ));
        return Some(out);
    }
    let i = s.indicator(id)?;
    let d = &i.def;
    let mut sources: Vec<&str> = d
        .where_
        .iter()
        .chain(d.value.iter())
        .map(String::as_str)
        .collect();
    if let crate::standard::Target::Expr(t) = &d.target {
        sources.push(t);
    }
    let mut out = header(&d.id, &d.title, &i.file, i.line, &sources);
    out.push_str(&format!(
        "{}: {}; {}: {}; {}: {} ({}); {}: {}\n",
        label("适用记录", "applies to"),
        kind_name(&d.applies_to),
        label("度量", "measure"),
        match (lang, d.measure) {
            (Lang::Zh, crate::standard::Measure::Rate) => "比率",
            (Lang::Zh, crate::standard::Measure::Count) => "计数",
            (Lang::Zh, crate::standard::Measure::Sum) => "合计",
            (Lang::Zh, crate::standard::Measure::Mean) => "平均",
            (Lang::Zh, crate::standard::Measure::Distinct) => "不同取值个数",
            (Lang::En, m) => m.as_str(),
        },
        label("目标", "target"),
        match &d.target {
            crate::standard::Target::Number(n) => n.to_string(),
            crate::standard::Target::Expr(e) if e.contains("submission.period.days") => {
                label("评估周期的天数", "the days of the period").to_string()
            }
            crate::standard::Target::Expr(_) => {
                label("按上列参数", "from the parameters above").to_string()
            }
        },
        match d.direction {
            crate::standard::Direction::Higher => label("越高越好", "higher is better"),
            crate::standard::Direction::Lower => label("越低越好", "lower is better"),
        },
        label("分值", "points"),
        d.points
    ));
    out.push_str(&format!(
        "{}: {}\n",
        label("计分", "scoring"),
        crate::standard::reference::indicator_scoring_in(&d.scoring, d.direction, lang)
    ));
    out.push_str(&basis_and_rationale(
        d.basis.as_deref(),
        d.rationale.as_ref(),
        lang,
    ));
    Some(out)
}

fn basis_and_rationale(
    basis: Option<&str>,
    rationale: Option<&crate::text::Text>,
    lang: Lang,
) -> String {
    let zh = lang == Lang::Zh;
    let mut out = format!(
        "{}: {}\n",
        if zh { "依据" } else { "basis" },
        basis.unwrap_or("—")
    );
    if let Some(r) = rationale {
        out.push_str(&format!(
            "{}: {}\n",
            if zh { "理由" } else { "rationale" },
            r.get(lang)
        ));
    }
    out
}
