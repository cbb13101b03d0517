//! Evaluation: the record files read through their format's reader, a batch at a time; each
//! record judged on its own, in parallel, by every active rule and indicator of its kind; then
//! folded, in the order the records were read, into the tally. Findings go to a sink as they are
//! found; no record is held once it has been judged.

mod partial;
mod record;
mod tally;

use std::collections::BTreeMap;
use std::io::BufRead;

use rayon::prelude::*;
use serde_json::Value;

pub use partial::{merge, write_partial, Shard};
pub use record::Outcome;

use crate::error::{Error, ErrorKind, Result};
use crate::expr;
use crate::finding::{builtin, Finding, Location};
use crate::profile::Tailoring;
use crate::records::{self, Decoded, Format, ReadError, SourceFile};
use crate::sink::FindingSink;
use crate::standard::{Evidence, Severity, Standard};
use crate::submission::Submission;
use crate::text::Text;
use record::{Plan, Verdict};
use tally::Tally;

/// The results of one rule over the records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleTally {
    pub pass: u64,
    pub fail: u64,
    pub error: u64,
    pub not_applicable: u64,
    pub waived: u64,
}

impl RuleTally {
    pub fn applicable(&self) -> u64 {
        self.pass + self.fail + self.error + self.waived
    }
}

/// The computed value of one indicator.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndicatorTally {
    pub numerator: f64,
    pub denominator: Option<f64>,
    /// `None` when not applicable (a rate or mean over no record).
    pub value: Option<f64>,
    pub target: Option<f64>,
    /// Why the target could not be computed.
    pub error: Option<String>,
}

/// A result a waiver covered.
#[derive(Debug, Clone, PartialEq)]
pub struct WaiverUse {
    pub waiver: usize,
    pub rule: String,
    pub record: Location,
    /// What the result would have been.
    pub outcome: Outcome,
}

/// A record file as it was read: its SHA-256 and how many records it held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRead {
    pub path: String,
    /// Empty when the file could not be read.
    pub sha256: String,
    pub records: usize,
}

/// Everything evaluation found but the findings, which went to the sink.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Records read, of any kind.
    pub records_read: usize,
    /// Records evaluated (known kind, inside the period).
    pub records_evaluated: usize,
    /// Per rule of the standard; `None` when tailoring deselected it.
    pub rules: Vec<Option<RuleTally>>,
    pub indicators: Vec<Option<IndicatorTally>>,
    pub waiver_uses: Vec<WaiverUse>,
    /// Required kinds the submission holds no record of, with the points of their active rules
    /// and indicators, which all fail.
    pub missing_evidence: Vec<(String, f64)>,
    /// Years a working-day count reached that the holiday calendar does not cover (counted
    /// Monday to Friday).
    pub uncovered_years: Vec<i16>,
    /// The record files, in path order.
    pub inputs: Vec<InputRead>,
}

/// The `submission` value expressions see.
pub fn submission_value(
    standard: &Standard,
    submission: &Submission,
    tailoring: &Tailoring,
) -> Value {
    let m = &submission.manifest;
    let period = submission
        .period()
        .map(|p| serde_json::json!({"start": p.start.to_string(), "end": p.end.to_string(), "days": p.days()}));
    serde_json::json!({
        "organisation": m.organisation.clone().unwrap_or(Value::Null),
        "contract": m.contract.clone().unwrap_or(Value::Null),
        "period": period,
        "calendar": m.calendar.clone().unwrap_or_else(|| expr::DEFAULT_CALENDAR.to_string()),
        "standard": standard.id,
        "parameters": tailoring.params,
    })
}

/// The points a missing kind of evidence cost: its active rules and indicators.
fn points_over_kind(standard: &Standard, tailoring: &Tailoring, kind: &str) -> f64 {
    let rules = record::active_over(
        standard.rules.iter().map(|r| r.def.applies_to.as_str()),
        &tailoring.rules,
        kind,
    );
    let indicators = record::active_over(
        standard
            .indicators
            .iter()
            .map(|x| x.def.applies_to.as_str()),
        &tailoring.indicators,
        kind,
    );
    let rules: f64 = rules.iter().map(|&i| tailoring.rules[i].points).sum();
    let indicators: f64 = indicators
        .iter()
        .map(|&i| tailoring.indicators[i].points)
        .sum();
    rules + indicators
}

