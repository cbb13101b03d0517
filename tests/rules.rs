//! Every rule of every shipped standard is proven by the fixtures: some record makes it pass and
//! some record makes it fail. A new guide gets this check by shipping `fixtures/<id>/...`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use yardstick::Options;
use yardstick::{lint, Registry, Standard};

#[test]
fn every_shipped_rule_passes_on_some_fixture_record_and_fails_on_another() {
    // rule id → (records passed, records failed) across every fixture submission
    let mut seen: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (sub, contract) in common::fixture_submissions() {
        // Scored as the evaluator would: with the contract profile shipped beside it, if any.
        let options = Options {
            profile: contract,
            ..Options::default()
        };
        let report = yardstick::check(std::slice::from_ref(&sub), &options)
            .unwrap_or_else(|e| panic!("{}: {e}", sub.display()));
        for r in &report.rules {
            let entry = seen.entry(r.id.clone()).or_default();
            entry.0 += r.pass;
            entry.1 += r.fail;
        }
    }
    let registry = Registry::builtin();
    let mut missing = Vec::new();
    for id in registry.ids() {
        let standard = Standard::load(&registry, &id).unwrap();
        for rule in &standard.rules {
            match seen.get(&rule.def.id) {
                Some((p, f)) if *p > 0 && *f > 0 => {}
                other => missing.push(format!(
                    "{} ({id}): pass/fail seen {:?}",
                    rule.def.id, other
                )),
            }
        }
    }
    assert!(
        missing.is_empty(),
        "rules without a passing and a failing fixture record:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_shipped_standard_lints_clean() {
    let registry = Registry::builtin();
    for id in registry.ids() {
        let standard = Standard::load(&registry, &id).unwrap();
        let warnings = lint(&standard);
        assert!(
            warnings.is_empty(),
            "{id}:\n{}",
            warnings
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
        for rule in &standard.rules {
            let d = &rule.def;
            assert!(
                d.title.is_bilingual() && d.message.as_ref().is_some_and(|m| m.is_bilingual()),
                "{}",
                d.id
            );
            assert!(
                d.basis.as_deref().is_some_and(|b| !b.is_empty()),
                "{}",
                d.id
            );
            assert!(
                d.rationale.as_ref().is_some_and(|r| r.is_bilingual()),
                "{}",
                d.id
            );
        }
    }
}

#[test]
fn every_shipped_standard_is_valid_against_the_meta_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("schemas/standard.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&meta).unwrap();
    for entry in std::fs::read_dir(root.join("standards")).unwrap() {
        let path = entry.unwrap().path();
        let doc: serde_json::Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{}:\n{}",
            path.display(),
            errors.join("\n")
        );
    }
}

#[test]
fn every_shipped_record_schema_gives_each_field_a_chinese_title_and_a_description() {
    fn walk(node: &serde_json::Value, path: &str, problems: &mut Vec<String>) {
        let Some(obj) = node.as_object() else { return };
        if let Some(props) = obj.get("properties").and_then(|p| p.as_object()) {
            for (name, sub) in props {
                let here = format!("{path}.{name}");
                let title = sub.get("title").and_then(|t| t.as_str()).unwrap_or("");
                if !title
                    .chars()
                    .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
                {
                    problems.push(format!("{here}: no Chinese title"));
                }
                if sub
                    .get("description")
                    .and_then(|d| d.as_str())
                    .is_none_or(str::is_empty)
                {
                    problems.push(format!("{here}: no description"));
                }
                walk(sub, &here, problems);
            }
        }
        if let Some(items) = obj.get("items") {
            walk(items, &format!("{path}[]"), problems);
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/records");
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        walk(
            &doc,
            &path.file_name().unwrap().to_string_lossy(),
            &mut problems,
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_reference_pages_under_docs_standards_match_the_shipped_standards() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let registry = Registry::builtin();
    for id in registry.ids() {
        let standard = Standard::load(&registry, &id).unwrap();
        let generated = yardstick::reference_markdown(&standard).unwrap();
        let page = root.join(format!("docs/standards/{id}.md"));
        let committed = std::fs::read_to_string(&page).unwrap_or_default();
        assert!(
            generated == committed,
            "{} is out of date; regenerate it with\n  cargo run -- standards show {id} --format markdown > docs/standards/{id}.md",
            page.display()
        );
    }
}
