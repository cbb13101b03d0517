//! An organisation cannot change its score from its own folder: every fixture whose contract
//! profile ships beside it (`fixtures/<standard>/<name>-contract.yaml`) is scored once as handed
//! in, and once with every parameter and waiver of its contract copied into its own manifest
//! (plus targets lowered to nothing), without the profile. Both give the same score; the second
//! says why, with a YS-MANIFEST finding for each parameter it tried to set.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn check(sub: &Path, extra: &[&str]) -> Value {
    let out = Command::cargo_bin("yardstick")
        .unwrap()
        .arg("check")
        .arg(sub)
        .args(["--format", "json", "--fail-on", "never"])
        .args(extra)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn moving_a_contracts_parameters_and_waivers_into_the_manifest_moves_no_score() {
    let fixtures: Vec<(PathBuf, PathBuf)> = common::fixture_submissions()
        .into_iter()
        .filter_map(|(sub, contract)| Some((sub, contract?)))
        .collect();
    assert!(!fixtures.is_empty(), "no fixture ships a contract profile");
    for (folder, contract) in fixtures {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        common::copy_dir(&folder, &sub);
        let handed_in = check(&sub, &[]);

        let profile = yaml(&contract);
        let original_manifest = yaml(&sub.join("submission.yaml"));
        let mut manifest = original_manifest.clone();
        let params = manifest
            .as_object_mut()
            .unwrap()
            .entry("parameters")
            .or_insert_with(|| Value::Object(Default::default()));
        let mut tried: usize = 0;
        for (k, v) in profile["parameters"].as_object().into_iter().flatten() {
            params[k.as_str()] = v.clone();
            tried += 1;
        }
        // Every target and limit the standard has, lowered to nothing.
        for (k, p) in handed_in["parameters"].as_object().unwrap() {
            if p["source"] == "standard" && p["value"].is_number() {
                params[k.as_str()] = Value::from(0);
                tried += 1;
            }
        }
        let mut waivers: Vec<Value> = profile["waivers"].as_array().cloned().unwrap_or_default();
        waivers.push(
            serde_json::json!({"rule": "*", "reason": "we approve ourselves", "approved_by": "us"}),
        );
        manifest["waivers"] = Value::from(waivers);
        let write = |m: &Value| {
            std::fs::write(
                sub.join("submission.yaml"),
                serde_json::to_string_pretty(m).unwrap(),
            )
            .unwrap()
        };
        write(&manifest);
        // Facts the standard lets the organisation declare are its to state: keep those as
        // handed in, and tamper with everything else.
        let first = check(&sub, &[]);
        for (k, p) in first["parameters"].as_object().unwrap() {
            if p["source"] == "declared" {
                match original_manifest["parameters"].get(k) {
                    Some(v) => manifest["parameters"][k.as_str()] = v.clone(),
                    None => {
                        manifest["parameters"].as_object_mut().unwrap().remove(k);
                    }
                }
                tried = tried.saturating_sub(1);
            }
        }
        write(&manifest);
        let tampered = check(&sub, &[]);

        assert_eq!(
            tampered["summary"]["score"],
            handed_in["summary"]["score"],
            "{}: the organisation moved its score",
            folder.display()
        );
        assert_eq!(tampered["summary"]["results"]["waived"], 0);
        let refused = tampered["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "YS-MANIFEST" && f["severity"] == "major")
            .count();
        assert!(
            refused >= tried.min(1),
            "{}: {refused} YS-MANIFEST findings for {tried} parameters",
            folder.display()
        );
        assert!(!tampered["waiver_requests"].as_array().unwrap().is_empty());

        // The evaluator's profile is what moves it, and the report says so.
        let scored = check(&sub, &["--profile", contract.to_str().unwrap()]);
        assert_eq!(scored["standard"]["profile"]["source"], "command_line");
        let original = check(&folder, &["--profile", contract.to_str().unwrap()]);
        assert_eq!(
            scored["summary"]["score"],
            original["summary"]["score"],
            "{}",
            folder.display()
        );
    }
}
