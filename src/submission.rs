//! A submission: the manifest (`submission.yaml`) and the record files found beside it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::finding::{builtin, Finding, FindingStatus, Location};
use crate::records::{self, FileRead, Format};
use crate::standard::Severity;

/// The manifest's file names, in the order they are looked for.
pub const MANIFEST_NAMES: &[&str] = &["submission.yaml", "submission.yml"];

/// A waiver as written in a manifest or profile.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// A rule id (glob patterns allowed).
    pub rule: String,
    /// The record ids it covers; none listed means every record.
    #[serde(default)]
    pub records: Vec<String>,
    pub reason: String,
    pub approved_by: String,
    #[serde(default)]
    pub expires: Option<String>,
}

/// The period a submission covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: Date,
    pub end: Date,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPeriod {
    pub start: Option<String>,
    pub end: Option<String>,
}

/// `submission.yaml` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub organisation: Option<Value>,
    #[serde(default)]
    pub contract: Option<Value>,
    #[serde(default)]
    pub standard: Option<String>,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub period: Option<RawPeriod>,
    #[serde(default)]
    pub calendar: Option<String>,
    #[serde(default)]
    pub parameters: BTreeMap<String, Value>,
    #[serde(default)]
    pub waivers: Vec<Waiver>,
}

/// What was found at the paths given: the manifest, the record files read, and the findings
/// about the manifest itself.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The submission folder, when one was given.
    pub root: Option<PathBuf>,
    pub manifest: Manifest,
    /// The manifest file as shown in reports, with its SHA-256.
    pub manifest_file: Option<(String, String)>,
    pub period: Option<Period>,
    pub files: Vec<FileRead>,
    pub findings: Vec<Finding>,
}

pub(crate) fn manifest_finding(
    file: &str,
    line: u64,
    column: u64,
    rule: &str,
    message: String,
) -> Finding {
    Finding {
        rule: rule.to_string(),
        severity: Severity::Major,
        status: FindingStatus::Fail,
        record: Location {
            file: Some(file.to_string()),
            line: (line > 0).then_some(line),
            column: (column > 0).then_some(column),
            ..Location::default()
        },
        message,
    }
}

