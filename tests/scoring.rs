//! A standard and a submission written to the contract from outside the shipped content, scored
//! by the binary and compared with numbers worked out by hand from standard-format.md.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const STANDARD: &str = r#"
id: spec-test
version: 0.1.0
title: {zh: 规格测试, en: Spec test}
sector: test
total_points: 100
parameters:
  limit: {default: 7, description: {zh: 期限, en: limit}}
  target_n: {default: 4, description: {zh: 数量, en: count}}
grades:
  - {id: a, min: 90, title: A}
  - {id: b, min: 75, title: B}
  - {id: c, min: 0, title: C}
schemas:
  item: item.schema.json
sections:
  - id: s1
    title: S1
    rules:
      - {id: T-A-01, title: ratio, applies_to: item, assert: "record.days <= params.limit",
         message: "days {{ record.days }} over {{ params.limit }}", severity: major, points: 10}
      - {id: T-A-02, title: all, applies_to: item, assert: "record.ok == true", message: not ok,
         severity: minor, points: 6, scoring: all}
      - {id: T-A-03, title: deduct, applies_to: item, assert: "record.note is defined", message: no note,
         severity: minor, points: 5, scoring: {deduct: 1.5}}
      - {id: T-A-04, title: never applies, applies_to: item, when: "record.flag == true", assert: "record.days <= 3",
         message: x, severity: minor, points: 4}
  - id: s2
    title: S2
    indicators:
      - {id: T-IND-01, title: rate, applies_to: item, measure: rate, where: "record.rating is defined",
         value: "record.rating >= 4", target: 0.75, points: 10, scoring: threshold}
      - {id: T-IND-02, title: count, applies_to: item, measure: count, target: params.target_n, points: 8,
         scoring: proportional}
      - {id: T-IND-03, title: mean, applies_to: item, measure: mean, where: "record.days is defined",
         value: record.days, target: 5, direction: lower, points: 6, scoring: {linear: {zero_at: 10}}}
      - {id: T-IND-04, title: sum, applies_to: item, measure: sum, where: "record.hours is defined",
         value: record.hours, target: 20, points: 5, scoring: {bands: [{min: 20, points: 5}, {min: 10, points: 3}]}}
      - {id: T-IND-05, title: rate of none, applies_to: item, measure: rate, where: "record.flag == true",
         value: "true", target: 0.5, points: 7}
"#;

const SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["id"],
  "properties": {"id": {"type": "string"}, "days": {"type": "integer"}, "ok": {"type": "boolean"},
                 "note": {"type": "string"}, "rating": {"type": "integer"}, "hours": {"type": "number"},
                 "flag": {"type": "boolean"}}
}"#;

const MANIFEST: &str = r#"
organisation: {name: Test org}
contract: {id: T-1}
period: {start: 2025-01-01, end: 2025-12-31}
"#;

/// The evaluator's waiver file (`--waivers`): waivers take effect only from here or a profile.
const WAIVERS: &str = r#"
- {rule: T-A-01, records: [c2], reason: agreed delay, approved_by: buyer, expires: 2026-01-31}
- {rule: T-A-02, records: [c3], reason: lapsed, approved_by: buyer, expires: 2025-06-30}
"#;

const RECORDS: &str = r#"
- {id: c1, days: 3, ok: true, note: x, rating: 5, hours: 4}
- {id: c2, days: 9, ok: true, rating: 3, hours: 6}
- {id: c3, days: 7, ok: false, note: y, rating: 4, hours: 5}
- {id: c4, days: 12, ok: true, rating: 4}
- {id: c5, ok: true, hours: 2}
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

/// A standard and a submission of activities with only a period in its manifest.
fn activities_only(dir: &Path, standard: &str, activities: &str) {
    write(dir, "std/spec-test.yaml", standard);
    write(
        dir,
        "sub/submission.yaml",
        "period: {start: 2025-01-01, end: 2025-12-31}\n",
    );
    write(dir, "sub/activities.yaml", activities);
}