/// A JSON Lines file is read in chunks of about this many bytes of whole lines. (Unit tests use
/// small sizes, so that their runs pass through many chunks and batches.)
const CHUNK_BYTES: usize = if cfg!(test) { 16 << 10 } else { 512 << 10 };
/// A batch judged in parallel holds about this many bytes of record files, or this many units.
const BATCH_BYTES: usize = if cfg!(test) { 64 << 10 } else { 4 << 20 };
const BATCH_UNITS: usize = if cfg!(test) { 8 } else { 512 };
/// In-memory records are judged in runs of this many.
const MEMORY_CHUNK: usize = if cfg!(test) { 16 } else { 1024 };

/// A piece of work: a whole file, a chunk of whole lines of a JSON Lines file, or a run of the
/// records held in memory.
enum Unit {
    Memory(std::ops::Range<usize>),
    Whole(usize),
    Lines {
        file: usize,
        first_line: u64,
        bytes: Vec<u8>,
    },
}

/// What judging a unit gave.
#[derive(serde::Serialize, serde::Deserialize)]
struct UnitResult {
    file: usize,
    /// The file's hash, for a whole file.
    sha256: Option<String>,
    records: usize,
    errors: Vec<ReadError>,
    verdicts: Vec<Verdict>,
}

/// Evaluates a submission's records: sends every finding to `sink` and returns the tallies (an
/// error only when what was spooled to a temporary file cannot be read back).
pub fn evaluate(
    standard: &Standard,
    submission: &Submission,
    tailoring: &Tailoring,
    sink: &mut dyn FindingSink,
) -> Result<Evaluation> {
    let notes = std::sync::Arc::new(expr::Notes::default());
    let plan = plan(standard, submission, tailoring, &notes);
    let mut fold = Fold::new(&plan, submission);
    judge_all(&plan, submission, 0..submission.files.len(), &mut |r| {
        fold.unit(r, sink)
    });
    fold.finish(submission, &notes, sink)
}

/// What judging a run's records needs, worked out once.
fn plan<'a>(
    standard: &'a Standard,
    submission: &Submission,
    tailoring: &'a Tailoring,
    notes: &std::sync::Arc<expr::Notes>,
) -> Plan<'a> {
    Plan::new(
        standard,
        tailoring,
        submission.period(),
        submission_value(standard, submission, tailoring),
        notes.clone(),
    )
}

/// The judged units folded, in the order they were read, into the tally; what the fold finds
/// (parse errors, each record's findings, duplicate ids) goes to the sink.
struct Fold<'p> {
    plan: &'p Plan<'p>,
    names: Vec<String>,
    inputs: Vec<InputRead>,
    tally: Tally,
}

