//! `standards lint`: what a standard that loads may still get wrong.

use regex::Regex;

use super::{Standard, Text};

/// One thing lint found, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    pub file: String,
    pub line: u64,
    pub item: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if let Some(item) = &self.item {
            write!(f, ": {item}")?;
        }
        write!(f, ": {}", self.message)
    }
}

fn bilingual(text: &Text) -> bool {
    text.is_bilingual()
}

/// The warnings for a loaded standard.
pub fn lint(standard: &Standard) -> Vec<Warning> {
    let mut out = Vec::new();
    let id_rule = Regex::new(r"^[A-Z]{2,4}-[A-Z]{2,4}-\d{2}$").expect("valid pattern");
    let shown_field = Regex::new(r"\{\{\s*record\.([A-Za-z0-9_.]+)\s*\}\}").expect("valid pattern");
    let mut warn = |file: &str, line: u64, item: Option<&str>, message: String| {
        out.push(Warning {
            file: file.to_string(),
            line,
            item: item.map(str::to_string),
            message,
        });
    };
    for rule in &standard.rules {
        let d = &rule.def;
        let at = |m: String| (rule.file.as_str(), rule.line, Some(d.id.as_str()), m);
        let mut items = Vec::new();
        if !id_rule.is_match(&d.id) || d.id.contains("-IND-") {
            items.push(at(
                "rule ids follow <SECTOR>-<SECTION>-<NN> (EC-SAF-01)".into()
            ));
        }
        if !bilingual(&d.title) {
            items.push(at("the title should be given in both zh and en".into()));
        }
        match &d.message {
            None => items.push(at("no message: the title is shown; say what is wrong with the record and how to fix it".into())),
            Some(m) if !bilingual(m) => items.push(at("the message should be given in both zh and en".into())),
            Some(_) => {}
        }
        if d.basis.as_deref().is_none_or(|b| b.trim().is_empty()) {
            items.push(at(
                "no basis: name the document (and clause), or write 'local'".into(),
            ));
        }
        if d.rationale.as_ref().is_none_or(|r| !bilingual(r)) {
            items.push(at(
                "the rationale should say in zh and en why the requirement matters".into(),
            ));
        }
        if let Some(schema) = standard.kinds.get(&d.applies_to) {
            if let Some(p) = d.pointer.as_deref().filter(|p| !schema.defines(p)) {
                items.push(at(format!(
                    "pointer names {p}, which the {} schema does not define",
                    d.applies_to
                )));
            }
            for field in &rule.fields {
                if !schema.defines(field) {
                    items.push(at(format!(
                        "names record.{field}, which the {} schema does not define (a typo fails every record)",
                        d.applies_to
                    )));
                }
            }
            if let Some(zh) = d.message.as_ref().map(|m| m.get(crate::text::Lang::Zh)) {
                for cap in shown_field.captures_iter(zh) {
                    let field = cap.get(1).map_or("", |m| m.as_str());
                    let labelled = schema
                        .fields
                        .iter()
                        .any(|(p, f)| p.replace("[]", "") == field && !f.labels.is_empty());
                    if labelled {
                        items.push(at(format!("the Chinese message shows the code of record.{field}: write {{{{ record.{field} | label }}}} to show its Chinese label")));
                    }
                }
            }
            for text in d.message().variants() {
                for (path, info) in &schema.fields {
                    if info.personal && uses_beyond_defined(text, &path.replace("[]", "")) {
                        items.push(at(format!("the message uses the personal field {path}, which messages only see masked: leave it out (testing `is defined` is fine)")));
                    }
                }
            }
        }
        if d.requirement.as_ref().is_none_or(|r| !bilingual(r)) {
            items.push(at("no requirement: say in zh and en what the rule requires, with its parameters ({{ params.x }}); explain and the reference pages show it".into()));
        }
        if d.veto && d.severity != super::Severity::Critical {
            items.push(at("a veto rule should be critical".into()));
        }
        for (f, l, i, m) in items {
            warn(f, l, i, m);
        }
    }
    // <SECTOR>-IND-<NN>, or a named id such as RQ-COMPLETION or RQ-CONTACT-24H (ids an issue or a
    // published rate fixes); never one shaped like a rule's.
    let ind_rule =
        Regex::new(r"^[A-Z]{2,4}-(IND-\d{2}|[A-Z]+(-[A-Z0-9]+)*)$").expect("valid pattern");
    for ind in &standard.indicators {
        let d = &ind.def;
        let at = |m: String| (ind.file.as_str(), ind.line, Some(d.id.as_str()), m);
        let mut items = Vec::new();
        if !ind_rule.is_match(&d.id) || (id_rule.is_match(&d.id) && !d.id.contains("-IND-")) {
            items.push(at(
                "indicator ids follow <SECTOR>-IND-<NN> (EC-IND-01), or name the rate (RQ-COMPLETION)"
                    .into(),
            ));
        }
        if !bilingual(&d.title) {
            items.push(at("the title should be given in both zh and en".into()));
        }
        if d.basis.as_deref().is_none_or(|b| b.trim().is_empty()) {
            items.push(at(
                "no basis: name the document (and clause), or write 'local'".into(),
            ));
        }
        if d.rationale.as_ref().is_none_or(|r| !bilingual(r)) {
            items.push(at(
                "the rationale should say in zh and en why the quantity matters".into(),
            ));
        }
        if d.requirement.as_ref().is_none_or(|r| !bilingual(r)) {
            items.push(at(
                "no requirement: say in zh and en what the indicator asks for, with its parameters"
                    .into(),
            ));
        }
        if let Some(schema) = standard.kinds.get(&d.applies_to) {
            for field in &ind.fields {
                if !schema.defines(field) {
                    items.push(at(format!(
                        "names record.{field}, which the {} schema does not define",
                        d.applies_to
                    )));
                }
            }
        }
        for (f, l, i, m) in items {
            warn(f, l, i, m);
        }
    }
    for (name, p) in &standard.parameters {
        if p.description.as_ref().is_none_or(|d| !bilingual(d)) {
            warn(
                &standard.file,
                0,
                Some(name),
                "a parameter needs a description in zh and en".into(),
            );
        }
    }
    if standard.sector.is_some() {
        let sum: f64 = standard.rules.iter().map(|r| r.def.points).sum::<f64>()
            + standard
                .indicators
                .iter()
                .map(|i| i.def.points)
                .sum::<f64>();
        if (sum - standard.total_points).abs() > 1e-9 {
            warn(
                &standard.file,
                0,
                None,
                format!(
                    "the rules and indicators add up to {sum} points, not total_points {}",
                    standard.total_points
                ),
            );
        }
    }
    if !bilingual(&standard.title) {
        warn(
            &standard.file,
            0,
            None,
            "the title should be given in both zh and en".into(),
        );
    }
    out.sort();
    out
}

/// Whether a message uses `record.<path>` for anything but testing that it is defined: it prints
/// the field, keeps it (`{% set %}`) or computes with it, none of which a masked value serves.
fn uses_beyond_defined(text: &str, path: &str) -> bool {
    let needle = format!("record.{path}");
    text.match_indices(&needle).any(|(at, _)| {
        let rest = &text[at + needle.len()..];
        let continues = rest
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let rest = rest.trim_start();
        !(continues || rest.starts_with("is defined") || rest.starts_with("is not defined"))
    })
}
