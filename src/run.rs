//! One run, end to end: open the submission, load the standard and the profile, evaluate,
//! and build the report.

use std::path::{Path, PathBuf};

use crate::engine;
use crate::error::{Error, ErrorKind, Result};
use crate::profile::{LoadedProfile, LoadedWaivers, ProfileSource, Tailoring};
use crate::report::{self, Report};
use crate::standard::{Registry, Standard};
use crate::submission::Submission;
use crate::text::Lang;

/// What a run is asked to do beyond the paths.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A standard id or file; overrides the manifest's.
    pub standard: Option<String>,
    /// The contract profile; when given, a profile the manifest names is not used.
    pub profile: Option<PathBuf>,
    /// A waiver file of the evaluator's (a list of waivers, as in a profile).
    pub waivers: Option<PathBuf>,
    /// Folders whose standards add to or override the shipped ones.
    pub standards_dirs: Vec<PathBuf>,
    pub lang: Lang,
}

/// The shipped standards, then each folder's, later ones winning.
pub fn registry(dirs: &[PathBuf]) -> Result<Registry> {
    let mut registry = Registry::builtin();
    for dir in dirs {
        registry.add_dir(dir)?;
    }
    Ok(registry)
}

/// Whether a standard reference is a file path rather than an id.
pub fn is_path(reference: &str) -> bool {
    reference.ends_with(".yaml")
        || reference.ends_with(".yml")
        || reference.contains('/')
        || reference.contains('\\')
}

/// Loads a standard by id or by file path (relative paths from `base`).
pub fn load_standard(
    registry: &mut Registry,
    reference: &str,
    base: Option<&Path>,
) -> Result<Standard> {
    let id = if is_path(reference) {
        let path = match base {
            Some(b) if Path::new(reference).is_relative() => b.join(reference),
            _ => PathBuf::from(reference),
        };
        if !path.is_file() {
            return Err(Error::new(
                ErrorKind::UnknownStandard,
                format!("no standard file {}", path.display()),
            ));
        }
        registry.add_file(&path)?
    } else {
        reference.to_string()
    };
    Standard::load(registry, &id)
}

/// A submission opened with the standard, the profile and the waivers it is scored with.
pub struct Opened {
    pub standard: Standard,
    pub submission: Submission,
    pub profile: Option<LoadedProfile>,
    pub waivers: Option<LoadedWaivers>,
}

impl Opened {
    /// How the evaluator tailored the standard for this submission.
    pub fn tailoring(&self) -> Result<Tailoring> {
        Tailoring::new(
            &self.standard,
            &self.submission,
            self.profile.as_ref(),
            self.waivers.as_ref(),
        )
    }

    /// The report of an evaluation of this submission.
    pub fn report(
        &self,
        tailoring: &Tailoring,
        evaluation: &crate::engine::Evaluation,
        findings: crate::sink::Findings,
        lang: Lang,
    ) -> Result<Report> {
        report::build(
            report::Given {
                standard: &self.standard,
                submission: &self.submission,
                tailoring,
                profile: self.profile.as_ref(),
                waiver_file: self.waivers.as_ref(),
            },
            evaluation,
            findings,
            lang,
        )
    }
}

/// Checks a submission and returns its report.
pub fn check(paths: &[PathBuf], options: &Options) -> Result<Report> {
    let opened = open(paths, options)?;
    score(
        &opened.standard,
        &opened.submission,
        opened.profile.as_ref(),
        opened.waivers.as_ref(),
        options.lang,
    )
}

/// Judges one shard of a submission's record files and writes its partial result, for
/// [`merge`] to combine with the others.
pub fn partial(
    paths: &[PathBuf],
    options: &Options,
    shard: crate::engine::Shard,
    out: &mut dyn std::io::Write,
    shown: &str,
) -> Result<()> {
    let opened = open(paths, options)?;
    let tailoring = opened.tailoring()?;
    crate::engine::write_partial(
        &opened.standard,
        &opened.submission,
        &tailoring,
        shard,
        out,
        shown,
    )
}

/// The report of a submission from the partial results of its shards: the same report, byte
/// for byte, as [`check`] over the whole submission.
pub fn merge(paths: &[PathBuf], options: &Options, partials: &[PathBuf]) -> Result<Report> {
    let opened = open(paths, options)?;
    let tailoring = opened.tailoring()?;
    let mut findings = crate::sink::Collector::new(options.lang);
    let evaluation = crate::engine::merge(
        &opened.standard,
        &opened.submission,
        &tailoring,
        partials,
        &mut findings,
    )?;
    opened.report(&tailoring, &evaluation, findings.finish(), options.lang)
}