impl<'p> Fold<'p> {
    fn new(plan: &'p Plan<'p>, submission: &Submission) -> Fold<'p> {
        let files = &submission.files;
        Fold {
            plan,
            // In-memory records are shown under one name, after the files.
            names: files
                .iter()
                .map(|f| f.path.clone())
                .chain([crate::submission::IN_MEMORY.to_string()])
                .collect(),
            inputs: files
                .iter()
                .map(|f| InputRead {
                    path: f.path.clone(),
                    sha256: String::new(),
                    records: 0,
                })
                .collect(),
            tally: Tally::new(!plan.tailoring.waivers.is_empty()),
        }
    }

    fn unit(&mut self, result: UnitResult, sink: &mut dyn FindingSink) {
        let file = result.file;
        if let Some(input) = self.inputs.get_mut(file) {
            input.records += result.records;
            if let Some(sha) = result.sha256 {
                input.sha256 = sha;
            }
        }
        let name = self.names.get(file).cloned().unwrap_or_default();
        for e in result.errors {
            sink.finding(parse_finding(&name, e));
        }
        for verdict in result.verdicts {
            self.tally.records_read += 1;
            for f in verdict.findings {
                sink.finding(f);
            }
            let (Some(kind), line) = (verdict.kind, verdict.line) else {
                continue;
            };
            let scored = match verdict.judgement {
                Some(j) if self.plan.scores_kind(kind) => Some(j),
                Some(_) => {
                    self.tally.present(kind);
                    None
                }
                None => None,
            };
            self.tally
                .record(kind, verdict.id.as_deref(), file as u32, line, scored);
        }
    }

    fn finish(
        self,
        submission: &Submission,
        notes: &expr::Notes,
        sink: &mut dyn FindingSink,
    ) -> Result<Evaluation> {
        let plan = self.plan;
        let (standard, tailoring) = (plan.standard, plan.tailoring);
        let (records_read, records_evaluated) =
            (self.tally.records_read, self.tally.records_evaluated);
        let kinds_present = self.tally.kinds_present.clone();
        let tally::Results {
            rules,
            waiver_uses,
            indicators,
            duplicates,
        } = self.tally.results(plan, &self.names).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("the judged records written to a temporary file cannot be read back: {e}"),
            )
        })?;
        let present: Vec<&str> = kinds_present
            .iter()
            .filter_map(|&k| plan.kinds.get(k).copied())
            .collect();
        let missing_evidence: Vec<(String, f64)> = tailoring
            .evidence
            .iter()
            .filter(|(kind, need)| {
                **need == Evidence::Required && !present.contains(&kind.as_str())
            })
            .map(|(kind, _)| (kind.clone(), points_over_kind(standard, tailoring, kind)))
            .collect();
        for (kind, points) in &missing_evidence {
            sink.finding(missing_evidence_finding(standard, kind, *points));
        }
        let name = |file: u32| self.names.get(file as usize).cloned().unwrap_or_default();
        let mut duplicates: Vec<Finding> = duplicates
            .into_iter()
            .map(|d| {
                duplicate(
                    plan,
                    d.kind,
                    &d.id,
                    &name(d.file),
                    d.line,
                    &name(d.first_file),
                    d.first_line,
                )
            })
            .collect();
        place_fields(&submission.files, &self.inputs, &mut duplicates);
        for f in duplicates {
            sink.finding(f);
        }
        for f in submission.findings.iter().chain(&tailoring.findings) {
            sink.finding(f.clone());
        }
        Ok(Evaluation {
            records_read,
            records_evaluated,
            rules,
            indicators,
            waiver_uses,
            missing_evidence,
            uncovered_years: notes.uncovered_years(),
            inputs: self.inputs,
        })
    }
}

/// Reads and judges the record files in `range` (and, when it starts at the first file, the
/// records held in memory), a batch at a time in parallel, handing each unit's result to `each`
/// in the order read.
///
/// A pipeline: while the thread pool judges one batch, this thread hands the results of the batch
/// before to `each` and reads the next, so that reading, hashing and folding overlap judging.
fn judge_all(
    plan: &Plan,
    submission: &Submission,
    range: std::ops::Range<usize>,
    each: &mut dyn FnMut(UnitResult),
) {
    let mut batches = Batches::new(submission, range);
    let judge = |batch: Vec<Item>| -> Vec<UnitResult> {
        batch
            .into_par_iter()
            .map(|item| match item {
                Item::Judge(unit) => judge_unit(plan, submission, unit),
                Item::Ready(result) => result,
            })
            .collect()
    };
    let mut current = batches.next_batch();
    let mut judged: Vec<UnitResult> = Vec::new();
    while !current.is_empty() {
        let mut results = Vec::new();
        let mut next = Vec::new();
        rayon::in_place_scope(|scope| {
            let (results, batch) = (&mut results, std::mem::take(&mut current));
            scope.spawn(move |_| *results = judge(batch));
            for r in judged.drain(..) {
                each(r);
            }
            next = batches.next_batch();
        });
        judged = results;
        current = next;
    }
    for r in judged {
        each(r);
    }
}

/// An item of a batch: a unit to judge, or a result known without judging (a line-by-line
/// file's hash and read errors, after its chunks).
enum Item {
    Judge(Unit),
    Ready(UnitResult),
}

