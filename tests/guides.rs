//! The shipped sector guides and governance standards meet the bar the project set for them:
//! enough rules and indicators of their own, spread over enough sections, and two fixtures each (an exemplary submission that
//! earns the top grade, and a typical one: a realistic mix that passes but loses points).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yardstick::Options;
use yardstick::Registry;
use yardstick::Section;

/// Each guide with the least number of rules and indicators of its own, and of sections holding
/// them.
const GUIDES: &[(&str, usize, usize, usize)] = &[
    ("elderly-care", 20, 6, 5),
    ("disability", 25, 6, 5),
    ("medical", 25, 6, 5),
    ("school", 25, 6, 5),
    ("community", 25, 6, 5),
    ("youth", 25, 6, 5),
    ("family", 25, 6, 5),
    ("drug-rehab", 25, 6, 5),
    ("corrections", 25, 6, 5),
    ("enterprise", 25, 6, 5),
    // The governance standards: request handling and people's mediation.
    ("requests", 12, 5, 1),
    ("mediation", 12, 5, 1),
];

fn fixture(id: &str, name: &str) -> (PathBuf, Option<PathBuf>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(id);
    let contract = root.join(format!("{name}-contract.yaml"));
    (root.join(name), contract.is_file().then_some(contract))
}

fn check(sub: &Path, contract: Option<PathBuf>) -> yardstick::Report {
    let options = Options {
        profile: contract,
        ..Options::default()
    };
    yardstick::check(&[sub.to_path_buf()], &options)
        .unwrap_or_else(|e| panic!("{}: {e}", sub.display()))
}

/// (own rules, own indicators, sections holding them), counted in the guide's own file.
fn own_items(id: &str) -> (usize, usize, usize) {
    fn walk(
        sections: &[serde_saphyr::Spanned<Section>],
        acc: &mut (usize, usize, BTreeSet<String>),
    ) {
        for s in sections {
            let s = &s.value;
            if !s.rules.is_empty() || !s.indicators.is_empty() {
                acc.2.insert(s.id.clone());
            }
            acc.0 += s.rules.len();
            acc.1 += s.indicators.len();
            walk(&s.sections, acc);
        }
    }
    let registry = Registry::builtin();
    let (file, _) = registry.parse(id).unwrap();
    let mut acc = (0, 0, BTreeSet::new());
    walk(&file.sections, &mut acc);
    (acc.0, acc.1, acc.2.len())
}

#[test]
fn every_sector_guide_has_enough_rules_and_indicators_of_its_own_over_enough_sections() {
    for &(id, rules, indicators, sections) in GUIDES {
        let (r, i, s) = own_items(id);
        assert!(
            r >= rules && i >= indicators && s >= sections,
            "{id}: {r} rules, {i} indicators in {s} sections (want {rules}, {indicators}, {sections})"
        );
    }
}

#[test]
fn every_shipped_standard_but_common_is_a_listed_guide_with_fixtures() {
    let registry = Registry::builtin();
    for id in registry.ids() {
        if id == "common" {
            continue;
        }
        assert!(
            GUIDES.iter().any(|g| g.0 == id),
            "{id} is shipped but not held to the guides' bar here"
        );
    }
}

#[test]
fn every_guides_exemplary_fixture_earns_the_top_grade() {
    for &(id, ..) in GUIDES {
        let (sub, contract) = fixture(id, "exemplary");
        let report = check(&sub, contract);
        let grade = report.summary.grade.as_ref().map(|g| g.id.clone());
        assert_eq!(
            grade.as_deref(),
            Some("excellent"),
            "{id}: exemplary scored {:?}",
            report.summary.score
        );
        assert!(report.summary.vetoed_by.is_empty(), "{id}");
        assert!(report.missing_evidence.is_empty(), "{id}");
    }
}

#[test]
fn every_guides_typical_fixture_is_a_realistic_mix_that_passes_but_loses_points() {
    for &(id, ..) in GUIDES {
        let (sub, contract) = fixture(id, "typical");
        let report = check(&sub, contract);
        let score = report.summary.score.unwrap_or(0.0);
        assert!(
            (60.0..90.0).contains(&score),
            "{id}: typical scored {score}"
        );
        assert!(report.summary.vetoed_by.is_empty(), "{id}");
        assert!(
            report.summary.records >= 30,
            "{id}: typical holds {} records",
            report.summary.records
        );
        // The typical year fails some of the guide's own rules, not only common's.
        let own: BTreeSet<&str> = report
            .rules
            .iter()
            .filter(|r| r.fail > 0 && !r.id.starts_with("CM-"))
            .map(|r| r.id.as_str())
            .collect();
        assert!(
            own.len() >= 3,
            "{id}: typical fails only {own:?} of its own rules"
        );
        // No record is unreadable or off its schema in a fixture meant to be realistic.
        let findings = report.findings.to_vec().unwrap();
        let built_in: Vec<&str> = findings
            .iter()
            .map(|f| f.rule.as_str())
            .filter(|r| ["YS-PARSE", "YS-SCHEMA", "YS-UNKNOWN-FIELD"].contains(r))
            .collect();
        assert!(built_in.is_empty(), "{id}: {built_in:?}");
    }
}

