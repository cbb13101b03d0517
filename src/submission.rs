//! A submission: the manifest (`submission.yaml`) and the record files found beside it.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::finding::{builtin, Finding};
use crate::manifest::problem;
use crate::records::{self, Format, SourceFile};
use crate::standard::Severity;
use crate::text::Text;

/// The manifest's file names, in the order they are looked for.
pub const MANIFEST_NAMES: &[&str] = &["submission.yaml", "submission.yml"];

pub use crate::manifest::{Manifest, Period, Waiver};

/// What was found at the paths given: the manifest, the record files read, and the findings
/// about the manifest itself.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The submission folder, when one was given.
    pub root: Option<PathBuf>,
    pub manifest: Manifest,
    /// The manifest file as shown in reports, with its SHA-256.
    pub manifest_file: Option<(String, String)>,
    /// The record files found, in path order; they are read as they are evaluated.
    pub files: Vec<SourceFile>,
    /// Records handed over in memory (a portal's), evaluated before the files.
    pub records: Vec<records::Record>,
    pub findings: Vec<Finding>,
}

/// The name in-memory records are shown under; each record's line is its place in the list.
pub const IN_MEMORY: &str = "records";

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
    ///
    /// A file the manifest names as its profile is passed over as not holding records only
    /// when it is a profile, so a manifest cannot hide a record file by calling it its profile.
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
            files: Vec::new(),
            records: Vec::new(),
            findings: Vec::new(),
        };
        // The manifest and the profile it names are not records.
        let mut skip: Vec<PathBuf> = Vec::new();
        if let Some(root) = &root {
            match MANIFEST_NAMES
                .iter()
                .map(|n| (*n, root.join(n)))
                .find(|(_, p)| p.is_file())
            {
                Some((name, path)) => {
                    sub.read_manifest(&path, name);
                    skip.push(path);
                    if let Some(profile) = &sub.manifest.profile {
                        let path = root.join(profile);
                        if crate::profile::is_profile(&path) {
                            skip.push(path);
                        }
                    }
                }
                None => sub.findings.push(problem(
                    "submission.yaml",
                    0,
                    0,
                    builtin::MANIFEST,
                    Severity::Major,
                    Text::bi(
                        format!("提交文件夹 {} 中没有 submission.yaml 清单", root.display()),
                        format!(
                            "the submission folder {} has no submission.yaml manifest",
                            root.display()
                        ),
                    ),
                )),
            }
        }
        let skip: Vec<PathBuf> = skip
            .iter()
            .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
            .collect();
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
                            sub.findings.push(problem(
                                &at,
                                0,
                                0,
                                builtin::PARSE,
                                Severity::Major,
                                Text::bi(format!("无法读取：{e}"), format!("cannot read: {e}")),
                            ));
                            continue;
                        }
                    };
                    let canonical = entry
                        .path()
                        .canonicalize()
                        .unwrap_or_else(|_| entry.path().to_path_buf());
                    if entry.file_type().is_file() && !skip.contains(&canonical) {
                        let rel = entry.path().strip_prefix(path).unwrap_or(entry.path());
                        found.push((entry.path().to_path_buf(), shown(rel)));
                    }
                }
            } else if path.is_file() {
                found.push((path.clone(), shown(path)));
            } else {
                return Err(
                    Error::new(ErrorKind::InvalidInput, "no such file or folder")
                        .with_file(path.display().to_string()),
                );
            }
        }
        found.sort_by(|a, b| a.1.cmp(&b.1));
        found.dedup_by(|a, b| a.1 == b.1);
        sub.files = found
            .into_iter()
            .filter_map(|(disk, path)| {
                Format::of(&disk).map(|format| SourceFile { path, disk, format })
            })
            .collect();
        Ok(sub)
    }

    /// A submission built in memory, as a portal receives it: the manifest's YAML text and the
    /// records, each a JSON object (with its `kind` unless the standard has one kind). Findings
    /// about a record name it as line N of `records`, N its place in the list (from 1).
    ///
    /// ```
    /// let manifest = "standard: requests\nperiod: {start: 2025-01-01, end: 2025-12-31}\n";
    /// let records = vec![serde_json::json!({"kind": "request", "id": "R-1"})];
    /// let submission = yardstick::Submission::from_records(manifest, records);
    /// assert_eq!(submission.manifest.standard.as_deref(), Some("requests"));
    /// assert_eq!(submission.records.len(), 1);
    /// ```
    pub fn from_records(
        manifest: &str,
        records: impl IntoIterator<Item = serde_json::Value>,
    ) -> Submission {
        let name = MANIFEST_NAMES[0];
        let (manifest_value, findings) = Manifest::parse(manifest, name);
        let mut read_errors = Vec::new();
        let values = records
            .into_iter()
            .enumerate()
            .map(|(i, v)| (v, i as u64 + 1))
            .collect();
        let records = records::records_of(values, IN_MEMORY, &mut read_errors);
        let mut sub = Submission {
            root: None,
            manifest: manifest_value,
            manifest_file: Some((name.to_string(), records::sha256(manifest.as_bytes()))),
            files: Vec::new(),
            records,
            findings,
        };
        for e in read_errors {
            sub.findings.push(problem(
                IN_MEMORY,
                e.line,
                0,
                builtin::PARSE,
                Severity::Major,
                e.message,
            ));
        }
        sub
    }

    fn read_manifest(&mut self, path: &Path, name: &str) {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                let message = Text::bi(
                    format!("无法读取清单文件：{e}"),
                    format!("cannot read the manifest: {e}"),
                );
                self.findings.push(problem(
                    name,
                    0,
                    0,
                    builtin::PARSE,
                    Severity::Major,
                    message,
                ));
                return;
            }
        };
        self.manifest_file = Some((name.to_string(), records::sha256(&bytes)));
        let text = String::from_utf8_lossy(&bytes);
        let (manifest, findings) =
            Manifest::parse(text.strip_prefix('\u{feff}').unwrap_or(&text), name);
        self.manifest = manifest;
        self.findings.extend(findings);
    }

    /// The period the manifest gives, when it gives a valid one.
    pub fn period(&self) -> Option<Period> {
        self.manifest.period
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