/// The batches of a run, read one at a time, in order: the in-memory records first, then each
/// file as a whole or, line by line, in chunks of whole lines.
struct Batches<'a> {
    submission: &'a Submission,
    files: std::ops::Range<usize>,
    /// The in-memory records still to batch, from this index.
    memory: Option<usize>,
    /// The line-by-line file being read.
    open: Option<LineFile>,
}

impl<'a> Batches<'a> {
    fn new(submission: &'a Submission, range: std::ops::Range<usize>) -> Batches<'a> {
        Batches {
            submission,
            memory: (range.start == 0).then_some(0),
            files: range,
            open: None,
        }
    }

    /// The next batch; empty at the end.
    fn next_batch(&mut self) -> Vec<Item> {
        let mut batch = Vec::new();
        let mut bytes = 0usize;
        let records = self.submission.records.len();
        if let Some(mut start) = self.memory {
            while start < records && batch.len() < BATCH_UNITS {
                let end = records.min(start + MEMORY_CHUNK);
                batch.push(Item::Judge(Unit::Memory(start..end)));
                start = end;
            }
            self.memory = (start < records).then_some(start);
            if self.memory.is_some() {
                return batch;
            }
        }
        while bytes < BATCH_BYTES && batch.len() < BATCH_UNITS {
            if let Some(open) = &mut self.open {
                match open.next_chunk() {
                    Chunk::Lines {
                        first_line,
                        bytes: b,
                    } => {
                        bytes += b.len();
                        batch.push(Item::Judge(Unit::Lines {
                            file: open.file,
                            first_line,
                            bytes: b,
                        }));
                    }
                    Chunk::End { sha256, errors } => {
                        batch.push(Item::Ready(UnitResult {
                            file: open.file,
                            sha256: Some(sha256),
                            records: 0,
                            errors,
                            verdicts: Vec::new(),
                        }));
                        self.open = None;
                    }
                }
                continue;
            }
            let Some(fi) = self.files.next() else {
                break;
            };
            let Some(file) = self.submission.files.get(fi) else {
                break;
            };
            if records::reader(file.format).by_lines() {
                self.open = Some(LineFile::open(fi, file));
            } else {
                bytes += std::fs::metadata(&file.disk).map_or(0, |m| m.len() as usize);
                batch.push(Item::Judge(Unit::Whole(fi)));
            }
        }
        batch
    }
}

/// What reading a line-by-line file gives next.
enum Chunk {
    /// Whole lines, from the line they start on.
    Lines { first_line: u64, bytes: Vec<u8> },
    /// The end: the file's SHA-256 (empty when it could not be read to the end) and what could
    /// not be read.
    End {
        sha256: String,
        errors: Vec<ReadError>,
    },
}

/// A line-by-line file being read in chunks of whole lines, and hashed as it is read.
struct LineFile {
    file: usize,
    reader: Option<std::io::BufReader<std::fs::File>>,
    hasher: sha2::Sha256,
    line: u64,
    first: bool,
    /// The end, once known (a read error after a last chunk).
    end: Option<(String, Vec<ReadError>)>,
}

impl LineFile {
    fn open(file: usize, source: &SourceFile) -> LineFile {
        use sha2::Digest;
        let (reader, end) = match std::fs::File::open(&source.disk) {
            Ok(h) => (Some(std::io::BufReader::with_capacity(1 << 16, h)), None),
            Err(e) => (None, Some((String::new(), vec![records::unreadable(&e)]))),
        };
        LineFile {
            file,
            reader,
            hasher: sha2::Sha256::new(),
            line: 1,
            first: true,
            end,
        }
    }