fn shown(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|c| c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn is_skipped(name: &str) -> bool {
    name.starts_with('.') || name == "target"
}

impl Submission {
    /// Opens the paths given: at most one submission folder (with its manifest) and any number
    /// of single record files. Unreadable files become findings; only a layout that cannot be a
    /// submission is an error.
    pub fn open(paths: &[PathBuf]) -> Result<Submission> {
        if paths.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "no submission folder or record file given",
            ));
        }
        let folders: Vec<&PathBuf> = paths.iter().filter(|p| p.is_dir()).collect();
        if folders.len() > 1 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "more than one submission folder given: check one submission at a time",
            ));
        }
        let root = folders.first().map(|p| p.to_path_buf());
        let mut sub = Submission {
            root: root.clone(),
            manifest: Manifest::default(),
            manifest_file: None,
            period: None,
            files: Vec::new(),
            findings: Vec::new(),
        };
        let mut skip: Vec<PathBuf> = Vec::new();
        if let Some(root) = &root {
            match MANIFEST_NAMES
                .iter()
                .map(|n| root.join(n))
                .find(|p| p.is_file())
            {
                Some(path) => {
                    sub.read_manifest(
                        &path,
                        MANIFEST_NAMES
                            .iter()
                            .find(|n| root.join(n) == path)
                            .copied()
                            .unwrap_or("submission.yaml"),
                    );
                    skip.push(path);
                    if let Some(profile) = &sub.manifest.profile {
                        skip.push(root.join(profile));
                    }
                }
                None => sub.findings.push(manifest_finding(
                    "submission.yaml",
                    0,
                    0,
                    builtin::MANIFEST,
                    format!(
                        "the submission folder {} has no submission.yaml manifest",
                        root.display()
                    ),
                )),
            }
        }
        let mut found: Vec<(PathBuf, String)> = Vec::new();
        for path in paths {
            if path.is_dir() {
                let walker = walkdir::WalkDir::new(path)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_entry(|e| {
                        e.depth() == 0 || !is_skipped(&e.file_name().to_string_lossy())
                    });
                for entry in walker {
                    let entry = match entry {
                        Ok(e) => e,
                        Err(e) => {
                            let at = e.path().map(shown).unwrap_or_else(|| shown(path));
                            sub.findings.push(manifest_finding(
                                &at,
                                0,
                                0,
                                builtin::PARSE,
                                format!("cannot read: {e}"),
                            ));
                            continue;
                        }
                    };
                    if entry.file_type().is_file()
                        && !skip.iter().any(|s| same_file(s, entry.path()))
                    {
                        let rel = entry.path().strip_prefix(path).unwrap_or(entry.path());
                        found.push((entry.path().to_path_buf(), shown(rel)));
                    }
                }
            } else if path.is_file() {
                found.push((path.clone(), shown(path)));
            } else {
                sub.findings.push(manifest_finding(
                    &shown(path),
                    0,
                    0,
                    builtin::PARSE,
                    "no such file or folder".to_string(),
                ));
            }
        }
        found.sort_by(|a, b| a.1.cmp(&b.1));
        found.dedup_by(|a, b| a.1 == b.1);
        for (path, name) in found {
            if let Some(format) = Format::of(&path) {
                sub.files.push(records::read_file(&path, &name, format));
            }
        }
        Ok(sub)
    }

    fn read_manifest(&mut self, path: &Path, name: &str) {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                self.findings.push(manifest_finding(
                    name,
                    0,
                    0,
                    builtin::PARSE,
                    format!("cannot read the manifest: {e}"),
                ));
                return;
            }
        };
        self.manifest_file = Some((name.to_string(), records::sha256(&bytes)));
        let text = String::from_utf8_lossy(&bytes);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        match serde_saphyr::from_str_with_options::<Manifest>(text, records::yaml_options()) {
            Ok(m) => self.manifest = m,
            Err(e) => {
                let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                self.findings.push(manifest_finding(
                    name,
                    line,
                    column,
                    builtin::PARSE,
                    format!("the manifest cannot be read: {}", e.without_snippet()),
                ));
                return;
            }
        }
        if let Some(raw) = &self.manifest.period {
            let read = |v: &Option<String>, which: &str| -> std::result::Result<Date, String> {
                let text = v
                    .as_deref()
                    .ok_or_else(|| format!("period.{which} is missing"))?;
                crate::expr::dates::parse(text)
                    .map(|w| w.date())
                    .map_err(|e| format!("period.{which}: {e}"))
            };
            match (read(&raw.start, "start"), read(&raw.end, "end")) {
                (Ok(start), Ok(end)) if start <= end => self.period = Some(Period { start, end }),
                (Ok(start), Ok(end)) => self.findings.push(manifest_finding(
                    name,
                    0,
                    0,
                    builtin::MANIFEST,
                    format!("the period ends ({end}) before it starts ({start})"),
                )),
                (Err(e), _) | (_, Err(e)) => {
                    self.findings
                        .push(manifest_finding(name, 0, 0, builtin::MANIFEST, e))
                }
            }
        } else {
            self.findings.push(manifest_finding(
                name, 0, 0, builtin::MANIFEST,
                "the manifest gives no period: records cannot be checked against it, and rules have no 'today'".to_string(),
            ));
        }
    }

    /// The manifest's file name as shown, for findings about it.
    pub fn manifest_name(&self) -> String {
        self.manifest_file
            .as_ref()
            .map_or_else(|| "submission.yaml".to_string(), |(n, _)| n.clone())
    }

    /// A path the manifest names, taken relative to the submission folder.
    pub fn resolve_path(&self, path: &str) -> PathBuf {
        match &self.root {
            Some(root) => root.join(path),
            None => PathBuf::from(path),
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