fn run(dir: &Path) -> (Value, i32) {
    let mut args = vec![
        "check",
        "sub",
        "--standard",
        "std/spec-test.yaml",
        "--format",
        "json",
    ];
    if dir.join("waivers.yaml").is_file() {
        args.extend(["--waivers", "waivers.yaml"]);
    }
    let out = Command::cargo_bin("yardstick")
        .unwrap()
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (report, out.status.code().unwrap())
}

fn rule<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap()
}

fn indicator<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap()
}

fn close(v: &Value, expected: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
    assert!((got - expected).abs() < 1e-9, "{got} != {expected}");
}

#[test]
fn every_scoring_method_matches_the_hand_computed_numbers() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "std/spec-test.yaml", STANDARD);
    write(dir.path(), "std/item.schema.json", SCHEMA);
    write(dir.path(), "sub/submission.yaml", MANIFEST);
    write(dir.path(), "waivers.yaml", WAIVERS);
    write(dir.path(), "sub/items.yaml", RECORDS);
    let (r, code) = run(dir.path());
    assert_eq!(code, 1, "T-A-01 fails with severity major");

    // ratio: c1, c3 pass; c2 waived (counts as passed); c4 fails, and so does c5, which has no
    // days at all (a comparison with missing data is unknown, never true) → 10 × 3/5.
    let a1 = rule(&r, "T-A-01");
    assert_eq!(
        (
            a1["pass"].as_u64(),
            a1["fail"].as_u64(),
            a1["waived"].as_u64()
        ),
        (Some(2), Some(2), Some(1))
    );
    close(&a1["earned"], 6.0);
    // all: c3 fails, and its waiver expired before the period's end → 0.
    close(&rule(&r, "T-A-02")["earned"], 0.0);
    // deduct 1.5 per failure: c2, c4, c5 have no note → 5 − 4.5.
    close(&rule(&r, "T-A-03")["earned"], 0.5);
    // when never true: not applicable, left out of possible.
    assert_eq!(rule(&r, "T-A-04")["status"], "not_applicable");
    assert_eq!(rule(&r, "T-A-04")["not_applicable"], 5);

    // rate: ratings ≥ 4 among the four rated → 3/4 = 0.75, meets 0.75 → full 10.
    let i1 = indicator(&r, "T-IND-01");
    close(&i1["value"], 0.75);
    assert_eq!(
        (i1["numerator"].as_f64(), i1["denominator"].as_f64()),
        (Some(3.0), Some(4.0))
    );
    close(&i1["earned"], 10.0);
    // count: 5 against 4, proportional capped at full → 8.
    close(&indicator(&r, "T-IND-02")["value"], 5.0);
    close(&indicator(&r, "T-IND-02")["earned"], 8.0);
    // mean, lower: (3+9+7+12)/4 = 7.75; linear from 10 (zero) to 5 (full) → 6 × 0.45.
    close(&indicator(&r, "T-IND-03")["value"], 7.75);
    close(&indicator(&r, "T-IND-03")["earned"], 2.7);
    assert_eq!(indicator(&r, "T-IND-03")["met"], false);
    // sum: 4+6+5+2 = 17; first band reached is min 10 → 3.
    close(&indicator(&r, "T-IND-04")["value"], 17.0);
    close(&indicator(&r, "T-IND-04")["earned"], 3.0);
    // rate over no record: not applicable.
    assert_eq!(indicator(&r, "T-IND-05")["status"], "not_applicable");
    assert!(indicator(&r, "T-IND-05")["value"].is_null());

    // total: earned 6 + 0 + 0.5 + 10 + 8 + 2.7 + 3 = 30.2 of 10+6+5+10+8+6+5 = 50 → 60.4.
    let s = &r["summary"];
    close(&s["earned"], 30.2);
    close(&s["possible"], 50.0);
    close(&s["score"], 60.4);
    assert_eq!(s["grade"]["id"], "c");
    assert_eq!(
        s["results"],
        serde_json::json!({"pass": 8, "fail": 6, "error": 0, "not_applicable": 5, "waived": 1})
    );
    let waivers = r["waivers"].as_array().unwrap();
    assert_eq!(waivers[0]["applied"][0]["record"]["id"], "c2");
    assert_eq!(waivers[0]["applied"][0]["outcome"], "fail");
    assert_eq!(waivers[1]["expired"], true);
    assert!(waivers[1]["applied"].as_array().unwrap().is_empty());
    // sections add up their own items.
    close(&r["sections"][0]["earned"], 6.5);
    close(&r["sections"][0]["possible"], 21.0);
    close(&r["sections"][1]["earned"], 23.7);
}

