//! The contract of trust-and-evidence.md, on a small standard written for the test: who may
//! tailor a score, what missing evidence costs, the period, records that say what they mean, and
//! shortfalls as findings.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

const STANDARD: &str = r#"
id: trust-test
version: 0.1.0
title: {zh: 信任测试, en: Trust test}
sector: test
total_points: 100
parameters:
  limit: {default: 7, description: {zh: 期限, en: limit}}
  residents: {default: 10, declared: true, minimum: 1, description: {zh: 人数, en: residents}}
evidence: {visit: required, item: required}
schemas:
  item: item.schema.json
  visit: visit.schema.json
sections:
  - id: s1
    title: {zh: 第一部分, en: Part one}
    rules:
      - id: T-A-01
        title: {zh: 按时完成, en: Done in time}
        applies_to: item
        when: "in_period(record.start)"
        assert: "record.done is defined and days_between(record.start, record.done) <= params.limit"
        message: {zh: "风险{{ record.risk | label }}的事项未按时完成", en: "the {{ record.risk | label }} risk item was not done in time"}
        requirement: {zh: "开始后 {{ params.limit }} 日内完成", en: "done within {{ params.limit }} days of the start"}
        severity: major
        points: 10
      - id: T-A-02
        title: {zh: 已确认, en: Confirmed}
        applies_to: item
        assert: "record.ok == true"
        message: {zh: 未确认, en: not confirmed}
        severity: minor
        points: 5
      - id: T-A-03
        title: {zh: 工作日, en: Working days}
        applies_to: item
        when: "record.done is defined"
        assert: "working_days_between(record.start, record.done) <= params.limit"
        message: {zh: 超过期限, en: over the limit}
        severity: minor
        points: 5
      - id: T-V-01
        title: {zh: 走访有记录, en: Visit noted}
        applies_to: visit
        assert: "record.note is defined"
        message: {zh: 无记录, en: no note}
        severity: minor
        points: 10
    indicators:
      - id: T-IND-01
        title: {zh: 走访天数, en: Days visited}
        applies_to: visit
        measure: distinct
        value: record.date
        where: "in_period(record.date)"
        target: "submission.period.days"
        points: 10
        scoring: proportional
        severity: minor
      - id: T-IND-02
        title: {zh: 事项数量, en: Items}
        applies_to: item
        measure: count
        target: params.residents
        points: 10
        scoring: proportional
"#;

const ITEM: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["id"],
  "properties": {
    "id": {"type": "string", "title": "编号", "description": "id"},
    "kind": {"type": "string", "title": "类型", "description": "kind"},
    "start": {"type": "string", "format": "date", "title": "开始日期", "description": "start"},
    "done": {"type": "string", "format": "date", "title": "完成日期", "description": "done"},
    "ok": {"type": "boolean", "title": "已确认", "description": "ok"},
    "risk": {"type": "string", "enum": ["high", "low"], "x-labels": {"high": "高", "low": "低"},
             "title": "风险", "description": "risk"},
    "tags": {"type": "array", "title": "标签", "description": "tags",
             "items": {"type": "string", "enum": ["a", "b"], "x-labels": {"a": "甲", "b": "乙"}}},
    "detail": {"type": "object", "title": "详情", "description": "detail",
               "properties": {"note": {"type": "string", "title": "备注", "description": "note"}}},
    "extra": {"type": "object", "title": "自由字段", "description": "free-form"}
  }
}"#;

const VISIT: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["id", "date"],
  "properties": {
    "id": {"type": "string", "title": "编号", "description": "id"},
    "kind": {"type": "string", "title": "类型", "description": "kind"},
    "date": {"type": "string", "format": "date", "title": "日期", "description": "date"},
    "note": {"type": "string", "title": "记录", "description": "note"}
  }
}"#;

const ITEMS: &str = r#"
- {id: i1, start: 2025-01-02, done: 2025-01-05, ok: true, risk: high}
- {id: i2, start: 2025-01-03, done: 2025-01-20, ok: false, risk: 低}
- {id: i3, start: 2025-01-04, ok: true, risk: high, tags: [甲, b]}
"#;

