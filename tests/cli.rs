//! The binary on the bundled fixtures: exit codes, the JSON report and its schema, the human
//! report, determinism, masking, and refusals.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    root()
        .join("fixtures/elderly-care")
        .join(name)
        .display()
        .to_string()
}

/// The fixture's contract profile (`<name>-contract.yaml` beside it), as the evaluator passes it.
fn with_contract(name: &str) -> Vec<String> {
    let profile = root()
        .join("fixtures/elderly-care")
        .join(format!("{name}-contract.yaml"));
    let mut args = vec![fixture(name)];
    if profile.is_file() {
        // Relative to the package root (the tests' working folder), so that reports, which show
        // the profile as it was given, are the same on every machine.
        args.push("--profile".into());
        args.push(format!("fixtures/elderly-care/{name}-contract.yaml"));
    }
    args
}

fn yardstick() -> Command {
    let mut cmd = Command::cargo_bin("yardstick").unwrap();
    cmd.env("NO_COLOR", "1");
    cmd
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = yardstick().args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json_report(name: &str, extra: &[&str]) -> (Value, Run) {
    let sub = with_contract(name);
    let mut args: Vec<&str> = vec!["check"];
    args.extend(sub.iter().map(String::as_str));
    args.extend(["--format", "json"]);
    args.extend_from_slice(extra);
    let r = run(&args);
    let v = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.stderr));
    (v, r)
}