    fn next_chunk(&mut self) -> Chunk {
        use sha2::Digest;
        let reader = match (&mut self.reader, self.end.take()) {
            (_, Some((sha256, errors))) => return Chunk::End { sha256, errors },
            (Some(reader), None) => reader,
            (None, None) => {
                return Chunk::End {
                    sha256: String::new(),
                    errors: Vec::new(),
                }
            }
        };
        let mut bytes = Vec::with_capacity(CHUNK_BYTES + 4096);
        let mut lines = 0u64;
        let mut at_end = false;
        while bytes.len() < CHUNK_BYTES {
            match reader.read_until(b'\n', &mut bytes) {
                Ok(0) => {
                    at_end = true;
                    break;
                }
                Ok(_) => lines += 1,
                Err(e) => {
                    let mut err = records::unreadable(&e);
                    err.line = self.line + lines;
                    self.reader = None;
                    self.end = Some((String::new(), vec![err]));
                    return self.chunk(bytes, lines);
                }
            }
        }
        self.hasher.update(&bytes);
        if at_end {
            let hasher = std::mem::take(&mut self.hasher);
            self.reader = None;
            self.end = Some((records::hex(&hasher.finalize()), Vec::new()));
        }
        self.chunk(bytes, lines)
    }

    /// Whole lines read, as a chunk; the end when there are none.
    fn chunk(&mut self, mut bytes: Vec<u8>, lines: u64) -> Chunk {
        // A file's last chunk (or a small file's only one) gives back what it did not fill.
        if bytes.capacity() > 2 * bytes.len() {
            bytes.shrink_to_fit();
        }
        if self.first {
            self.first = false;
            if bytes.starts_with(b"\xef\xbb\xbf") {
                bytes.drain(..3);
            }
        }
        let first_line = self.line;
        self.line += lines;
        if bytes.is_empty() {
            return self.next_chunk();
        }
        Chunk::Lines { first_line, bytes }
    }
}

/// Reads and judges one unit.
fn judge_unit(plan: &Plan, submission: &Submission, unit: Unit) -> UnitResult {
    let files = &submission.files;
    match unit {
        Unit::Memory(range) => {
            let read = submission.records.get(range).unwrap_or_default();
            UnitResult {
                file: files.len(),
                sha256: None,
                records: read.len(),
                errors: Vec::new(),
                verdicts: read.iter().map(|r| plan.judge(r.clone())).collect(),
            }
        }
        Unit::Whole(fi) => {
            let Some(file) = files.get(fi) else {
                return UnitResult {
                    file: fi,
                    sha256: None,
                    records: 0,
                    errors: Vec::new(),
                    verdicts: Vec::new(),
                };
            };
            let bytes = match std::fs::read(&file.disk) {
                Ok(b) => b,
                Err(e) => {
                    return UnitResult {
                        file: fi,
                        sha256: Some(String::new()),
                        records: 0,
                        errors: vec![records::unreadable(&e)],
                        verdicts: Vec::new(),
                    }
                }
            };
            let sha = records::sha256(&bytes);
            let (read, errors) = records::read_bytes(&bytes, &file.path, file.format);
            let count = read.len();
            let mut verdicts: Vec<Verdict> = if read.len() > 64 {
                read.into_par_iter().map(|r| plan.judge(r)).collect()
            } else {
                read.into_iter().map(|r| plan.judge(r)).collect()
            };
            if matches!(file.format, Format::Yaml | Format::Json) {
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    place_in_text(text.strip_prefix('\u{feff}').unwrap_or(text), &mut verdicts);
                }
            }
            UnitResult {
                file: fi,
                sha256: Some(sha),
                records: count,
                errors,
                verdicts,
            }
        }
        Unit::Lines {
            file: fi,
            first_line,
            bytes,
        } => {
            let name = files.get(fi).map_or("", |f| f.path.as_str());
            let reader = records::reader(Format::Jsonl);
            let mut errors = Vec::new();
            let mut verdicts = Vec::new();
            // Each record is judged as soon as it is parsed, while it is still in the cache.
            let mut take = |d: Decoded| match d {
                Decoded::Value(value, line) => {
                    if let Some(r) = records::record_of(value, line, name, &mut errors) {
                        verdicts.push(plan.judge(r));
                    }
                }
                Decoded::Error(e) => errors.push(e),
            };
            match std::str::from_utf8(&bytes) {
                Ok(text) => reader.decode_each(text, first_line, &mut take),
                // A line that is not text is an error at its line; the others still count.
                Err(_) => {
                    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
                        let at = first_line + i as u64;
                        match std::str::from_utf8(line) {
                            Ok(text) => reader.decode_each(text, at, &mut take),
                            Err(e) => take(Decoded::Error(records::not_utf8(line, &e, at))),
                        }
                    }
                }
            }
            UnitResult {
                file: fi,
                sha256: None,
                records: verdicts.len(),
                errors,
                verdicts,
            }
        }
    }
}

