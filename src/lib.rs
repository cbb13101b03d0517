//! yardstick checks social-service records against sector operating guides written as YAML,
//! and scores them.
//!
//! The data path reads one way: a [`Submission`] (a folder read from disk, or records built in
//! memory) is evaluated against a [`Standard`] as the evaluator tailored it (a contract profile,
//! a waiver file); each record is judged on its own and folded into the tallies while its
//! findings go to a [`FindingSink`]; the tallies are scored into a [`Report`]; a printer renders
//! the report ([`render`]).
//!
//! Checking a submission folder, as the command line does:
//!
//! ```
//! let options = yardstick::Options::default();
//! let report = yardstick::check(&["fixtures/requests/typical".into()], &options)?;
//! assert!(report.summary.score.is_some());
//! # Ok::<(), yardstick::Error>(())
//! ```
//!
//! Scoring records a portal received, with the evaluator's contract profile: see [`score`], and
//! `examples/portal.rs`.

mod describe;
mod embedded;
mod engine;
mod error;
mod expr;
mod finding;
mod manifest;
mod profile;
mod records;
mod report;
mod run;
mod schema;
mod score;
mod sink;
mod spool;
mod standard;
mod submission;
mod text;

pub use describe::{explain_text, overview, reference_markdown};
pub use engine::{
    evaluate, Evaluation, IndicatorTally, InputRead, Outcome, RuleTally, Shard, WaiverUse,
};
pub use error::{Error, ErrorKind, Result};
pub use finding::{builtin, Finding, FindingStatus, Location};
pub use manifest::{Manifest, Period, Waiver};
pub use profile::{
    ItemTailoring, LoadedProfile, LoadedWaivers, ParamSource, Profile, ProfileSource, Tailoring,
};
pub use records::{Format as RecordFormat, Reader, Record, SourceFile};
pub use report::{
    render, render_to, schema as report_schema, FailOn, Format, Given, Renderer, Report,
};
pub use run::{
    check, is_path, load_standard, merge, open, partial, registry, score, Opened, Options,
};
pub use sink::{Collector, FindingSink, Findings, Iter as FindingsIter};
pub use standard::lint::lint;
pub use standard::{Direction, Evidence, Measure, Registry, Section, Severity, Standard, Status};
pub use submission::{Submission, IN_MEMORY};
pub use text::{Lang, Text};