fn report_schema() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/report.schema.json")).unwrap(),
    )
    .unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid_report(report: &Value) {
    let errors: Vec<String> = report_schema()
        .iter_errors(report)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn exemplary_submission_exits_0_with_grade_excellent_and_no_findings() {
    let (report, r) = json_report("exemplary", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_valid_report(&report);
    assert_eq!(report["summary"]["grade"]["id"], "excellent");
    assert_eq!(report["summary"]["score"], 100.0);
    assert_eq!(report["findings"], Value::Array(vec![]));
}

#[test]
fn typical_submission_exits_1_with_a_valid_report_graded_below_excellent() {
    let (report, r) = json_report("typical", &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("does not meet the bar"), "{}", r.stderr);
    assert_valid_report(&report);
    assert!(report["summary"]["records"].as_u64().unwrap() >= 40);
    assert_ne!(report["summary"]["grade"]["id"], "excellent");
    assert_eq!(report["summary"]["results"]["waived"], 1);
    assert_eq!(report["waivers"][0]["applied"][0]["record"]["id"], "t-007");
    let failing: Vec<&str> = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "fail")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(failing.len() >= 5, "{failing:?}");
}

#[test]
fn fail_on_and_min_score_decide_the_exit_status() {
    let typical = with_contract("typical");
    let exemplary = with_contract("exemplary");
    let check = |sub: &[String], extra: &[&str]| {
        let mut args: Vec<&str> = vec!["check"];
        args.extend(sub.iter().map(String::as_str));
        args.extend_from_slice(extra);
        run(&args).code
    };
    assert_eq!(check(&typical, &["--fail-on", "never"]), 0);
    assert_eq!(
        check(&typical, &["--fail-on", "never", "--min-score", "95"]),
        1
    );
    assert_eq!(
        check(&typical, &["--fail-on", "never", "--min-score", "80"]),
        0
    );
    // Critical findings in the typical year, so even --fail-on critical fails it.
    assert_eq!(check(&typical, &["--fail-on", "critical"]), 1);
    assert_eq!(check(&exemplary, &["--fail-on", "info"]), 0);
    // A bar that is not a number is a bad argument, not a bar nothing meets.
    assert_eq!(check(&exemplary, &["--min-score", "NaN"]), 2);
    assert_eq!(check(&exemplary, &["--min-score", "-1"]), 0);
}

#[test]
fn broken_submission_reports_each_builtin_finding_and_still_scores_the_good_records() {
    let (report, r) = json_report("broken", &[]);
    assert_eq!(r.code, 1);
    assert_valid_report(&report);
    let find = |rule: &str| -> Vec<&Value> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == rule)
            .collect()
    };
    let parse = find("YS-PARSE");
    assert_eq!(parse.len(), 1);
    assert_eq!(parse[0]["record"]["file"], "cases/b-002.yaml");
    assert_eq!(parse[0]["record"]["line"], 6);
    assert!(parse[0]["record"]["column"].as_u64().is_some());
    assert_eq!(
        find("YS-DUPLICATE-ID")[0]["record"]["file"],
        "cases/b-003.yaml"
    );
    // Each schema finding is placed on the line of the field it is about.
    let pointers: Vec<(&str, u64)> = find("YS-SCHEMA")
        .iter()
        .map(|f| {
            (
                f["record"]["pointer"].as_str().unwrap(),
                f["record"]["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pointers,
        vec![("/intake/date", 7), ("/closure/satisfaction", 8)]
    );
    assert_eq!(find("YS-UNKNOWN-KIND")[0]["record"]["file"], "visits.yaml");
    assert_eq!(find("YS-PERIOD")[0]["record"]["id"], "a-002");
    // The two records claiming the id b-001 count once, as the worse of the two: the copy's
    // unreadable intake date makes the consent rule an error for the id, though b-001 passes.
    let consent = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "CM-INT-01")
        .unwrap();
    assert_eq!(
        (consent["applicable"].as_u64(), consent["error"].as_u64()),
        (Some(1), Some(1))
    );
    // Read: b-001, b-003, v-001, a-001, a-002; scored: b-001, b-003 and a-001.
    assert_eq!(report["summary"]["records"], 5);
    assert_eq!(report["summary"]["records_evaluated"], 3);
}

#[test]
fn the_json_report_is_byte_identical_from_run_to_run_and_folder_to_folder() {
    let a = run(&["check", &fixture("typical"), "--format", "json"]).stdout;
    let b = yardstick()
        .current_dir(root().join("fixtures"))
        .args(["check", "elderly-care/typical", "--format", "json"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(a.as_bytes(), b.as_slice());
    assert_eq!(
        a,
        run(&["report", &fixture("typical"), "--format", "json"]).stdout
    );
}

#[test]
fn json_reports_of_the_fixtures_match_their_snapshots() {
    for name in ["exemplary", "typical", "broken", "failing", "edge-cases"] {
        let sub = with_contract(name);
        let mut args: Vec<&str> = vec!["check"];
        args.extend(sub.iter().map(String::as_str));
        args.extend(["--format", "json"]);
        let r = run(&args);
        insta::assert_snapshot!(format!("report-{name}.json"), r.stdout);
    }
}

#[test]
fn text_report_of_the_typical_year_matches_its_snapshot() {
    let sub = with_contract("typical");
    let mut args: Vec<&str> = vec!["report"];
    args.extend(sub.iter().map(String::as_str));
    let mut en = args.clone();
    en.extend(["--lang", "en"]);
    let r = run(&en);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("report-typical.txt", r.stdout);
    let zh = run(&args);
    assert!(zh.stdout.contains("等级: 良好"), "{}", zh.stdout);
    assert!(zh.stdout.contains("评估方指定"), "{}", zh.stdout);
}

#[test]
fn personal_data_never_reaches_any_output() {
    let sub = fixture("typical");
    // Values from the typical fixture's personal fields and from a session note.
    let personal = [
        "陈秀英",
        "黄志明",
        "13800000001",
        "13926541234",
        "刘晓燕",
        "王丽",
    ];
    for args in [
        vec!["check", sub.as_str(), "--format", "json"],
        vec!["check", sub.as_str()],
        vec!["report", sub.as_str()],
        vec!["report", sub.as_str(), "--lang", "en"],
    ] {
        let r = run(&args);
        for p in personal {
            assert!(!r.stdout.contains(p), "{p} shown by {args:?}");
        }
    }
}

#[test]
fn a_standard_whose_expression_does_not_compile_is_refused_with_exit_2_naming_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "id: bad\nversion: 1.0.0\ntitle: Bad\ngrades: [{id: f, min: 0, title: F}]\nsections:\n  - id: s\n    title: S\n    rules:\n      - {id: BD-S-01, title: t, applies_to: case, assert: \"record.x ==\", message: m, severity: minor, points: 1}\n",
    )
    .unwrap();
    let r = run(&[
        "check",
        &fixture("exemplary"),
        "--standard",
        path.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("BD-S-01"), "{}", r.stderr);
    assert!(r.stderr.contains("bad.yaml:9"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let lint = run(&["standards", "lint", path.to_str().unwrap()]);
    assert_eq!(lint.code, 2);
    assert!(lint.stderr.contains("BD-S-01"), "{}", lint.stderr);
}

#[test]
fn invalid_standards_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("dup", "sections:\n  - id: s\n    title: S\n    rules:\n      - {id: X-S-01, title: t, applies_to: case, assert: 'true', message: m, severity: minor, points: 1}\n      - {id: X-S-01, title: t, applies_to: case, assert: 'true', message: m, severity: minor, points: 1}\n", "duplicate id"),
        ("kind", "sections:\n  - id: s\n    title: S\n    rules:\n      - {id: X-S-01, title: t, applies_to: visit, assert: 'true', message: m, severity: minor, points: 1}\n", "unknown record kind 'visit'"),
        ("order", "grades: [{id: lo, min: 0, title: L}, {id: hi, min: 90, title: H}]\n", "grades out of order"),
        ("key", "colour: blue\n", "colour"),
        ("param", "sections:\n  - id: s\n    title: S\n    rules:\n      - {id: X-S-01, title: t, applies_to: case, assert: 'record.a < params.nope', message: m, severity: minor, points: 1}\n", "params.nope"),
        ("cycle", "extends: [cycle]\n", "cycle"),
    ];
    for (id, body, expected) in cases {
        let grades = if body.starts_with("grades") {
            ""
        } else {
            "grades: [{id: f, min: 0, title: F}]\n"
        };
        let text = format!("id: {id}\nversion: 1.0.0\ntitle: T\n{grades}{body}");
        let path = dir.path().join(format!("{id}.yaml"));
        std::fs::write(&path, text).unwrap();
        let r = run(&["standards", "lint", path.to_str().unwrap()]);
        assert_eq!(r.code, 2, "{id}: {}", r.stderr);
        assert!(
            r.stderr.contains(expected),
            "{id}: expected '{expected}' in {}",
            r.stderr
        );
    }
}

#[test]
fn unknown_standards_and_bad_arguments_exit_2() {
    let r = run(&[
        "check",
        &fixture("exemplary"),
        "--standard",
        "no-such-guide",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no-such-guide"));
    assert_eq!(run(&["check"]).code, 2);
    assert_eq!(
        run(&["check", &fixture("typical"), "--format", "yaml"]).code,
        2
    );
    assert_eq!(run(&["frobnicate"]).code, 2);
    let r = run(&["check", "no/such/submission", "--standard", "elderly-care"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no/such/submission"), "{}", r.stderr);
}

#[test]
fn report_output_is_written_by_rename_and_never_over_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let r = run(&[
        "report",
        &fixture("exemplary"),
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written["summary"]["grade"]["id"], "excellent");
    assert!(r.stdout.is_empty());

    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    for f in ["submission.yaml", "staff.yaml"] {
        std::fs::copy(Path::new(&fixture("exemplary")).join(f), sub.join(f)).unwrap();
    }
    let input = sub.join("staff.yaml");
    let before = std::fs::read(&input).unwrap();
    let r = run(&[
        "report",
        sub.to_str().unwrap(),
        "-o",
        input.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("over an input"), "{}", r.stderr);
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

#[test]
fn a_users_template_renders_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("mine.j2");
    std::fs::write(
        &t,
        "{{ standard.id }} {{ summary.score|num }} {{ summary.grade.id }} {{ findings|length }}\n",
    )
    .unwrap();
    let sub = with_contract("exemplary");
    let mut args: Vec<&str> = vec!["report"];
    args.extend(sub.iter().map(String::as_str));
    args.extend(["--template", t.to_str().unwrap()]);
    let r = run(&args);
    assert_eq!(
        r.stdout, "elderly-care 100.00 excellent 0\n",
        "{}",
        r.stderr
    );
}

#[test]
fn standards_commands_list_show_lint_schema_and_explain() {
    let list = run(&["standards", "list"]);
    assert!(
        list.stdout.contains("elderly-care") && list.stdout.contains("common"),
        "{}",
        list.stdout
    );
    let show = run(&["standards", "show", "elderly-care", "--lang", "en"]);
    assert!(show.stdout.contains("EC-RSK-01") && show.stdout.contains("assessment_working_days"));
    let lint = run(&[
        "standards",
        "lint",
        "standards/common.yaml",
        "standards/elderly-care.yaml",
    ]);
    assert_eq!(lint.code, 0, "{}", lint.stderr);
    let schema = run(&["standards", "schema", "case", "--standard", "elderly-care"]);
    let v: Value = serde_json::from_str(&schema.stdout).unwrap();
    assert_eq!(v["allOf"].as_array().unwrap().len(), 2);
    assert_eq!(run(&["standards", "schema", "visit"]).code, 2);
    let explain = run(&["explain", "EC-RSK-01", "--lang", "en"]);
    assert!(
        explain.stdout.contains("GB 38600-2019 ch. 5"),
        "{}",
        explain.stdout
    );
    assert!(explain.stdout.contains("veto"));
    assert_eq!(run(&["explain", "XX-NO-99"]).code, 2);
}

#[test]
fn single_record_files_can_be_checked_with_a_named_standard() {
    let file = Path::new(&fixture("exemplary")).join("cases/e-002.yaml");
    let r = run(&[
        "check",
        file.to_str().unwrap(),
        "--standard",
        "elderly-care",
        "--format",
        "json",
        "--fail-on",
        "never",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["summary"]["records"], 1);
    let r = run(&["check", file.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--standard"), "{}", r.stderr);
}

#[test]
fn a_standards_folder_adds_a_guide_that_extends_a_shipped_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pilot.yaml"),
        "id: pilot\nversion: 0.1.0\ntitle: {zh: 试点, en: Pilot}\nextends: [elderly-care]\nremove: [EC-SAF-02]\n\
         parameters: {min_training_hours: {default: 40, description: {zh: 培训时数, en: training hours}}}\n",
    )
    .unwrap();
    let folder = dir.path().to_str().unwrap();
    let list = run(&["--standards", folder, "standards", "list"]);
    assert!(list.stdout.contains("pilot"), "{}", list.stdout);
    // The exemplary contract's targets, in a profile for the pilot.
    let profile = dir.path().join("pilot-contract.yaml");
    std::fs::write(
        &profile,
        "standard: pilot\nparameters: {target_cases: 5, target_participants: 280}\n",
    )
    .unwrap();
    let r = run(&[
        "check",
        &fixture("exemplary"),
        "--format",
        "json",
        "--standards",
        folder,
        "--standard",
        "pilot",
        "--profile",
        profile.to_str().unwrap(),
    ]);
    let report: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}\n{}", r.stderr));
    // CM-STF-01 is minor, under the default --fail-on major.
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(report["standard"]["id"], "pilot");
    assert!(report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["id"] != "EC-SAF-02"));
    // With 40 training hours required, the exemplary social worker falls short (the guide's
    // training minimum applies to social-work roles only).
    let training = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "CM-STF-01")
        .unwrap();
    assert_eq!(training["fail"], 1);
}

#[test]
fn hostile_files_become_findings_and_never_stop_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path();
    std::fs::write(
        sub.join("submission.yaml"),
        "standard: elderly-care\nperiod: {start: 2025-01-01, end: 2025-12-31}\n",
    )
    .unwrap();
    std::fs::create_dir(sub.join("cases")).unwrap();
    let deep = "[".repeat(5000);
    let files: &[(&str, &[u8])] = &[
        ("cases/empty.yaml", b""),
        ("cases/scalar.yaml", b"just a sentence\n"),
        ("cases/list-of-numbers.yaml", b"- 1\n- 2\n"),
        ("cases/binary.yaml", &[0xff, 0xfe, 0x00, 0x41, 0x80]),
        ("cases/aliases.yaml", b"a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f]\n"),
        ("cases/deep.json", deep.as_bytes()),
        ("cases/tab.yaml", b"id: t\n\tbad: indent\n"),
        ("cases/ok.yaml", b"id: ok-1\nworker: {id: s}\nclient: {id: c}\nintake: {date: 2025-03-03, consent: true}\n"),
        ("requests.jsonl", b"{\"id\": \"r1\", \"received_at\": \"2025-03-01 09:00\", \"status\": \"open\"}\nnot json\n\n"),
        ("notes.txt", b"ignored"),
    ];
    for (name, bytes) in files {
        std::fs::write(sub.join(name), bytes).unwrap();
    }
    let (report, r) = json_report(sub.to_str().unwrap(), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_valid_report(&report);
    let parse_files: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "YS-PARSE")
        .map(|f| f["record"]["file"].as_str().unwrap())
        .collect();
    for name in [
        "cases/scalar.yaml",
        "cases/list-of-numbers.yaml",
        "cases/binary.yaml",
        "cases/aliases.yaml",
        "cases/deep.json",
        "cases/tab.yaml",
        "requests.jsonl",
    ] {
        assert!(
            parse_files.contains(&name),
            "{name} not reported: {parse_files:?}"
        );
    }
    // The good case and the good request line were still read and scored.
    assert_eq!(report["summary"]["records"], 2);
    let consent = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "CM-INT-01")
        .unwrap();
    assert_eq!(consent["pass"], 1);
}

fn findings_of<'a>(report: &'a Value, id: &str) -> Vec<(&'a str, &'a str)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["record"]["id"] == id)
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["record"]["pointer"].as_str().unwrap_or(""),
            )
        })
        .collect()
}

