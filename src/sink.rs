//! Where findings go as evaluation finds them: a sink takes each finding once, in the order the
//! records were read. A printer that streams implements it; [`Collector`] keeps them for a report,
//! in report order, holding only a bounded number in memory: past that, it writes them to a
//! temporary file in sorted runs, which [`Findings::iter`] merges back as the report is written.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::finding::{report_order_in, Finding};
use crate::spool::{push_record, RunRecords, Runs};
use crate::standard::Severity;
use crate::text::Lang;

/// Takes each finding as it is found.
pub trait FindingSink {
    fn finding(&mut self, finding: Finding);
}

impl<F: FnMut(Finding)> FindingSink for F {
    fn finding(&mut self, finding: Finding) {
        self(finding)
    }
}

/// How many findings a collector holds in memory before it writes them out as a sorted run.
/// (Unit tests use a small number, so that their reports pass through the runs and the merge.)
const RUN_LEN: usize = if cfg!(test) { 4 } else { 8192 };

/// The order of the collected findings in a report in `lang`: the report order with messages
/// in that language, then (for messages alike in it) by the English message. A report lists
/// them so, with findings equal in both in the order they were found.
fn collected_order(lang: Lang) -> impl Fn(&Finding, &Finding) -> Ordering + Copy {
    move |a, b| {
        report_order_in(a, b, lang)
            .then_with(|| a.message.get(Lang::En).cmp(b.message.get(Lang::En)))
    }
}

/// Keeps every finding for a report in one language, in report order.
///
/// At most a few thousand are held in memory: the rest are written, sorted, to an anonymous
/// temporary file (in the system's temporary folder, `TMPDIR` on Unix), which is gone when the
/// last [`Findings`] made from it is dropped. When no temporary file can be written, the
/// sorted runs are held in memory instead.
#[derive(Debug)]
pub struct Collector {
    lang: Lang,
    buffer: Vec<Finding>,
    runs: Runs,
    len: usize,
    counts: [usize; 4],
}

impl Collector {
    /// A collector for a report in `lang`.
    pub fn new(lang: Lang) -> Collector {
        Collector {
            lang,
            buffer: Vec::new(),
            runs: Runs::default(),
            len: 0,
            counts: [0; 4],
        }
    }

    /// The findings collected, in report order.
    pub fn finish(mut self) -> Findings {
        self.buffer.sort_by(collected_order(self.lang));
        Findings {
            lang: self.lang,
            runs: self.runs,
            tail: Arc::new(self.buffer),
            extra: Arc::default(),
            len: self.len,
            counts: self.counts,
        }
    }

    /// Writes the buffer, sorted, as a run.
    fn spill(&mut self) {
        self.buffer.sort_by(collected_order(self.lang));
        let mut run = Vec::new();
        for f in self.buffer.drain(..) {
            // A finding is plain data: it always serialises.
            if let Ok(bytes) = serde_json::to_vec(&f) {
                push_record(&mut run, &[&bytes]);
            }
        }
        self.runs.push(run);
    }
}

impl FindingSink for Collector {
    fn finding(&mut self, finding: Finding) {
        self.len += 1;
        if let Some(n) = self.counts.get_mut(severity_index(finding.severity)) {
            *n += 1;
        }
        self.buffer.push(finding);
        if self.buffer.len() >= RUN_LEN {
            self.spill();
        }
    }
}

fn severity_index(s: Severity) -> usize {
    match s {
        Severity::Info => 0,
        Severity::Minor => 1,
        Severity::Major => 2,
        Severity::Critical => 3,
    }
}

/// A report's findings, in report order: those a [`Collector`] kept (some in memory, the rest
/// in sorted runs in a temporary file), and those the report added (indicators short of their
/// targets). Read them with [`Findings::iter`]; the JSON report streams them the same way.
///
/// ```
/// let options = yardstick::Options::default();
/// let report = yardstick::check(&["fixtures/requests/typical".into()], &options)?;
/// let mut majors = 0;
/// for finding in report.findings.iter() {
///     if finding?.severity == yardstick::Severity::Major {
///         majors += 1;
///     }
/// }
/// assert_eq!(majors, report.findings.count(yardstick::Severity::Major));
/// assert_eq!(report.findings.len(), report.findings.to_vec()?.len());
/// # Ok::<(), yardstick::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Findings {
    lang: Lang,
    runs: Runs,
    /// The last collected findings, sorted, still in memory.
    tail: Arc<Vec<Finding>>,
    /// Findings added after collection, sorted; listed after collected findings they tie with.
    extra: Arc<Vec<Finding>>,
    len: usize,
    counts: [usize; 4],
}