/// Moves each finding that points at a field of a record to the line of that field (or of its
/// nearest ancestor the record has) in the file's `text`; each finding comes with the line of
/// its record.
fn place(text: &str, findings: Vec<(u64, &mut Finding)>) {
    if findings.is_empty() {
        return;
    }
    let record_lines: Vec<u64> = findings.iter().map(|(line, _)| *line).collect();
    let fields = records::position::field_lines(text, &record_lines);
    for (line, f) in findings {
        if let Some(at) = f.record.pointer.as_deref().and_then(|p| {
            fields
                .get(&line)
                .and_then(|by_pointer| records::position::line_of(by_pointer, p))
        }) {
            f.record.line = Some(at);
        }
    }
}

/// Places the findings of the records of one file, while its text is at hand.
fn place_in_text(text: &str, verdicts: &mut [Verdict]) {
    let findings = verdicts
        .iter_mut()
        .flat_map(|v| {
            let line = v.line;
            v.findings
                .iter_mut()
                .filter(|f| f.record.pointer.is_some())
                .map(move |f| (line, f))
        })
        .collect();
    place(text, findings);
}

/// Places findings made after their files were read (duplicate ids) by reading those files
/// again, when they are still the bytes that were read.
fn place_fields(files: &[SourceFile], inputs: &[InputRead], findings: &mut [Finding]) {
    let mut by_file: BTreeMap<String, Vec<(u64, &mut Finding)>> = BTreeMap::new();
    for f in findings.iter_mut() {
        if let (Some(file), Some(line), Some(_)) =
            (f.record.file.clone(), f.record.line, &f.record.pointer)
        {
            by_file.entry(file).or_default().push((line, f));
        }
    }
    for (name, group) in by_file {
        let Some((file, input)) = files.iter().zip(inputs).find(|(f, _)| f.path == name) else {
            continue;
        };
        if !matches!(file.format, Format::Yaml | Format::Json) {
            continue;
        }
        let Ok(bytes) = std::fs::read(&file.disk) else {
            continue;
        };
        if records::sha256(&bytes) != input.sha256 {
            continue;
        }
        if let Ok(text) = std::str::from_utf8(&bytes) {
            place(text.strip_prefix('\u{feff}').unwrap_or(text), group);
        }
    }
}

fn parse_finding(file: &str, e: ReadError) -> Finding {
    Finding::builtin(
        builtin::PARSE,
        Severity::Major,
        Location {
            file: Some(file.to_string()),
            line: (e.line > 0).then_some(e.line),
            column: (e.column > 0).then_some(e.column),
            ..Location::default()
        },
        e.message,
    )
}

fn duplicate(
    plan: &Plan,
    kind: usize,
    id: &str,
    file: &str,
    line: u64,
    first_file: &str,
    first_line: u64,
) -> Finding {
    let kind_name = plan.kinds.get(kind).copied().unwrap_or_default();
    let name_zh = plan
        .standard
        .kinds
        .get(kind_name)
        .map_or(kind_name, |k| k.name_zh());
    Finding::builtin(
        builtin::DUPLICATE_ID,
        Severity::Major,
        Location {
            kind: Some(kind_name.to_string()),
            id: Some(id.to_string()),
            file: Some(file.to_string()),
            line: Some(line),
            column: None,
            pointer: Some("/id".into()),
        },
        Text::bi(
            format!("{name_zh}编号 '{id}' 已在 {first_file}:{first_line} 使用"),
            format!("{kind_name} id '{id}' is already used at {first_file}:{first_line}"),
        ),
    )
}