/// Opens a submission and loads what it is scored with: the standard (the evaluator's, else
/// the one the manifest names), the contract profile and the waiver file.
pub fn open(paths: &[PathBuf], options: &Options) -> Result<Opened> {
    let submission = Submission::open(paths)?;
    let mut registry = registry(&options.standards_dirs)?;
    // The standard is a shipped one named by id, or the evaluator's own (--standard, --standards);
    // never a file from the submission folder.
    let standard = match (&options.standard, &submission.manifest.standard) {
        (Some(s), _) => load_standard(&mut registry, s, None)?,
        (None, Some(s)) => Standard::load(&registry, s)?,
        (None, None) => {
            let detail = match &submission.manifest.standard_file {
                Some(file) => format!(
                    "the manifest names the standard file {file}, which is not used: a submission names a shipped standard by id; an evaluator brings a standard file with --standard"
                ),
                None => match submission.findings.iter().find(|f| {
                    f.rule == crate::finding::builtin::PARSE
                        && f.record.file.as_deref() == Some(submission.manifest_name().as_str())
                }) {
                    Some(f) => format!(
                        "the manifest cannot be read, so it names no standard: {}",
                        f.message.get(crate::text::Lang::En)
                    ),
                    None => "no standard to check against: give --standard ID, or name one in submission.yaml".to_string(),
                },
            };
            return Err(Error::new(ErrorKind::InvalidInput, detail));
        }
    };
    let profile = match (&options.profile, &submission.manifest.profile) {
        (Some(p), _) => Some(LoadedProfile::read(p, ProfileSource::CommandLine)?),
        (None, Some(p)) => {
            let path = submission.resolve_path(p);
            // A profile the manifest names lies inside the submission folder.
            let inside = match (&submission.root, path.canonicalize()) {
                (Some(root), Ok(real)) => root.canonicalize().is_ok_and(|r| real.starts_with(r)),
                _ => false,
            };
            if !inside {
                return Err(Error::new(
                    ErrorKind::InvalidProfile,
                    format!("the manifest names the profile {p}, which is not a file inside the submission folder; give the contract profile with --profile"),
                ));
            }
            // Shown as the manifest names it, so the report does not depend on where it ran.
            let mut loaded = LoadedProfile::read(&path, ProfileSource::SubmissionFolder)?;
            loaded.file = p.clone();
            Some(loaded)
        }
        (None, None) => None,
    };
    let waivers = options
        .waivers
        .as_deref()
        .map(LoadedWaivers::read)
        .transpose()?;
    Ok(Opened {
        standard,
        submission,
        profile,
        waivers,
    })
}

/// Scores a submission, read from a folder or built in memory, against a standard, with the
/// evaluator's contract profile and waiver file when there are any: the report every printer
/// renders.
///
/// ```
/// use yardstick::{score, Lang, Standard, Submission};
///
/// let standard = Standard::builtin("requests")?;
/// let manifest = "standard: requests\nperiod: {start: 2025-01-01, end: 2025-12-31}\n";
/// let records = vec![serde_json::json!({
///     "kind": "request", "id": "R-1", "received_at": "2025-03-03 09:00", "channel": "hotline",
///     "category": "environment", "urgency": "normal", "summary": "楼道堆放杂物",
///     "accepted_at": "2025-03-03 09:10", "responded_at": "2025-03-03 10:00",
///     "handling_unit": "城市管理办", "completed_at": "2025-03-05 17:00", "result": "已清理",
///     "notified_at": "2025-03-05 17:30", "rated_at": "2025-03-06 10:00",
///     "status": "completed", "satisfaction": "satisfied",
/// })];
/// let report = score(&standard, &Submission::from_records(manifest, records), None, None, Lang::En)?;
/// assert_eq!(report.summary.records, 1);
/// # Ok::<(), yardstick::Error>(())
/// ```
pub fn score(
    standard: &Standard,
    submission: &Submission,
    profile: Option<&LoadedProfile>,
    waivers: Option<&LoadedWaivers>,
    lang: Lang,
) -> Result<Report> {
    let tailoring = Tailoring::new(standard, submission, profile, waivers)?;
    let mut findings = crate::sink::Collector::new(lang);
    let evaluation = engine::evaluate(standard, submission, &tailoring, &mut findings)?;
    report::build(
        report::Given {
            standard,
            submission,
            tailoring: &tailoring,
            profile,
            waiver_file: waivers,
        },
        &evaluation,
        findings.finish(),
        lang,
    )
}