impl Default for Findings {
    fn default() -> Findings {
        Collector::new(Lang::En).finish()
    }
}

impl Findings {
    /// The language the findings are shown in.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many findings have a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.counts
            .get(severity_index(severity))
            .copied()
            .unwrap_or(0)
    }

    /// Adds a finding after collection, in its place in report order (after any collected
    /// finding it ties with).
    pub fn push(&mut self, finding: Finding) {
        let finding = finding.into_lang(self.lang);
        let order = |a: &Finding, b: &Finding| report_order_in(a, b, self.lang);
        let at = self
            .extra
            .partition_point(|f| order(f, &finding) != Ordering::Greater);
        self.len += 1;
        if let Some(n) = self.counts.get_mut(severity_index(finding.severity)) {
            *n += 1;
        }
        Arc::make_mut(&mut self.extra).insert(at, finding);
    }

    /// The findings in report order, each in the report's language. An item is an error only
    /// when the temporary file cannot be read back.
    pub fn iter(&self) -> Iter {
        self.merged(true)
    }

    /// The findings merged in report order; `shown`: each put in the report's language.
    fn merged(&self, shown: bool) -> Iter {
        let mut sources: Vec<Source> = self
            .runs
            .readers()
            .into_iter()
            .map(|r| Source::Run(r, Vec::new()))
            .collect();
        sources.push(Source::Memory(self.tail.clone(), 0));
        sources.push(Source::Memory(self.extra.clone(), 0));
        let heads = sources.iter().map(|_| None).collect();
        Iter {
            lang: self.lang,
            shown,
            extra: sources.len() - 1,
            sources,
            heads,
            started: false,
            failed: false,
        }
    }

    /// Every finding, in report order, in a list.
    pub fn to_vec(&self) -> Result<Vec<Finding>> {
        self.iter().collect()
    }

    /// The same findings for a report in another language (re-sorted: the order depends on
    /// the messages' language). Findings added after collection keep the text they were added
    /// with.
    pub fn in_lang(self, lang: Lang) -> Result<Findings> {
        if lang == self.lang {
            return Ok(self);
        }
        let mut collector = Collector::new(lang);
        let mut collected = self.clone();
        collected.extra = Arc::default();
        for f in collected.merged(false) {
            collector.finding(f?);
        }
        let mut findings = collector.finish();
        for f in self.extra.iter().cloned() {
            findings.push(f);
        }
        Ok(findings)
    }
}

impl serde::Serialize for Findings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq};
        let mut seq = s.serialize_seq(Some(self.len))?;
        for f in self.iter() {
            seq.serialize_element(&f.map_err(S::Error::custom)?)?;
        }
        seq.end()
    }
}

impl schemars::JsonSchema for Findings {
    fn inline_schema() -> bool {
        <Vec<Finding> as schemars::JsonSchema>::inline_schema()
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        <Vec<Finding> as schemars::JsonSchema>::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <Vec<Finding> as schemars::JsonSchema>::json_schema(generator)
    }
}

enum Source {
    Run(RunRecords, Vec<u8>),
    /// Findings held in memory, and the index of the next.
    Memory(Arc<Vec<Finding>>, usize),
}

impl Source {
    fn next(&mut self) -> Result<Option<Finding>> {
        match self {
            Source::Memory(list, at) => {
                let next = list.get(*at).cloned();
                *at += 1;
                Ok(next)
            }
            Source::Run(reader, buf) => {
                if !reader.next_into(buf).map_err(spill_error)? {
                    return Ok(None);
                }
                serde_json::from_slice(buf)
                    .map(Some)
                    .map_err(|e| spill_error(std::io::Error::other(e)))
            }
        }
    }
}

fn spill_error(e: std::io::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("the findings written to a temporary file cannot be read back: {e}"),
    )
}

/// The findings in report order: the sorted runs, the in-memory tail and the added findings
/// merged, each taken from the source whose next finding comes first (of equal ones, the
/// earlier source, which found it first).
pub struct Iter {
    lang: Lang,
    shown: bool,
    sources: Vec<Source>,
    heads: Vec<Option<Finding>>,
    /// The index of the source of added findings.
    extra: usize,
    started: bool,
    failed: bool,
}

impl Iter {
    fn fill(&mut self, i: usize) -> Result<()> {
        if let (Some(source), Some(head)) = (self.sources.get_mut(i), self.heads.get_mut(i)) {
            *head = source.next()?;
        }
        Ok(())
    }

