//! The library as a submission portal embeds it: records handed over in memory score exactly as
//! the same records read from a folder.

use std::path::PathBuf;

use yardstick::{score, Lang, LoadedProfile, ProfileSource, Standard, Submission};

/// The records of a fixture's YAML files, each with its kind named by its file, as a portal
/// would receive them.
fn records_of(folder: &str, files: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for (file, kind) in files {
        let text = std::fs::read_to_string(PathBuf::from(folder).join(file)).unwrap();
        let values: Vec<serde_json::Value> = serde_saphyr::from_str(&text).unwrap();
        for mut v in values {
            v.as_object_mut()
                .unwrap()
                .insert("kind".into(), serde_json::Value::String((*kind).into()));
            out.push(v);
        }
    }
    out
}

#[test]
fn records_in_memory_score_as_the_same_records_read_from_a_folder() {
    let folder = "fixtures/requests/typical";
    let contract = "fixtures/requests/typical-contract.yaml";
    let options = yardstick::Options {
        profile: Some(contract.into()),
        lang: Lang::En,
        ..Default::default()
    };
    let from_folder = yardstick::check(&[folder.into()], &options).unwrap();

    let manifest = std::fs::read_to_string(format!("{folder}/submission.yaml")).unwrap();
    let records = records_of(
        folder,
        &[("requests.yaml", "request"), ("staff.yaml", "staff")],
    );
    let profile = LoadedProfile::parse(
        &std::fs::read_to_string(contract).unwrap(),
        contract,
        ProfileSource::CommandLine,
    )
    .unwrap();
    let standard = Standard::builtin("requests").unwrap();
    let submission = Submission::from_records(&manifest, records);
    let in_memory = score(&standard, &submission, Some(&profile), None, Lang::En).unwrap();

    assert!(from_folder.summary.records > 30);
    assert_eq!(in_memory.summary.records, from_folder.summary.records);
    assert_eq!(in_memory.summary.score, from_folder.summary.score);
    assert_eq!(in_memory.summary.earned, from_folder.summary.earned);
    let tallies = |r: &yardstick::Report| {
        serde_json::to_value(&r.rules)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["id"].clone(),
                    x["pass"].clone(),
                    x["fail"].clone(),
                    x["earned"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(tallies(&in_memory), tallies(&from_folder));
    let rules = |r: &yardstick::Report| {
        let mut v: Vec<(String, Option<String>)> = r
            .findings
            .to_vec()
            .unwrap()
            .iter()
            .map(|f| (f.rule.clone(), f.record.id.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(rules(&in_memory), rules(&from_folder));
    // Findings about a record in memory name its place in the list.
    assert!(in_memory
        .findings
        .to_vec()
        .unwrap()
        .iter()
        .filter(|f| f.record.id.is_some())
        .all(|f| f.record.file.as_deref() == Some(yardstick::IN_MEMORY)));
}

#[test]
fn a_record_in_memory_that_is_not_a_mapping_is_a_finding_with_its_place() {
    let manifest = "standard: requests\nperiod: {start: 2025-01-01, end: 2025-12-31}\n";
    let submission = Submission::from_records(manifest, vec![serde_json::json!([1, 2])]);
    let standard = Standard::builtin("requests").unwrap();
    let report = score(&standard, &submission, None, None, Lang::En).unwrap();
    let findings = report.findings.to_vec().unwrap();
    let parse: Vec<_> = findings
        .iter()
        .filter(|f| f.rule == yardstick::builtin::PARSE)
        .collect();
    assert_eq!(parse.len(), 1, "{findings:?}");
    assert_eq!(parse[0].record.file.as_deref(), Some("records"));
    assert_eq!(parse[0].record.line, Some(1));
}