#[test]
fn the_edge_cases_an_evaluator_raised_each_behave_as_the_contract_says() {
    let (report, _) = json_report("edge-cases", &["--lang", "en"]);
    assert_valid_report(&report);
    // x-001, admitted 2019 and still resident: judged only on what fell due in 2025, all met.
    assert_eq!(findings_of(&report, "x-001"), vec![]);
    // x-009, admitted 2019 at high risk of harm, whose crisis plan came late and whose session
    // note held a phone number, both in 2019: not judged again in 2025.
    assert_eq!(findings_of(&report, "x-009"), vec![]);
    // x-010, closed on 2024-12-20 and never followed up: the follow-up fell due in 2025, so the
    // case stays in the period for it, and only for it.
    assert_eq!(
        findings_of(&report, "x-010"),
        vec![("CM-CLS-04", "/closure/follow_up_date")]
    );
    // x-002, admitted 2024 without a risk assessment: no veto of the 2025 contract.
    assert_eq!(report["summary"]["vetoed_by"], serde_json::json!([]));
    assert_eq!(findings_of(&report, "x-002"), vec![]);
    // x-003, a resident who died: no sessions, satisfaction or follow-up asked of the closure.
    assert_eq!(findings_of(&report, "x-003"), vec![]);
    // x-004, written with Chinese labels: read as the codes, so no schema finding.
    assert_eq!(findings_of(&report, "x-004"), vec![]);
    // x-005 to x-007, one client under three case ids: counted once among clients served.
    let served = report["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "CM-IND-02")
        .unwrap();
    assert_eq!(served["measure"], "distinct");
    // Clients served in the period: x-005 to x-007 are one, and x-010 closed before it.
    assert_eq!(served["value"], 7.0);
    // x-008, a fall under a misspelt key: a finding that names the key and the right one.
    assert_eq!(
        findings_of(&report, "x-008"),
        vec![("YS-UNKNOWN-FIELD", "/incident")]
    );
    let typo = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "YS-UNKNOWN-FIELD")
        .unwrap();
    assert!(
        typo["message"].as_str().unwrap().contains("'incidents'"),
        "{typo}"
    );
    // No 2019 deadline is judged, so no working day of 2019 is counted, and no note is needed.
    assert_eq!(report["notes"], serde_json::json!([]));
}

