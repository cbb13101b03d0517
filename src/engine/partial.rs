//! Shards: a submission too large for one machine is judged in pieces (contiguous runs of its
//! record files, in path order), each writing a partial result as JSON Lines; `merge` folds the
//! partials in order into the one evaluation a single run over every file gives.
//!
//! A partial holds each record's verdict (its findings, its outcome on every rule and its
//! contribution to every indicator), never the record itself: the fold that settles duplicate
//! ids and copies of one record, and the scoring, run once, at the merge.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{judge_all, plan, Evaluation, Fold, UnitResult};
use crate::error::{Error, ErrorKind, Result};
use crate::profile::Tailoring;
use crate::sink::FindingSink;
use crate::standard::Standard;
use crate::submission::Submission;

/// Which piece of a submission's record files a partial run judges: the `index`-th (from 1) of
/// `count` contiguous runs of the files in path order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `K/N`, with 1 ≤ K ≤ N.
    fn from_str(text: &str) -> std::result::Result<Shard, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("'{text}' is not a shard: write K/N, such as 1/4"))?;
        let read = |t: &str| t.trim().parse::<usize>().ok();
        match (read(k), read(n)) {
            (Some(index), Some(count)) if index >= 1 && index <= count => {
                Ok(Shard { index, count })
            }
            _ => Err(format!(
                "'{text}' is not a shard: write K/N with 1 ≤ K ≤ N, such as 1/4"
            )),
        }
    }
}

impl Shard {
    /// The files (indices in path order) this shard judges, of `files`.
    pub fn range(self, files: usize) -> std::ops::Range<usize> {
        let k = self.index.saturating_sub(1);
        k * files / self.count.max(1)..(k + 1) * files / self.count.max(1)
    }
}

/// The version of the partial format.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    partial: u32,
    standard: String,
    version: String,
    /// What judging depends on besides the records: the parameters, the rules and indicators
    /// in force, the waivers and the period, hashed.
    tailoring: String,
    shard: [usize; 2],
    /// The record files it judged, in path order.
    files: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Line {
    Header(Header),
    Unit(UnitResult),
    End {
        units: usize,
        uncovered_years: Vec<i16>,
    },
}

/// What the judging of every record depends on besides the record, as a hash: partials made
/// with another profile, other waivers or another period do not merge.
fn fingerprint(standard: &Standard, submission: &Submission, tailoring: &Tailoring) -> String {
    let waivers: Vec<serde_json::Value> = tailoring
        .waivers
        .iter()
        .map(|w| {
            serde_json::json!({
                "rule": w.waiver.rule,
                "records": w.waiver.records,
                "expires": w.expires.map(|d| d.to_string()),
            })
        })
        .collect();
    let period = submission
        .period()
        .map(|p| (p.start.to_string(), p.end.to_string()));
    let text = serde_json::json!({
        "standard": [standard.id, standard.version],
        "parameters": tailoring.params,
        "rules": tailoring.rules,
        "indicators": tailoring.indicators,
        "waivers": waivers,
        "period": period,
        "calendar": submission.manifest.calendar,
    })
    .to_string();
    crate::records::sha256(text.as_bytes())
}

fn io_error(file: &str, e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Io, e.to_string()).with_file(file)
}