    /// Whether the head of source `a` comes before that of source `b`.
    fn before(&self, a: usize, b: usize) -> bool {
        let (Some(Some(x)), Some(Some(y))) = (self.heads.get(a), self.heads.get(b)) else {
            return false;
        };
        let order = if a == self.extra || b == self.extra {
            report_order_in(x, y, self.lang)
        } else {
            collected_order(self.lang)(x, y)
        };
        order == Ordering::Less || (order == Ordering::Equal && a < b)
    }
}

impl Iterator for Iter {
    type Item = Result<Finding>;

    fn next(&mut self) -> Option<Result<Finding>> {
        if self.failed {
            return None;
        }
        if !self.started {
            self.started = true;
            for i in 0..self.sources.len() {
                if let Err(e) = self.fill(i) {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        let mut best: Option<usize> = None;
        for i in 0..self.heads.len() {
            if matches!(self.heads.get(i), Some(Some(_))) && best.is_none_or(|b| self.before(i, b))
            {
                best = Some(i);
            }
        }
        let i = best?;
        let found = self.heads.get_mut(i).and_then(Option::take)?;
        if let Err(e) = self.fill(i) {
            self.failed = true;
            return Some(Err(e));
        }
        Some(Ok(if self.shown {
            found.into_lang(self.lang)
        } else {
            found
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::{Collector, FindingSink, RUN_LEN};
    use crate::finding::{report_order, Finding, Location};
    use crate::standard::Severity;
    use crate::text::{Lang, Text};

    fn finding(rule: &str, line: u64, zh: &str, en: &str) -> Finding {
        Finding::builtin(
            rule,
            Severity::Major,
            Location {
                file: Some("cases.jsonl".into()),
                line: Some(line),
                ..Location::default()
            },
            Text::bi(zh.to_string(), en.to_string()),
        )
    }

    /// What a report listed before findings were spilled: sorted in English, put in the
    /// report's language, then sorted again.
    fn sorted_in_memory(mut all: Vec<Finding>, lang: Lang) -> Vec<Finding> {
        all.sort_by(report_order);
        let mut all: Vec<Finding> = all.into_iter().map(|f| f.into_lang(lang)).collect();
        all.sort_by(report_order);
        all
    }

    fn many() -> Vec<Finding> {
        // Rules, lines and messages repeat, so that runs hold ties to keep in found order;
        // the Chinese messages tie where the English ones differ.
        (0..(RUN_LEN as u64 * 7 + 3))
            .map(|i| {
                finding(
                    ["R-2", "R-1", "R-3"][(i % 3) as usize],
                    i % 5,
                    "同一句",
                    ["b", "a", "c", "a"][(i % 4) as usize],
                )
            })
            .enumerate()
            .map(|(i, mut f)| {
                f.record.id = Some(format!("{}", i % 2));
                f
            })
            .collect()
    }

    #[test]
    fn spilled_findings_come_back_in_the_order_an_in_memory_sort_gives() {
        for lang in [Lang::En, Lang::Zh] {
            let all = many();
            let mut c = Collector::new(lang);
            for f in all.clone() {
                c.finding(f);
            }
            let findings = c.finish();
            assert!(findings.runs.len() > 1, "the collector wrote runs");
            assert_eq!(findings.len(), all.len());
            let got = findings.to_vec().expect("read back");
            assert_eq!(got, sorted_in_memory(all, lang), "{lang:?}");
            // Read twice, the same.
            assert_eq!(findings.to_vec().expect("read back"), got);
        }
    }

    #[test]
    fn findings_added_after_collection_follow_the_collected_ones_they_tie_with() {
        let mut c = Collector::new(Lang::Zh);
        let all = many();
        for f in all.clone() {
            c.finding(f);
        }
        let mut findings = c.finish();
        let added = finding("R-1", 0, "同一句", "z").into_lang(Lang::Zh);
        findings.push(added.clone());
        let mut expected = sorted_in_memory(all, Lang::Zh);
        expected.push(added);
        expected.sort_by(report_order);
        assert_eq!(findings.to_vec().expect("read back"), expected);
        assert_eq!(findings.count(Severity::Major), findings.len());
        // In the other language, the same findings in that language's order.
        let en = findings.in_lang(Lang::En).expect("read back");
        assert_eq!(en.len(), expected.len());
        let en = en.to_vec().expect("read back");
        assert!(en
            .windows(2)
            .all(|w| report_order(&w[0], &w[1]) != std::cmp::Ordering::Greater));
    }

    #[test]
    fn serialised_findings_are_the_list_they_read_as() {
        let mut c = Collector::new(Lang::En);
        for f in many() {
            c.finding(f);
        }
        let findings = c.finish();
        let list = findings.to_vec().expect("read back");
        assert_eq!(
            serde_json::to_string(&findings).expect("serialise"),
            serde_json::to_string(&list).expect("serialise")
        );
    }
}