fn missing_evidence_finding(standard: &Standard, kind: &str, points: f64) -> Finding {
    let cost = crate::score::round2(points);
    let name = standard.kinds.get(kind).map_or(kind, |k| k.name_zh());
    Finding::builtin(
        builtin::MISSING_EVIDENCE,
        Severity::Major,
        Location {
            kind: Some(kind.to_string()),
            ..Location::default()
        },
        Text::bi(
            format!("标准要求提交{name}（{kind}），但提交材料中没有任何{name}：相关规则和指标按未达标计分，失去 {cost} 分"),
            format!("the standard requires {kind} records and the submission holds none: the rules and indicators over them are scored as failed, costing {cost} points"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::{Batches, Item, Unit, BATCH_UNITS, CHUNK_BYTES, MEMORY_CHUNK};
    use crate::records::{Format, Record, SourceFile};
    use crate::submission::Submission;

    fn submission(files: Vec<SourceFile>, records: usize) -> Submission {
        Submission {
            root: None,
            manifest: Default::default(),
            manifest_file: None,
            files,
            records: (0..records)
                .map(|i| Record {
                    kind: Some("case".into()),
                    value: serde_json::json!({"id": i}),
                    file: crate::submission::IN_MEMORY.into(),
                    line: i as u64 + 1,
                })
                .collect(),
            findings: Vec::new(),
        }
    }

    /// A JSON Lines file several chunks long (with a byte-order mark and a line that is not
    /// text) comes back from the batches whole: its chunks, end to end, are the file without
    /// the mark, each starts on its own line, and the file's hash comes after them.
    #[test]
    fn a_long_json_lines_file_is_read_in_chunks_of_whole_lines_then_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = b"\xef\xbb\xbf".to_vec();
        let mut n = 0;
        while text.len() < 3 * CHUNK_BYTES + 100 {
            n += 1;
            if n == 700 {
                text.extend_from_slice(b"{\"id\": \"\xff\"}\n");
            } else {
                text.extend_from_slice(
                    format!(
                        "{{\"id\": \"c-{n:07}\", \"pad\": \"{}\"}}\n",
                        "x".repeat(n % 300)
                    )
                    .as_bytes(),
                );
            }
        }
        text.extend_from_slice(b"{\"id\": \"last, with no newline\"}");
        let path = dir.path().join("cases.jsonl");
        std::fs::write(&path, &text).unwrap();
        let file = SourceFile {
            path: "cases.jsonl".into(),
            disk: path,
            format: Format::Jsonl,
        };
        let sub = submission(vec![file], MEMORY_CHUNK * BATCH_UNITS + 5);
        let mut batches = Batches::new(&sub, 0..1);
        let (mut memory, mut read, mut next_line, mut hashes) = (0, Vec::new(), 1u64, Vec::new());
        let mut chunks = 0;
        loop {
            let batch = batches.next_batch();
            if batch.is_empty() {
                break;
            }
            assert!(batch.len() <= BATCH_UNITS);
            for item in batch {
                match item {
                    Item::Judge(Unit::Memory(range)) => {
                        assert_eq!(range.start, memory, "in-memory runs in order");
                        memory = range.end;
                    }
                    Item::Judge(Unit::Lines {
                        file,
                        first_line,
                        bytes,
                    }) => {
                        assert_eq!((file, first_line), (0, next_line));
                        assert!(hashes.is_empty(), "the hash comes after the chunks");
                        next_line += bytes.iter().filter(|b| **b == b'\n').count() as u64;
                        assert!(
                            bytes.ends_with(b"\n") || read.len() + bytes.len() == text.len() - 3
                        );
                        read.extend_from_slice(&bytes);
                        chunks += 1;
                    }
                    Item::Ready(result) => {
                        hashes.push((result.file, result.sha256, result.errors.len()))
                    }
                    _ => panic!("unexpected unit"),
                }
            }
        }
        assert_eq!(memory, sub.records.len());
        assert!(chunks >= 3, "{chunks} chunks");
        assert_eq!(read, text[3..]);
        assert_eq!(hashes, [(0, Some(crate::records::sha256(&text)), 0)]);
    }

    /// A run through many batches hands every unit's result on in read order: each file's
    /// records line by line (a blank line skipped, a line that is not text an error at its
    /// line), each JSON Lines file's hash after its chunks, the files in path order.
    #[test]
    fn results_reach_the_tally_in_read_order_across_many_batches() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::copy(
            root.join("fixtures/elderly-care/typical/submission.yaml"),
            dir.path().join("submission.yaml"),
        )
        .unwrap();
        let mut a = Vec::new();
        for line in 1..=12000 {
            match line {
                1500 => a.extend_from_slice(b"{\"kind\": \"case\", \"id\": \"\xff\"}\n"),
                2000 => a.extend_from_slice(b"\n"),
                _ => a.extend_from_slice(
                    format!("{{\"kind\": \"case\", \"id\": \"a-{line}\"}}\n").as_bytes(),
                ),
            }
        }
        std::fs::write(dir.path().join("a.jsonl"), &a).unwrap();
        std::fs::write(
            dir.path().join("b.yaml"),
            "- {kind: case, id: b-1}\n- {kind: case, id: b-2}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("c.jsonl"),
            "{\"kind\": \"case\", \"id\": \"c-1\"}\n",
        )
        .unwrap();
        let opened = crate::run::open(&[dir.path().to_path_buf()], &Default::default()).unwrap();
        let tailoring = opened.tailoring().unwrap();
        let notes = std::sync::Arc::new(crate::expr::Notes::default());
        let plan = super::plan(&opened.standard, &opened.submission, &tailoring, &notes);
        let files: Vec<&str> = opened
            .submission
            .files
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(files, ["a.jsonl", "b.yaml", "c.jsonl"]);
        let (mut lines, mut errors, mut order) =
            (vec![Vec::new(); 3], vec![Vec::new(); 3], Vec::new());
        let mut units = 0;
        super::judge_all(&plan, &opened.submission, 0..3, &mut |r| {
            units += 1;
            let done = r.sha256.is_some();
            if order.last() != Some(&(r.file, done)) {
                order.push((r.file, done));
            }
            lines[r.file].extend(r.verdicts.iter().map(|v| v.line));
            errors[r.file].extend(r.errors.iter().map(|e| e.line));
        });
        assert!(units > 2 * BATCH_UNITS, "{units} units: several batches");
        let expected: Vec<u64> = (1..=12000).filter(|l| *l != 1500 && *l != 2000).collect();
        assert_eq!(lines[0], expected);
        assert_eq!(errors[0], [1500]);
        assert_eq!(lines[1], [1, 2]);
        assert_eq!(lines[2], [1]);
        // a.jsonl's chunks, then its hash; b.yaml whole (with its hash); c.jsonl's chunk, then its hash.
        assert_eq!(
            order,
            [(0, false), (0, true), (1, true), (2, false), (2, true)]
        );
    }

    /// A file that cannot be opened ends with an unreadable error and an empty hash, and the
    /// next file is still read.
    #[test]
    fn an_unreadable_json_lines_file_is_an_error_and_the_next_file_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let there = dir.path().join("b.jsonl");
        std::fs::write(&there, "{\"id\": 1}\n").unwrap();
        let files = vec![
            SourceFile {
                path: "a.jsonl".into(),
                disk: dir.path().join("gone.jsonl"),
                format: Format::Jsonl,
            },
            SourceFile {
                path: "b.jsonl".into(),
                disk: there,
                format: Format::Jsonl,
            },
        ];
        let sub = submission(files, 0);
        let mut batches = Batches::new(&sub, 0..2);
        let mut seen = Vec::new();
        loop {
            let batch = batches.next_batch();
            if batch.is_empty() {
                break;
            }
            for item in batch {
                seen.push(match item {
                    Item::Judge(Unit::Lines {
                        file, first_line, ..
                    }) => format!("lines {file} {first_line}"),
                    Item::Ready(r) => format!(
                        "end {} {} {}",
                        r.file,
                        r.sha256.unwrap_or_default().len(),
                        r.errors.len()
                    ),
                    _ => "other".into(),
                });
            }
        }
        assert_eq!(seen, ["end 0 0 1", "lines 1 1", "end 1 64 0"]);
    }
}