/// Judges one shard of a submission's record files and writes its partial result to `out`.
pub fn write_partial(
    standard: &Standard,
    submission: &Submission,
    tailoring: &Tailoring,
    shard: Shard,
    out: &mut dyn Write,
    shown: &str,
) -> Result<()> {
    let notes = std::sync::Arc::new(crate::expr::Notes::default());
    let plan = plan(standard, submission, tailoring, &notes);
    let range = shard.range(submission.files.len());
    let header = Header {
        partial: FORMAT,
        standard: standard.id.clone(),
        version: standard.version.clone(),
        tailoring: fingerprint(standard, submission, tailoring),
        shard: [shard.index, shard.count],
        files: submission
            .files
            .get(range.clone())
            .unwrap_or_default()
            .iter()
            .map(|f| f.path.clone())
            .collect(),
    };
    let mut write = |line: &Line| -> Result<()> {
        serde_json::to_writer(&mut *out, line).map_err(|e| io_error(shown, e))?;
        out.write_all(b"\n").map_err(|e| io_error(shown, e))
    };
    write(&Line::Header(header))?;
    let mut units = 0usize;
    let mut failed: Option<Error> = None;
    judge_all(&plan, submission, range, &mut |unit| {
        if failed.is_none() {
            units += 1;
            failed = write(&Line::Unit(unit)).err();
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    write(&Line::End {
        units,
        uncovered_years: notes.uncovered_years(),
    })?;
    out.flush().map_err(|e| io_error(shown, e))
}

/// One partial file, opened, with its header read.
struct Opened {
    path: String,
    header: Header,
    lines: std::io::Lines<std::io::BufReader<std::fs::File>>,
}

fn open(path: &Path) -> Result<Opened> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| io_error(&shown, e))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let not_partial = || {
        Error::new(
            ErrorKind::InvalidInput,
            "not a partial result of `yardstick partial`",
        )
        .with_file(&shown)
    };
    let first = lines
        .next()
        .ok_or_else(not_partial)?
        .map_err(|e| io_error(&shown, e))?;
    match serde_json::from_str::<Line>(&first) {
        Ok(Line::Header(header)) if header.partial == FORMAT => Ok(Opened {
            path: shown,
            header,
            lines,
        }),
        _ => Err(not_partial()),
    }
}

/// Merges the partial results of every shard of a submission into its evaluation: the same
/// tallies and findings, in the same order, as one run over every file.
pub fn merge(
    standard: &Standard,
    submission: &Submission,
    tailoring: &Tailoring,
    partials: &[PathBuf],
    sink: &mut dyn FindingSink,
) -> Result<Evaluation> {
    let mut opened = partials
        .iter()
        .map(|p| open(p))
        .collect::<Result<Vec<Opened>>>()?;
    opened.sort_by_key(|o| o.header.shard[0]);
    let count = opened.len();
    let expected = fingerprint(standard, submission, tailoring);
    for (i, o) in opened.iter().enumerate() {
        let h = &o.header;
        let refuse = |why: String| Err(Error::new(ErrorKind::InvalidInput, why).with_file(&o.path));
        if h.standard != standard.id || h.version != standard.version {
            return refuse(format!(
                "judged against {} {}, not {} {}",
                h.standard, h.version, standard.id, standard.version
            ));
        }
        if h.tailoring != expected {
            return refuse("judged with other parameters, waivers, rules or period than this merge: give the same standard, profile and waivers as the partial runs".into());
        }
        if h.shard != [i + 1, count] {
            return refuse(format!(
                "is shard {}/{}; the merge needs shards 1/{count} to {count}/{count}, each once",
                h.shard[0], h.shard[1]
            ));
        }
        let range = Shard {
            index: i + 1,
            count,
        }
        .range(submission.files.len());
        let files: Vec<&str> = submission
            .files
            .get(range)
            .unwrap_or_default()
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        if h.files.iter().map(String::as_str).ne(files.iter().copied()) {
            return refuse(
                "judged other record files than this shard of the submission holds".into(),
            );
        }
    }
    let notes = std::sync::Arc::new(crate::expr::Notes::default());
    let plan = plan(standard, submission, tailoring, &notes);
    let mut fold = Fold::new(&plan, submission);
    for o in opened {
        let mut units = 0usize;
        let mut ended = false;
        for line in o.lines {
            let line = line.map_err(|e| io_error(&o.path, e))?;
            let bad = |e: serde_json::Error| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("a line cannot be read: {e}"),
                )
                .with_file(&o.path)
            };
            match serde_json::from_str::<Line>(&line).map_err(bad)? {
                Line::Unit(unit) if !ended => {
                    units += 1;
                    fold.unit(unit, sink);
                }
                Line::End {
                    units: written,
                    uncovered_years,
                } if !ended && written == units => {
                    notes.note_years(uncovered_years);
                    ended = true;
                }
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        "the partial result is out of order or damaged",
                    )
                    .with_file(&o.path))
                }
            }
        }
        if !ended {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "the partial result is incomplete: its run did not finish",
            )
            .with_file(&o.path));
        }
    }
    fold.finish(submission, &notes, sink)
}

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn shards_split_the_files_into_contiguous_runs_that_cover_them_once() {
        let shards: Vec<Shard> = ["1/3", "2/3", "3/3"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let ranges: Vec<_> = shards.iter().map(|s| s.range(10)).collect();
        assert_eq!(ranges, vec![0..3, 3..6, 6..10]);
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }
}