#[test]
fn a_submission_without_patrols_staff_or_activities_is_not_excellent_and_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    common::copy_dir(Path::new(&fixture("exemplary")), &sub);
    let profile = "fixtures/elderly-care/exemplary-contract.yaml";
    let (full, _) = {
        let r = run(&[
            "check",
            sub.to_str().unwrap(),
            "--profile",
            profile,
            "--format",
            "json",
        ]);
        (serde_json::from_str::<Value>(&r.stdout).unwrap(), r)
    };
    assert_eq!(full["summary"]["grade"]["id"], "excellent");
    for entry in std::fs::read_dir(&sub).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if ["patrol", "staff", "activit", "programme"]
            .iter()
            .any(|k| name.starts_with(k))
        {
            std::fs::remove_file(&path).unwrap();
        }
    }
    let r = run(&[
        "check",
        sub.to_str().unwrap(),
        "--profile",
        profile,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_ne!(report["summary"]["grade"]["id"], "excellent");
    let missing: Vec<&str> = report["missing_evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(missing, vec!["activity", "patrol", "staff"]);
    let evidence = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "YS-MISSING-EVIDENCE")
        .count();
    assert_eq!(evidence, 3);
    let text = run(&["report", sub.to_str().unwrap(), "--profile", profile]).stdout;
    assert!(text.contains("缺少的证据"), "{text}");
}

/// A copy of the exemplary submission with one file's text changed.
fn exemplary_with(file: &str, from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    common::copy_dir(Path::new(&fixture("exemplary")), &sub);
    let path = sub.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
    dir
}

fn exemplary_score(dir: &tempfile::TempDir) -> (f64, Value) {
    let r = run(&[
        "check",
        dir.path().join("sub").to_str().unwrap(),
        "--profile",
        "fixtures/elderly-care/exemplary-contract.yaml",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    (report["summary"]["score"].as_f64().unwrap(), report)
}

#[test]
fn leaving_a_bad_result_out_of_the_file_does_not_raise_the_score() {
    let closure = "outcome: achieved, satisfaction: 5,";
    let told = exemplary_with(
        "cases/e-002.yaml",
        closure,
        "outcome: not_achieved, satisfaction: 1,",
    );
    let left_out = exemplary_with("cases/e-002.yaml", closure, "");
    let (told, _) = exemplary_score(&told);
    let (left_out, _) = exemplary_score(&left_out);
    assert!(left_out <= told, "left out {left_out} > told {told}");
}

#[test]
fn a_case_without_an_intake_date_cannot_escape_the_admission_veto() {
    let dir = exemplary_with(
        "cases/e-002.yaml",
        "intake: {date: 2025-02-10, ",
        "intake: {",
    );
    let (_, report) = exemplary_score(&dir);
    assert_eq!(
        report["summary"]["vetoed_by"],
        serde_json::json!(["EC-RSK-01"])
    );
}

#[test]
fn explain_passes_over_a_broken_guide_in_a_standards_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aaa-broken.yaml"),
        "id: aaa-broken\nversion: 0.1.0\ntitle: {zh: 坏, en: broken, really}\nextends: [common]\n",
    )
    .unwrap();
    let folder = dir.path().to_str().unwrap();
    let found = run(&[
        "--standards",
        folder,
        "explain",
        "EC-RSK-01",
        "--lang",
        "en",
    ]);
    assert_eq!(found.code, 0, "{}", found.stderr);
    assert!(found.stdout.contains("EC-RSK-01"), "{}", found.stdout);
    let missing = run(&["--standards", folder, "explain", "XX-NO-99"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("aaa-broken"), "{}", missing.stderr);
}