#[test]
fn a_score_shown_as_90_is_graded_at_90_and_a_veto_forces_the_lowest_grade() {
    let dir = tempfile::tempdir().unwrap();
    let standard = r#"
id: spec-test
version: 0.1.0
title: Round
total_points: 100
grades:
  - {id: a, min: 90, title: A}
  - {id: c, min: 0, title: C}
sections:
  - id: s
    title: S
    rules:
      - {id: T-R-01, title: deduct, applies_to: activity, assert: "record.type == 'ok'", message: m,
         severity: minor, points: 100, scoring: {deduct: 10.005}}
      - {id: T-R-02, title: veto, applies_to: activity, when: "record.vetoable == true", assert: "false",
         message: v, severity: critical, points: 0, veto: true}
"#;
    activities_only(
        dir.path(),
        standard,
        "- {id: a1, date: 2025-02-01, type: ok}\n- {id: a2, date: 2025-02-02, type: bad}\n",
    );
    let (r, _) = run(dir.path());
    // 100 − 10.005 = 89.995, shown as 90.00 (half away from zero) and graded a.
    close(&r["summary"]["score"], 90.0);
    assert_eq!(r["summary"]["grade"]["id"], "a");
    assert_eq!(r["summary"]["vetoed_by"], serde_json::json!([]));

    write(dir.path(), "sub/activities.yaml", "- {id: a1, date: 2025-02-01, type: ok}\n- {id: a2, date: 2025-02-02, type: bad, vetoable: true}\n");
    let (r, code) = run(dir.path());
    close(&r["summary"]["score"], 90.0);
    assert_eq!(r["summary"]["grade"]["id"], "c");
    assert_eq!(r["summary"]["vetoed_by"], serde_json::json!(["T-R-02"]));
    assert_eq!(code, 1);
}