#[test]
fn a_deadline_that_ran_out_before_the_period_is_not_judged_again_however_late_the_act() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir_all(sub.join("cases")).unwrap();
    std::fs::write(
        sub.join("submission.yaml"),
        "organisation: {name: 测试机构}\ncontract: {id: T-1}\nstandard: common\ncalendar: cn-mainland\n\
         period: {start: 2025-01-01, end: 2025-12-31}\n",
    )
    .unwrap();
    let case = |id: &str, intake: &str, assessed: Option<&str>| {
        let assessment = assessed.map_or(String::new(), |d| format!("assessment: {{date: {d}}}\n"));
        std::fs::write(
            sub.join(format!("cases/{id}.yaml")),
            format!("id: {id}\nintake: {{date: {intake}}}\n{assessment}"),
        )
        .unwrap();
    };
    // Due 2024-12-31, assessed late in the period: judged (and failed) in 2024, not again now.
    case("c-1", "2024-12-20", Some("2025-01-06"));
    // Due 2025-01-08, inside the period: judged, and on time.
    case("c-2", "2024-12-29", Some("2025-01-06"));
    // Due inside the period with no assessment by its end: judged, and failed.
    case("c-3", "2025-12-19", None);
    let report = check(&sub, None);
    let asm = report.rules.iter().find(|r| r.id == "CM-ASM-01").unwrap();
    assert_eq!((asm.pass, asm.fail), (1, 1), "{asm:?}");
    let findings = report.findings.to_vec().unwrap();
    let failed: Vec<&str> = findings
        .iter()
        .filter(|f| f.rule == "CM-ASM-01")
        .filter_map(|f| f.record.id.as_deref())
        .collect();
    assert_eq!(failed, ["c-3"]);
}

/// The names of the fields some record schema marks `x-personal`.
fn personal_field_names() -> BTreeSet<String> {
    fn walk(node: &serde_json::Value, out: &mut BTreeSet<String>) {
        let Some(obj) = node.as_object() else { return };
        if let Some(props) = obj.get("properties").and_then(|p| p.as_object()) {
            for (name, sub) in props {
                if sub.get("x-personal") == Some(&serde_json::Value::Bool(true)) {
                    out.insert(name.clone());
                }
                walk(sub, out);
            }
        }
        for key in ["items", "allOf"] {
            match obj.get(key) {
                Some(serde_json::Value::Array(all)) => all.iter().for_each(|n| walk(n, out)),
                Some(n) => walk(n, out),
                None => {}
            }
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/records");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        walk(&serde_json::from_str(&text).unwrap(), &mut out);
    }
    out
}

/// Every value a fixture's records hold under a personal field.
fn personal_values(sub: &Path, names: &BTreeSet<String>) -> BTreeSet<String> {
    fn collect(v: &serde_json::Value, names: &BTreeSet<String>, out: &mut BTreeSet<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    if names.contains(k) {
                        let text = match v {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Number(n) => n.to_string(),
                            _ => String::new(),
                        };
                        if text.chars().count() >= 2 {
                            out.insert(text);
                        }
                    }
                    collect(v, names, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| collect(i, names, out)),
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for entry in walkdir::WalkDir::new(sub) {
        let path = entry.unwrap().into_path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "submission.yaml" || !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<serde_json::Value> = if name.ends_with(".jsonl") {
            text.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        } else if name.ends_with(".json") {
            serde_json::from_str(&text).into_iter().collect()
        } else {
            serde_saphyr::from_str(&text).into_iter().collect()
        };
        docs.iter().for_each(|d| collect(d, names, &mut out));
    }
    out
}

#[test]
fn no_personal_value_of_any_fixture_reaches_any_report() {
    let names = personal_field_names();
    assert!(names.contains("id_number") && names.contains("name"));
    let mut checked = 0;
    for (sub, contract) in common::fixture_submissions() {
        let values = personal_values(&sub, &names);
        if values.is_empty() {
            continue;
        }
        checked += values.len();
        let mut base = vec![sub.display().to_string()];
        if let Some(c) = &contract {
            base.extend(["--profile".to_string(), c.display().to_string()]);
        }
        for command in ["check", "report"] {
            for extra in [&[][..], &["--lang", "en"], &["--format", "json"]] {
                let out = assert_cmd::Command::cargo_bin("yardstick")
                    .unwrap()
                    .arg(command)
                    .args(&base)
                    .args(extra)
                    .output()
                    .unwrap();
                let shown = String::from_utf8_lossy(&out.stdout);
                for v in &values {
                    assert!(
                        !shown.contains(v.as_str()),
                        "{}: `{command} {extra:?}` shows a personal value",
                        sub.display()
                    );
                }
            }
        }
    }
    assert!(checked > 300, "only {checked} personal values found");
}
