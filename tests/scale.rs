//! A submission judged in shards (`yardstick partial --shard K/N`) and merged (`yardstick
//! merge`) gives the same output, byte for byte, and the same exit status as one `check` over
//! all of it; partials that do not belong together are refused.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn yardstick() -> Command {
    Command::cargo_bin("yardstick").unwrap()
}

/// `check`'s JSON output and exit status.
fn check(sub: &Path, extra: &[&str]) -> (Vec<u8>, Option<i32>) {
    let out = yardstick()
        .arg("check")
        .arg(sub)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    (out.stdout, out.status.code())
}

/// The partials of `count` shards, written to `dir`.
fn partials(sub: &Path, count: usize, dir: &Path, extra: &[&str]) -> Vec<PathBuf> {
    (1..=count)
        .map(|k| {
            let out = dir.join(format!("part-{k}-of-{count}.jsonl"));
            yardstick()
                .arg("partial")
                .arg(sub)
                .args(["--shard", &format!("{k}/{count}"), "-o"])
                .arg(&out)
                .args(extra)
                .assert()
                .success();
            out
        })
        .collect()
}

fn merge(sub: &Path, parts: &[PathBuf], extra: &[&str]) -> std::process::Output {
    yardstick()
        .arg("merge")
        .arg(sub)
        .arg("--partial")
        .args(parts)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn merged_shards_give_the_byte_identical_check_of_one_run() {
    let dir = tempfile::tempdir().unwrap();
    // A typical year, plus a copy of one case file in the last folder: the same id in the first
    // and the last shard, so the merge must settle a duplicate that no shard saw.
    let sub = dir.path().join("sub");
    common::copy_dir(Path::new("fixtures/elderly-care/typical"), &sub);
    std::fs::create_dir_all(sub.join("zz-copies")).unwrap();
    std::fs::copy(
        "fixtures/elderly-care/typical/cases/t-001.yaml",
        sub.join("zz-copies/t-001.yaml"),
    )
    .unwrap();
    let contract = "fixtures/elderly-care/typical-contract.yaml";
    for (folder, extra) in [
        (sub.as_path(), vec!["--profile", contract]),
        (Path::new("fixtures/elderly-care/edge-cases"), vec![]),
        (Path::new("fixtures/community/typical"), vec![]),
    ] {
        let (one, status) = check(folder, &extra);
        assert!(!one.is_empty());
        for count in [1, 2, 3, 7] {
            let parts_dir = tempfile::tempdir().unwrap();
            let mut parts = partials(folder, count, parts_dir.path(), &extra);
            parts.reverse(); // any order
            let merged = merge(folder, &parts, &extra);
            assert_eq!(
                String::from_utf8_lossy(&merged.stdout),
                String::from_utf8_lossy(&one),
                "{} in {count} shards",
                folder.display()
            );
            assert_eq!(merged.status.code(), status);
        }
    }
    let (one, _) = check(&sub, &["--profile", contract]);
    assert!(
        String::from_utf8_lossy(&one).contains("YS-DUPLICATE-ID"),
        "the copy is a duplicate"
    );
}

#[test]
fn partials_that_do_not_belong_together_are_refused() {
    let sub = Path::new("fixtures/elderly-care/typical");
    let contract = "fixtures/elderly-care/typical-contract.yaml";
    let dir = tempfile::tempdir().unwrap();
    let with_contract = partials(
        sub,
        2,
        &mkdir(dir.path().join("a")),
        &["--profile", contract],
    );
    let without = partials(sub, 2, &mkdir(dir.path().join("b")), &[]);
    let refused = |parts: &[PathBuf], extra: &[&str], why: &str| {
        let out = merge(sub, parts, extra);
        assert_eq!(out.status.code(), Some(2), "{why}");
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.stdout.is_empty(), "{why}: {err}");
        err
    };
    // Made with another profile than the merge's.
    let err = refused(&with_contract, &[], "another profile");
    assert!(err.contains("other parameters"), "{err}");
    // A shard missing, or given twice.
    refused(
        &with_contract[..1],
        &["--profile", contract],
        "a shard missing",
    );
    refused(
        &[with_contract[0].clone(), with_contract[0].clone()],
        &["--profile", contract],
        "a shard twice",
    );
    // Shards of two different runs do not mix either when their tailoring differs.
    refused(
        &[with_contract[0].clone(), without[1].clone()],
        &["--profile", contract],
        "mixed runs",
    );
    // A partial cut short (its run did not finish).
    let text = std::fs::read_to_string(&without[1]).unwrap();
    let cut = dir.path().join("cut.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&cut, lines[..lines.len() - 1].join("\n")).unwrap();
    let err = refused(&[without[0].clone(), cut], &[], "cut short");
    assert!(err.contains("incomplete"), "{err}");
    // Not a partial at all.
    let err = refused(
        &[without[0].clone(), PathBuf::from(contract)],
        &[],
        "not a partial",
    );
    assert!(err.contains("not a partial"), "{err}");
}

#[test]
fn a_partial_is_never_written_into_the_submission_folder() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    common::copy_dir(Path::new("fixtures/requests/typical"), &sub);
    let out = yardstick()
        .arg("partial")
        .arg(&sub)
        .args(["--shard", "1/1", "-o"])
        .arg(sub.join("part.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!sub.join("part.jsonl").exists());
}

fn mkdir(path: PathBuf) -> PathBuf {
    std::fs::create_dir_all(&path).unwrap();
    path
}

#[test]
fn a_damaged_partial_is_refused_or_read_never_a_crash() {
    let sub = Path::new("fixtures/elderly-care/edge-cases");
    let dir = tempfile::tempdir().unwrap();
    let parts = partials(sub, 2, dir.path(), &[]);
    let text = std::fs::read_to_string(&parts[1]).unwrap();
    for (what, damaged) in [
        (
            "a kind no standard has",
            text.replace("\"kind\":0", "\"kind\":999"),
        ),
        (
            "a file beyond the list",
            text.replace("\"file\":", "\"file\":9999"),
        ),
        ("a cut line", text.replacen("{\"unit\"", "{\"unit", 1)),
    ] {
        std::fs::write(&parts[1], &damaged).unwrap();
        let out = merge(sub, &parts, &[]);
        assert!(
            matches!(out.status.code(), Some(0..=2)),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_duplicate_id_points_at_the_line_of_its_id_in_one_run_and_in_a_merge() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    common::copy_dir(Path::new("fixtures/requests/typical"), &sub);
    std::fs::create_dir_all(sub.join("requests")).unwrap();
    std::fs::write(
        sub.join("requests/zz.yaml"),
        "- received_at: 2025-03-03 09:00\n  channel: hotline\n  id: t-00a\n",
    )
    .unwrap();
    let (one, _) = check(&sub, &[]);
    let report: serde_json::Value = serde_json::from_slice(&one).unwrap();
    let places: Vec<(String, u64)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "YS-DUPLICATE-ID")
        .map(|f| {
            let r = &f["record"];
            (
                r["file"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(places, vec![("requests/zz.yaml".to_string(), 3)]);
    let parts_dir = tempfile::tempdir().unwrap();
    let parts = partials(&sub, 2, parts_dir.path(), &[]);
    assert_eq!(merge(&sub, &parts, &[]).stdout, one);
}

/// A submission of `copies` times the typical requests, each time under new ids, in one JSON
/// Lines file; the first record also appears twice more under its own id (copies of a record).
fn many_requests(dir: &Path, copies: usize) -> PathBuf {
    let typical = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/requests/typical");
    let sub = mkdir(dir.join("sub"));
    for name in ["submission.yaml", "staff.yaml"] {
        std::fs::copy(typical.join(name), sub.join(name)).unwrap();
    }
    let text = std::fs::read_to_string(typical.join("requests.yaml")).unwrap();
    let records: Vec<serde_json::Value> = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(records.len(), 42);
    let mut out = String::new();
    for k in 0..copies {
        for r in &records {
            let mut r = r.clone();
            let id = r["id"].as_str().unwrap().to_string();
            r["id"] = format!("{id}-{k}").into();
            r["kind"] = "request".into();
            out.push_str(&serde_json::to_string(&r).unwrap());
            out.push('\n');
        }
    }
    for _ in 0..2 {
        let mut r = records[0].clone();
        r["id"] = format!("{}-0", r["id"].as_str().unwrap()).into();
        r["kind"] = "request".into();
        r["satisfaction"] = "dissatisfied".into();
        out.push_str(&serde_json::to_string(&r).unwrap());
        out.push('\n');
    }
    std::fs::write(sub.join("requests.jsonl"), out).unwrap();
    sub
}

#[test]
fn a_run_too_large_to_hold_gives_the_same_report_whether_or_not_it_can_spill_to_disk() {
    let dir = tempfile::tempdir().unwrap();
    // About 25,000 records and 10,000 findings: more than the tally and the findings keep in
    // memory, so both write to a temporary file when they can.
    let sub = many_requests(dir.path(), 600);
    let profile =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/requests/typical-contract.yaml");
    let tmp = mkdir(dir.path().join("tmp"));
    let run = |tmpdir: &Path| {
        let out = yardstick()
            .arg("check")
            .arg(&sub)
            .args(["--format", "json", "--lang", "zh", "--profile"])
            .arg(&profile)
            .env("TMPDIR", tmpdir)
            .output()
            .unwrap();
        (out.stdout, out.status.code())
    };
    let (spilled, code) = run(&tmp);
    // A folder that does not exist: nothing can be written, everything is held in memory.
    let (held, held_code) = run(&dir.path().join("no-such-folder"));
    assert_eq!(code, held_code);
    assert!(spilled == held, "the two reports differ");
    let report: serde_json::Value = serde_json::from_slice(&spilled).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.len() > 8192, "{} findings", findings.len());
    let staff = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/requests/typical/staff.yaml");
    let staff: Vec<serde_json::Value> =
        serde_saphyr::from_str(&std::fs::read_to_string(staff).unwrap()).unwrap();
    assert_eq!(report["summary"]["records"], 42 * 600 + 2 + staff.len());
    // The copies of the first record are one duplicate-id finding each.
    let dups = findings
        .iter()
        .filter(|f| f["rule"] == "YS-DUPLICATE-ID")
        .count();
    assert_eq!(dups, 2);
    // Sorted in report order: by rule first.
    assert!(findings
        .windows(2)
        .all(|w| w[0]["rule"].as_str() <= w[1]["rule"].as_str()));
    // The temporary files are gone with the run.
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

#[test]
fn the_text_reports_of_a_run_too_large_to_hold_read_every_finding_back_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let sub = many_requests(dir.path(), 600);
    let tmp = mkdir(dir.path().join("tmp"));
    let run = |args: &[&str], tmpdir: &Path| {
        let out = yardstick()
            .args(args)
            .arg(&sub)
            .env("TMPDIR", tmpdir)
            .output()
            .unwrap();
        assert!(out.status.code().is_some_and(|c| c < 2), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let json: serde_json::Value =
        serde_json::from_str(&run(&["check", "--format", "json", "--lang", "en"], &tmp)).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert!(findings.len() > 8192, "{} findings", findings.len());

    // `check`'s text: one line a finding, the same whether the findings were spilled or held.
    let check = run(&["check", "--lang", "en"], &tmp);
    let held = run(
        &["check", "--lang", "en"],
        &dir.path().join("no-such-folder"),
    );
    assert!(check == held, "the two texts differ");
    let lines = check.lines().take_while(|l| !l.is_empty()).count();
    assert_eq!(lines, findings.len());

    // The full text report: a heading a rule, with that rule's number of findings.
    let report = run(&["report", "--format", "text", "--lang", "en"], &tmp);
    let mut headings = Vec::new();
    for line in report.lines() {
        if let Some((head, n)) = line.rsplit_once("] × ") {
            let rule = head.split(" [").next().unwrap().to_string();
            headings.push((rule, n.parse::<usize>().unwrap()));
        }
    }
    let mut expected: Vec<(String, usize)> = Vec::new();
    for f in findings {
        let rule = f["rule"].as_str().unwrap();
        match expected.last_mut() {
            Some((r, n)) if r == rule => *n += 1,
            _ => expected.push((rule.to_string(), 1)),
        }
    }
    assert_eq!(headings, expected);

    // A user's template can still index, measure and group the findings.
    let template = dir.path().join("t.j2");
    std::fs::write(
        &template,
        "{{ findings | length }} {{ findings[0].rule }} {{ findings[-1].rule }} \
         {{ findings | groupby('rule') | length }}{% for f in findings %}{% endfor %}\n",
    )
    .unwrap();
    let out = yardstick()
        .args(["report", "--lang", "en", "--template"])
        .arg(&template)
        .arg(&sub)
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        format!(
            "{} {} {} {}\n",
            findings.len(),
            findings[0]["rule"].as_str().unwrap(),
            findings[findings.len() - 1]["rule"].as_str().unwrap(),
            expected.len()
        )
    );
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

#[test]
fn a_reader_that_stops_early_ends_the_text_output_without_an_error() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    // A few thousand findings: far more text than a pipe holds.
    let sub = many_requests(dir.path(), 120);
    for args in [&["check"][..], &["report", "--format", "text"][..]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_yardstick"))
            .args(args)
            .arg(&sub)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The reader is gone, as with `| head -1`.
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!first.is_empty());
        assert!(
            out.status.code().is_some_and(|c| c < 2),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_under_the_text_output_is_an_output_error() {
    let dir = tempfile::tempdir().unwrap();
    let sub = many_requests(dir.path(), 120);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yardstick"))
        .arg("check")
        .arg(&sub)
        .stdout(
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
}