#[test]
fn a_profile_tailors_parameters_selection_points_and_waivers() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "std/spec-test.yaml", STANDARD);
    write(dir.path(), "std/item.schema.json", SCHEMA);
    write(
        dir.path(),
        "sub/submission.yaml",
        &format!("{MANIFEST}profile: profile.yaml\n"),
    );
    write(dir.path(), "waivers.yaml", WAIVERS);
    write(dir.path(), "sub/items.yaml", RECORDS);
    write(
        dir.path(),
        "sub/profile.yaml",
        "standard: spec-test\nparameters: {limit: 9}\ndeselect: [T-A-02]\npoints: {T-A-03: 10}\n\
         waivers: [{rule: T-A-01, records: [c5], reason: r, approved_by: p},\n\
                   {rule: T-A-03, records: [c5], reason: r, approved_by: p}]\n",
    );
    let (r, _) = run(dir.path());
    assert!(r["rules"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["id"] != "T-A-02"));
    // limit 9: c1, c3 pass, c2 waived (waiver file), c5 waived (profile), c4 fails → 10 × 4/5.
    close(&rule(&r, "T-A-01")["earned"], 8.0);
    // 10 points now; c2 and c4 fail, c5 is waived → 10 − 3.
    close(&rule(&r, "T-A-03")["earned"], 7.0);
    // (8 + 7 + 23.7) / (10 + 10 + 29) × 100 = 78.979… → 78.98
    close(&r["summary"]["score"], 78.98);
    assert_eq!(r["summary"]["grade"]["id"], "b");
    let profile = &r["standard"]["profile"];
    // Shown as the manifest names it, not as the path this run took to it.
    assert_eq!(profile["file"], "profile.yaml");
    let overrides: Vec<&str> = profile["overrides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert!(
        overrides.contains(&"参数 limit = 9（合同方案）"),
        "{overrides:?}"
    );
    assert!(overrides.contains(&"不评 T-A-02"), "{overrides:?}");
    assert!(overrides.contains(&"分值 T-A-03 = 10"), "{overrides:?}");
    assert_eq!(r["parameters"]["limit"]["value"], 9);
    assert_eq!(r["parameters"]["limit"]["source"], "profile");
    assert_eq!(profile["source"], "submission_folder");

    write(dir.path(), "sub/profile.yaml", "parameters: {nope: 1}\n");
    let out = Command::cargo_bin("yardstick")
        .unwrap()
        .args(["check", "sub", "--standard", "std/spec-test.yaml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
}

#[test]
fn a_count_over_records_that_where_leaves_out_is_zero_and_over_no_record_of_the_kind_not_applicable(
) {
    let dir = tempfile::tempdir().unwrap();
    let standard = r#"
id: spec-test
version: 0.1.0
title: Counts
grades: [{id: a, min: 50, title: A}, {id: c, min: 0, title: C}]
sections:
  - id: s
    title: S
    indicators:
      - {id: T-IND-01, title: drills, applies_to: activity, measure: count, where: "record.type == 'drill'", target: 2, points: 4}
      - {id: T-IND-02, title: hours, applies_to: activity, measure: sum, where: "record.type == 'drill'", value: record.hours, target: 2, points: 4, scoring: proportional}
      - {id: T-IND-03, title: groups, applies_to: group, measure: count, target: 1, points: 4}
    rules:
      - {id: T-R-01, title: any, applies_to: activity, assert: "true", message: m, severity: info, points: 2}
"#;
    activities_only(
        dir.path(),
        standard,
        "- {id: a1, date: 2025-02-01, type: festival, hours: 3}\n",
    );
    let (r, _) = run(dir.path());
    close(&indicator(&r, "T-IND-01")["value"], 0.0);
    assert_eq!(indicator(&r, "T-IND-01")["status"], "fail");
    close(&indicator(&r, "T-IND-02")["value"], 0.0);
    assert_eq!(indicator(&r, "T-IND-03")["status"], "not_applicable");
    // earned 2 (the rule) of possible 2 + 4 + 4: the group count is left out.
    close(&r["summary"]["possible"], 10.0);
    close(&r["summary"]["score"], 20.0);
}

#[test]
fn a_minimal_standard_gets_the_default_grades_and_its_titles_as_messages() {
    let dir = tempfile::tempdir().unwrap();
    let standard = r#"
id: spec-test
version: 0.1.0
title: Minimal
sections:
  - id: s
    title: S
    rules:
      - {id: T-M-01, title: Feedback collected, applies_to: activity, assert: "record.feedback.collected", severity: major, points: 3}
"#;
    activities_only(
        dir.path(),
        standard,
        "- {id: a1, date: 2025-02-01, feedback: {collected: true}}\n- {id: a2, date: 2025-02-02}\n- {id: a3, date: 2025-02-03, feedback: {collected: true}}\n",
    );
    let (r, code) = run(dir.path());
    assert_eq!(code, 1);
    // 3 × 2/3 = 2 of 3 → 66.67, graded pass (60) on the default scale.
    close(&r["summary"]["score"], 66.67);
    assert_eq!(r["summary"]["grade"]["id"], "pass");
    assert_eq!(r["findings"][0]["message"], "Feedback collected");
    assert_eq!(r["findings"][0]["record"]["id"], "a2");
}