const VISITS: &str = r#"
- {id: v1, date: 2025-01-01, note: x}
- {id: v2, date: 2025-01-01, note: y}
- {id: v3, date: 2025-01-02, note: z}
- {id: v4, date: 2025-01-05}
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join(name).parent().unwrap()).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

/// A standards folder with the test standard, and a submission folder `sub` with a 10-day period.
fn setup(manifest_extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "std/trust-test.yaml", STANDARD);
    write(d, "std/item.schema.json", ITEM);
    write(d, "std/visit.schema.json", VISIT);
    write(
        d,
        "sub/submission.yaml",
        &format!(
            "organisation: {{name: 测试机构}}\ncontract: {{id: T-1}}\ncalendar: cn-mainland\n\
             standard: trust-test\nperiod: {{start: 2025-01-01, end: 2025-01-10}}\n{manifest_extra}"
        ),
    );
    write(d, "sub/items.yaml", ITEMS);
    write(d, "sub/visits.yaml", VISITS);
    dir
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn yardstick(dir: &Path, args: &[&str]) -> Out {
    let out = Command::cargo_bin("yardstick")
        .unwrap()
        .env("NO_COLOR", "1")
        .args(["--standards", "std"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json(dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["check", "sub", "--format", "json"];
    args.extend_from_slice(extra);
    let out = yardstick(dir, &args);
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", out.stderr))
}

/// The item schema with a personal field `name`.
fn item_schema_with_a_personal_name() -> String {
    ITEM.replace(
        r#""ok": {"type": "boolean", "title": "已确认", "description": "ok"},"#,
        r#""ok": {"type": "boolean", "title": "已确认", "description": "ok"},
    "name": {"type": "string", "title": "姓名", "description": "name", "x-personal": true},"#,
    )
}

fn findings<'a>(r: &'a Value, rule: &str) -> Vec<&'a Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn item<'a>(r: &'a Value, list: &str, id: &str) -> &'a Value {
    r[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {list}"))
}

#[test]
fn a_manifest_sets_only_declared_parameters_and_the_rest_are_refused() {
    let base = json(setup("").path(), &[]);
    let dir = setup("parameters: {limit: 100, residents: 3, bogus: 1}\n");
    let r = json(dir.path(), &[]);
    assert_eq!(r["parameters"]["limit"]["value"], 7);
    assert_eq!(r["parameters"]["limit"]["source"], "standard");
    assert_eq!(r["parameters"]["residents"]["value"], 3);
    assert_eq!(r["parameters"]["residents"]["source"], "declared");
    let refused = findings(&r, "YS-MANIFEST");
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused.iter().all(|f| f["severity"] == "major"));
    assert!(refused
        .iter()
        .any(|f| f["message"].as_str().unwrap().contains("limit")));
    // The refused limit did not move T-A-01 (i2 took 17 days against 7).
    assert_eq!(
        item(&r, "rules", "T-A-01")["earned"],
        item(&base, "rules", "T-A-01")["earned"]
    );
    // A contract profile does set it, and says so.
    write(dir.path(), "contract.yaml", "parameters: {limit: 30}\n");
    let r = json(dir.path(), &["--profile", "contract.yaml"]);
    assert_eq!(r["parameters"]["limit"]["value"], 30);
    assert_eq!(r["parameters"]["limit"]["source"], "profile");
    assert_eq!(r["standard"]["profile"]["source"], "command_line");
    let check = yardstick(
        dir.path(),
        &["check", "sub", "--profile", "contract.yaml", "--lang", "en"],
    )
    .stdout;
    assert!(
        check.contains("limit = 30 (profile)") && check.contains("residents = 3 (declared)"),
        "{check}"
    );
    assert_eq!(
        r["standard"]["profile"]["sha256"].as_str().unwrap().len(),
        64
    );
}

#[test]
fn manifest_waivers_are_requests_listed_and_never_applied() {
    let base = json(setup("").path(), &[]);
    let dir = setup("waivers:\n  - {rule: 'T-*', reason: we say so}\n  - {rule: T-A-02, records: [i2], reason: agreed, approved_by: ourselves}\n");
    let r = json(dir.path(), &[]);
    assert_eq!(r["summary"]["score"], base["summary"]["score"]);
    assert_eq!(r["summary"]["results"]["waived"], 0);
    assert!(r["waivers"].as_array().unwrap().is_empty());
    let requests = r["waiver_requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1]["reason"], "agreed");
    let text = yardstick(dir.path(), &["report", "sub", "--lang", "en"]).stdout;
    assert!(text.contains("Waivers requested (not applied)"), "{text}");
}

#[test]
fn waivers_come_from_the_evaluators_file_and_name_rules_and_records() {
    let dir = setup("");
    write(
        dir.path(),
        "waivers.yaml",
        "- {rule: T-A-02, records: [i2], reason: agreed, approved_by: buyer, expires: 2026-06-30}\n",
    );
    let r = json(dir.path(), &["--waivers", "waivers.yaml"]);
    assert_eq!(item(&r, "rules", "T-A-02")["waived"], 1);
    let w = &r["waivers"][0];
    assert_eq!(w["source"], "waivers.yaml");
    assert_eq!(w["approved_by"], "buyer");
    assert_eq!(w["applied"][0]["record"]["id"], "i2");
    assert_eq!(r["waiver_file"]["file"], "waivers.yaml");
    for bad in [
        "- {rule: '*', records: [i2], reason: all, approved_by: buyer}\n",
        "- {rule: 'T-*', records: [i2], reason: all, approved_by: buyer}\n",
        "- {rule: T-A-02, reason: every record, approved_by: buyer}\n",
        "- {rule: T-A-02, records: [i2], reason: no approver}\n",
        "- {rule: 'T-A-*', records: [i2], reason: a, approved_by: b}\n- {rule: 'T-V-*', records: [i2], reason: a, approved_by: b}\n",
        // Every rule over items, without the visit rule that could never apply to an item.
        "- {rule: 'T-A-0?', records: [i2], reason: a, approved_by: b}\n",
    ] {
        write(dir.path(), "waivers.yaml", bad);
        let out = yardstick(dir.path(), &["check", "sub", "--waivers", "waivers.yaml"]);
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
        assert!(out.stderr.contains("waivers.yaml"), "{}", out.stderr);
    }
}

#[test]
fn a_profile_named_by_the_manifest_is_used_only_without_profile_and_hides_no_records() {
    let dir = setup("profile: items.yaml\n");
    // The named file holds records, not a profile: with --profile its records still count.
    write(dir.path(), "contract.yaml", "parameters: {limit: 30}\n");
    let r = json(dir.path(), &["--profile", "contract.yaml"]);
    assert_eq!(r["summary"]["records"], 7);
    assert_eq!(r["standard"]["profile"]["file"], "contract.yaml");
    // Without --profile it is not a profile at all: the run stops (exit 2) rather than drop it.
    let out = yardstick(dir.path(), &["check", "sub"]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    // A real profile in the folder is used, and the report says where it came from.
    let dir = setup("profile: contract.yaml\n");
    write(dir.path(), "sub/contract.yaml", "parameters: {limit: 30}\n");
    let r = json(dir.path(), &[]);
    assert_eq!(r["standard"]["profile"]["source"], "submission_folder");
    assert_eq!(r["summary"]["records"], 7);
}

#[test]
fn a_standard_file_in_the_submission_is_never_used_and_an_evaluators_is_marked() {
    let dir = setup("");
    write(
        dir.path(),
        "sub/submission.yaml",
        "standard: elderly-care.yaml\nperiod: {start: 2025-01-01, end: 2025-01-10}\n",
    );
    write(
        dir.path(),
        "sub/elderly-care.yaml",
        "id: elderly-care\nversion: 9.9.9\ntitle: mine\nsections: []\n",
    );
    let out = yardstick(dir.path(), &["check", "sub"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--standard"), "{}", out.stderr);
    // The evaluator's own file is allowed, and the report says it is not a shipped one.
    let r = json(dir.path(), &["--standard", "std/trust-test.yaml"]);
    assert_eq!(r["standard"]["shipped"], false);
    assert_eq!(r["standard"]["file"], "std/trust-test.yaml");
    let shipped = json(
        dir.path(),
        &["--standard", "elderly-care", "--fail-on", "never"],
    );
    assert_eq!(shipped["standard"]["shipped"], true);
    assert_ne!(shipped["standard"]["version"], "9.9.9");
}

#[test]
fn a_required_kind_with_no_record_fails_its_items_and_costs_their_points() {
    let dir = setup("");
    std::fs::remove_file(dir.path().join("sub/visits.yaml")).unwrap();
    let r = json(dir.path(), &[]);
    let missing = findings(&r, "YS-MISSING-EVIDENCE");
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["severity"], "major");
    assert!(
        missing[0]["message"].as_str().unwrap().contains("20"),
        "{missing:?}"
    );
    assert_eq!(item(&r, "rules", "T-V-01")["status"], "fail");
    assert_eq!(item(&r, "rules", "T-V-01")["earned"], 0.0);
    assert_eq!(item(&r, "indicators", "T-IND-01")["status"], "fail");
    assert_eq!(r["missing_evidence"][0]["kind"], "visit");
    assert_eq!(r["missing_evidence"][0]["points"], 20.0);
    assert_eq!(r["summary"]["possible"], 50.0);
    // A contract that buys no visits makes them optional: not applicable, not failed.
    write(dir.path(), "contract.yaml", "evidence: {visit: optional}\n");
    let r = json(dir.path(), &["--profile", "contract.yaml"]);
    assert!(findings(&r, "YS-MISSING-EVIDENCE").is_empty());
    assert_eq!(item(&r, "rules", "T-V-01")["status"], "not_applicable");
    assert_eq!(r["summary"]["possible"], 30.0);
}

#[test]
fn distinct_counts_days_against_the_days_of_the_period() {
    let r = json(setup("").path(), &[]);
    let ind = item(&r, "indicators", "T-IND-01");
    assert_eq!(ind["measure"], "distinct");
    assert_eq!(ind["value"], 3.0);
    assert_eq!(ind["target"], 10.0);
    assert_eq!(ind["earned"], 3.0);
}

#[test]
fn indicator_shortfalls_are_findings_with_value_and_target() {
    let r = json(setup("").path(), &[]);
    let f = findings(&r, "T-IND-01");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["severity"], "minor");
    assert_eq!(f[0]["record"]["kind"], "visit");
    let m = f[0]["message"].as_str().unwrap();
    assert!(m.contains('3') && m.contains("10"), "{m}");
    // An indicator that earns its points raises none.
    assert!(findings(&r, "T-IND-02").len() == 1);
    let out = yardstick(
        setup("parameters: {residents: 3}\n").path(),
        &["check", "sub"],
    );
    assert!(!out.stdout.contains("T-IND-02"), "{}", out.stdout);
}

#[test]
fn labels_are_read_as_codes_and_shown_in_chinese_messages() {
    let dir = setup("");
    let r = json(dir.path(), &[]);
    assert!(
        findings(&r, "YS-SCHEMA").is_empty(),
        "{:?}",
        findings(&r, "YS-SCHEMA")
    );
    let f = findings(&r, "T-A-01");
    let zh: Vec<&str> = f.iter().map(|f| f["message"].as_str().unwrap()).collect();
    assert!(zh.iter().any(|m| m.contains("风险低")), "{zh:?}");
    let r = json(dir.path(), &["--lang", "en"]);
    let en: Vec<&str> = findings(&r, "T-A-01")
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(en.iter().any(|m| m.contains("the low risk")), "{en:?}");
    write(
        dir.path(),
        "sub/items.yaml",
        "- {id: i9, start: 2025-01-02, risk: 超高}\n",
    );
    let r = json(dir.path(), &[]);
    let bad = findings(&r, "YS-SCHEMA");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["record"]["pointer"], "/risk");
    // The Chinese message names what may be written, code and label.
    let m = bad[0]["message"].as_str().unwrap();
    assert!(
        m.contains("“超高” 不是允许的取值") && m.contains("高（high）、低（low）"),
        "{m}"
    );
}

#[test]
fn a_code_two_kinds_label_differently_shows_the_label_of_the_records_own_kind() {
    // `item.risk: low` is 低; here `visit.risk: low` is 一般. A message about a visit shows 一般.
    let dir = setup("");
    write(
        dir.path(),
        "std/trust-test.yaml",
        &STANDARD.replace(
            "message: {zh: 无记录, en: no note}",
            "message: {zh: \"{{ record.risk | label }}级走访无记录\", en: no note}\n        \
             requirement: {zh: \"{{ 'low' | label }}级走访有记录\", en: visits noted}",
        ),
    );
    write(
        dir.path(),
        "std/visit.schema.json",
        &VISIT.replace(
            r#""note": {"type": "string", "title": "记录", "description": "note"}"#,
            r#""note": {"type": "string", "title": "记录", "description": "note"},
    "risk": {"type": "string", "enum": ["high", "low"], "x-labels": {"high": "紧急", "low": "一般"},
             "title": "走访级别", "description": "risk"}"#,
        ),
    );
    write(
        dir.path(),
        "sub/visits.yaml",
        "- {id: v1, date: 2025-01-01, risk: low}\n",
    );
    let r = json(dir.path(), &[]);
    let f = findings(&r, "T-V-01");
    assert_eq!(f.len(), 1, "{r}");
    assert_eq!(f[0]["message"], "一般级走访无记录");
    // A requirement has no record: it reads the labels of the kind its item applies to.
    assert_eq!(
        item(&r, "rules", "T-V-01")["requirement"],
        "一般级走访有记录"
    );
}

#[test]
fn a_misspelt_field_is_a_finding_with_the_nearest_name() {
    let dir = setup("");
    write(
        dir.path(),
        "sub/items.yaml",
        "- {id: i1, strat: 2025-01-02, ok: true, detail: {nte: x}, extra: {anything: 1}}\n",
    );
    let r = json(dir.path(), &["--lang", "en"]);
    let f = findings(&r, "YS-UNKNOWN-FIELD");
    let got: Vec<(&str, &str)> = f
        .iter()
        .map(|f| {
            (
                f["record"]["pointer"].as_str().unwrap(),
                f["message"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].0 == "/detail/nte" && got[0].1.contains("'note'"),
        "{got:?}"
    );
    assert!(
        got[1].0 == "/strat" && got[1].1.contains("'start'"),
        "{got:?}"
    );
    assert!(f.iter().all(|f| f["severity"] == "minor"));
}

#[test]
fn records_are_judged_inside_the_period_and_uncovered_years_are_noted() {
    let dir = setup("");
    write(
        dir.path(),
        "sub/items.yaml",
        "- {id: old, start: 2019-03-01, done: 2019-06-01, ok: true}\n- {id: new, start: 2025-01-02, done: 2025-01-03, ok: true}\n",
    );
    let r = json(dir.path(), &["--lang", "en"]);
    // The 2019 item is outside T-A-01's `when`; T-A-03 counts 2019 Monday to Friday.
    let a = item(&r, "rules", "T-A-01");
    assert_eq!(
        (a["pass"].as_u64(), a["not_applicable"].as_u64()),
        (Some(1), Some(1))
    );
    let c = item(&r, "rules", "T-A-03");
    assert_eq!(
        (c["fail"].as_u64(), c["error"].as_u64()),
        (Some(1), Some(0))
    );
    let notes = r["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert!(notes[0].as_str().unwrap().contains("2019"), "{notes:?}");
}

#[test]
fn a_finding_points_at_the_field_that_made_the_rule_fail() {
    let r = json(setup("").path(), &[]);
    let pointers: Vec<(&str, &str)> = findings(&r, "T-A-01")
        .iter()
        .map(|f| {
            (
                f["record"]["id"].as_str().unwrap(),
                f["record"]["pointer"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(pointers, vec![("i2", "/done"), ("i3", "/done")]);
}

#[test]
fn built_in_findings_speak_the_reports_language() {
    let dir = setup("");
    write(
        dir.path(),
        "sub/visits/more.yaml",
        "- {id: v1, date: 2025-01-03}\n",
    );
    let zh = json(dir.path(), &[]);
    let en = json(dir.path(), &["--lang", "en"]);
    let dup = |r: &Value| {
        findings(r, "YS-DUPLICATE-ID")[0]["message"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(dup(&zh).contains("已在"), "{}", dup(&zh));
    assert!(dup(&en).contains("already used"), "{}", dup(&en));
    let text = yardstick(dir.path(), &["check", "sub"]).stdout;
    assert!(text.contains("重要 YS-DUPLICATE-ID"), "{text}");
    assert!(!text.contains(" major "), "{text}");
}

#[test]
fn explain_states_the_requirement_with_parameter_values_not_template_code() {
    let dir = setup("");
    let out = yardstick(
        dir.path(),
        &[
            "explain",
            "T-A-01",
            "--standard",
            "trust-test",
            "--lang",
            "en",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("done within 7 days of the start"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("limit = 7"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("{{") && !out.stdout.contains("record."),
        "{}",
        out.stdout
    );
}

#[test]
fn a_report_is_never_written_over_the_evaluators_own_files() {
    let dir = setup("");
    write(dir.path(), "contract.yaml", "parameters: {limit: 30}\n");
    write(dir.path(), "waivers.yaml", "[]\n");
    for target in ["contract.yaml", "waivers.yaml"] {
        let out = yardstick(
            dir.path(),
            &[
                "report",
                "sub",
                "--profile",
                "contract.yaml",
                "--waivers",
                "waivers.yaml",
                "-o",
                target,
            ],
        );
        assert_eq!(out.code, 2, "{target}: {}", out.stderr);
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("contract.yaml")).unwrap(),
        "parameters: {limit: 30}\n"
    );
}

#[test]
fn lint_flags_a_chinese_message_that_shows_a_code_and_a_missing_requirement() {
    let dir = setup("");
    let bad = STANDARD.replace(
        "风险{{ record.risk | label }}的事项",
        "风险{{ record.risk }}的事项",
    );
    write(dir.path(), "std/trust-test.yaml", &bad);
    let out = yardstick(dir.path(), &["standards", "lint", "std/trust-test.yaml"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("T-A-01") && out.stderr.contains("| label"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("T-A-02: no requirement"),
        "{}",
        out.stderr
    );
}

#[test]
fn lint_flags_a_message_that_uses_a_personal_field_but_not_one_that_only_tests_it_is_defined() {
    let dir = setup("");
    write(
        dir.path(),
        "std/item.schema.json",
        &item_schema_with_a_personal_name(),
    );
    let lint = |message: &str| {
        write(
            dir.path(),
            "std/trust-test.yaml",
            &STANDARD.replace("message: {zh: 未确认, en: not confirmed}", message),
        );
        yardstick(dir.path(), &["standards", "lint", "std/trust-test.yaml"]).stderr
    };
    let tested = lint(
        "message: {zh: \"{% if record.name is defined %}已登记{% endif %}未确认\", en: not confirmed}",
    );
    assert!(!tested.contains("personal field"), "{tested}");
    for shown in [
        "message: {zh: \"{{ record.name }}未确认\", en: not confirmed}",
        "message: {zh: \"{% set n = record.name %}{{ n }}未确认\", en: not confirmed}",
        "message: {zh: \"{% if record.name[0:1] == '张' %}张{% endif %}未确认\", en: not confirmed}",
    ] {
        let out = lint(shown);
        assert!(
            out.contains("T-A-02") && out.contains("personal field name"),
            "{out}"
        );
    }
}

#[test]
fn lint_accepts_a_named_indicator_id_but_not_one_shaped_like_a_rules() {
    let dir = setup("");
    let named = STANDARD
        .replace("id: T-IND-01", "id: TT-DAYS-24H")
        .replace("id: T-IND-02", "id: TT-AB-01");
    write(dir.path(), "std/trust-test.yaml", &named);
    let out = yardstick(dir.path(), &["standards", "lint", "std/trust-test.yaml"]);
    assert!(
        !out.stderr.contains("TT-DAYS-24H: indicator ids"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("TT-AB-01: indicator ids"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_event_dated_by_one_field_keeps_its_grace_before_the_period() {
    let dir = setup("");
    write(
        dir.path(),
        "std/visit.schema.json",
        &VISIT.replace(
            r#""required": ["id", "date"],"#,
            r#""required": ["id", "date"], "x-period": {"start": "date", "grace": ["limit"]},"#,
        ),
    );
    // The period starts 2025-01-01 and `limit` is 7 days.
    write(
        dir.path(),
        "sub/visits.yaml",
        "- {id: v1, date: 2024-12-28, note: x}\n- {id: v2, date: 2024-12-20, note: y}\n",
    );
    let r = json(dir.path(), &[]);
    let outside: Vec<&str> = findings(&r, "YS-PERIOD")
        .iter()
        .map(|f| f["record"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(outside, ["v2"]);
}

#[test]
fn a_failure_on_missing_data_says_so_in_the_reports_language() {
    let dir = setup("");
    write(
        dir.path(),
        "sub/items.yaml",
        "- {id: i8, done: 2025-01-05, ok: true}\n",
    );
    let zh = json(dir.path(), &[]);
    let m = findings(&zh, "T-A-03")[0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(m.ends_with("（缺少判定所需的数据）"), "{m}");
    assert!(!m.contains("missing"), "{m}");
    let en = json(dir.path(), &["--lang", "en"]);
    let m = findings(&en, "T-A-03")[0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(m.contains("missing"), "{m}");
}

#[test]
fn a_manifest_profile_outside_the_folder_or_not_a_file_is_refused_without_reading_it() {
    for named in ["../contract.yaml", "/dev/zero", "/etc/passwd"] {
        let dir = setup(&format!("profile: {named}\n"));
        write(dir.path(), "contract.yaml", "parameters: {limit: 30}\n");
        let out = yardstick(dir.path(), &["check", "sub"]);
        assert_eq!(out.code, 2, "{named}: {}", out.stdout);
        assert!(out.stderr.contains("--profile"), "{named}: {}", out.stderr);
        assert!(!out.stderr.contains("root:"), "{}", out.stderr);
        // The evaluator's --profile is used instead, and the run goes on.
        let r = json(dir.path(), &["--profile", "contract.yaml"]);
        assert_eq!(r["parameters"]["limit"]["value"], 30);
    }
}

#[test]
fn a_finding_sits_on_the_line_of_its_field_in_yaml_and_json() {
    let dir = setup("");
    write(
        dir.path(),
        "sub/items.yaml",
        "- id: i1\n  start: 2025-01-02\n  done: 2025-01-05\n  ok: false\n",
    );
    write(
        dir.path(),
        "sub/more/items.json",
        "[\n  {\n    \"id\": \"j1\",\n    \"start\": \"2025-01-02\",\n    \"ok\": false\n  }\n]\n",
    );
    let r = json(dir.path(), &[]);
    let at: Vec<(&str, &str, u64)> = findings(&r, "T-A-02")
        .iter()
        .map(|f| {
            (
                f["record"]["id"].as_str().unwrap(),
                f["record"]["pointer"].as_str().unwrap(),
                f["record"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(at, vec![("i1", "/ok", 4), ("j1", "/ok", 5)]);
    // A missing field is shown at the record (j1 has no `done`).
    let done: Vec<u64> = findings(&r, "T-A-01")
        .iter()
        .map(|f| f["record"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(done, vec![2]);
}

#[test]
fn copies_of_a_record_count_once_as_the_worst_of_them() {
    let base = json(setup("").path(), &[]);
    let dir = setup("");
    // Twenty clean copies of i1 (done in time, confirmed), and a clean copy of i2 read first.
    let mut copies = String::new();
    for _ in 0..20 {
        copies.push_str("- {id: i1, start: 2025-01-02, done: 2025-01-05, ok: true, risk: high}\n");
    }
    copies.push_str("- {id: i2, start: 2025-01-03, done: 2025-01-04, ok: true, risk: low}\n");
    write(dir.path(), "sub/a-copies/items.yaml", &copies);
    let r = json(dir.path(), &[]);
    assert_eq!(r["summary"]["score"], base["summary"]["score"]);
    assert_eq!(item(&r, "rules", "T-A-01")["applicable"], 3);
    assert_eq!(
        item(&r, "rules", "T-A-01")["fail"],
        2,
        "i2's failing original still counts"
    );
    assert_eq!(item(&r, "indicators", "T-IND-02")["value"], 3.0);
    assert_eq!(findings(&r, "YS-DUPLICATE-ID").len(), 21);
}

#[test]
fn a_declared_fact_out_of_bounds_or_of_the_wrong_kind_is_refused() {
    for bad in ["0", "-100", "'120'", "null", "[1]", "1.5", ".nan"] {
        let dir = setup(&format!("parameters: {{residents: {bad}}}\n"));
        let r = json(dir.path(), &["--lang", "en"]);
        assert_eq!(r["parameters"]["residents"]["value"], 10, "{bad}");
        assert_eq!(r["parameters"]["residents"]["source"], "standard", "{bad}");
        let refused = findings(&r, "YS-MANIFEST");
        assert_eq!(refused.len(), 1, "{bad}: {refused:?}");
        assert!(
            refused[0]["message"]
                .as_str()
                .unwrap()
                .contains("residents"),
            "{refused:?}"
        );
        // From the evaluator's profile the same value stops the run.
        write(
            dir.path(),
            "contract.yaml",
            &format!("parameters: {{residents: {bad}}}\n"),
        );
        let out = yardstick(dir.path(), &["check", "sub", "--profile", "contract.yaml"]);
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
    }
}

#[test]
fn a_copy_that_an_indicator_leaves_out_takes_the_id_out_of_a_higher_is_better_count() {
    let dir = setup("");
    // v3's copy is dated outside the period; v9 is outside and its copy inside.
    write(
        dir.path(),
        "sub/visits/more.yaml",
        "- {id: v3, date: 2024-12-30, note: z}\n- {id: v9, date: 2024-12-31, note: a}\n- {id: v9, date: 2025-01-09, note: a}\n",
    );
    let r = json(dir.path(), &[]);
    // Days visited: 01-01 (v1, v2) and 01-05 (v4); v3 and v9 add nothing.
    assert_eq!(item(&r, "indicators", "T-IND-01")["value"], 2.0);
}

/// A message is rendered from the record with its personal fields masked, whether it names the
/// fields it reads (then only those are masked and converted) or may read the whole record.
#[test]
fn a_message_shows_personal_fields_masked_whether_it_names_its_fields_or_reads_the_whole_record() {
    let dir = setup("");
    write(
        dir.path(),
        "std/item.schema.json",
        &item_schema_with_a_personal_name(),
    );
    write(
        dir.path(),
        "sub/items.yaml",
        &ITEMS.replace("ok: false, risk: 低}", "ok: false, risk: 低, name: 王小明}"),
    );
    for (message, shown) in [
        (
            "{{ record.name }}未确认（{{ record.risk | label }}）",
            "王**未确认（低）",
        ),
        ("{{ record | tojson }}", r#""name": "王**", "ok": false"#),
        (
            "{% for k, v in record | items %}{{ k }}={{ v }};{% endfor %}",
            "name=王**;",
        ),
    ] {
        write(
            dir.path(),
            "std/trust-test.yaml",
            &STANDARD.replace(
                "message: {zh: 未确认, en: not confirmed}",
                &format!("message: {{zh: '{message}', en: not confirmed}}"),
            ),
        );
        let r = json(dir.path(), &["--lang", "zh"]);
        let f = findings(&r, "T-A-02");
        let text = f[0]["message"].as_str().unwrap();
        assert!(text.contains(shown), "{message}: {text}");
        assert!(!text.contains("王小明"), "{message}: {text}");
    }
}
