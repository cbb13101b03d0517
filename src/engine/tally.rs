//! The tally: judged records folded in the order they were read into small accumulators (the ids
//! seen, the groups of copies, the kinds present), then summed into per-rule and per-indicator
//! results. Copies of one record (records of one kind sharing an id) are judged once, as the least
//! favourable of them: copies add nothing, and a clean copy cannot hide a failing one.
//!
//! Memory stays flat however many records a run reads. Each judged record (its place and packed
//! judgement) goes to a spool on disk as it is read; each id (as a 128-bit keyed hash of its kind
//! and text, with its place) goes to sorted runs on disk. At the end the runs are merged, which
//! finds the duplicate ids and the copies, and the spool is read back in order and summed.

use std::collections::{BTreeSet, BinaryHeap};
use std::hash::BuildHasher;

use super::record::{Contribution, Judgement, Outcome, Packed, Plan};
use super::{IndicatorTally, RuleTally, WaiverUse};
use crate::finding::Location;
use crate::spool::{push_record, Cursor, RunRecords, Runs, Spool};
use crate::standard::{CompiledTarget, Direction, Measure};

/// One member of a group as the results are summed: its place and judgement.
struct Member<'a> {
    file: u32,
    line: u64,
    judgement: Packed<'a>,
}

/// A copy of a group's first record, read after it: its place and packed judgement.
struct Copy {
    file: u32,
    line: u64,
    judgement: Box<[u8]>,
}

/// A judged record as the spool holds it: its order, kind and place, its id when waivers need
/// it, and its packed judgement. Written by [`Spooled::push`] and read by [`Spooled::read`]
/// only, so the two cannot drift apart.
struct Spooled<'b> {
    seq: u64,
    kind: u32,
    file: u32,
    line: u64,
    id: Option<&'b str>,
    judgement: &'b [u8],
}

impl<'b> Spooled<'b> {
    fn push(&self, spool: &mut Spool) {
        let id = self.id.unwrap_or_default();
        spool.push(&[
            &self.seq.to_le_bytes(),
            &self.kind.to_le_bytes(),
            &self.file.to_le_bytes(),
            &self.line.to_le_bytes(),
            &[u8::from(self.id.is_some())],
            &u32::try_from(id.len()).unwrap_or(u32::MAX).to_le_bytes(),
            id.as_bytes(),
            self.judgement,
        ]);
    }

    /// `None` when the record is cut short.
    fn read(record: &'b [u8]) -> Option<Spooled<'b>> {
        let mut c = Cursor(record);
        let (seq, kind, file, line, has_id, id) =
            (c.u64()?, c.u32()?, c.u32()?, c.u64()?, c.u8()?, c.bytes()?);
        Some(Spooled {
            seq,
            kind,
            file,
            line,
            id: (has_id == 1)
                .then(|| std::str::from_utf8(id).ok())
                .flatten(),
            judgement: c.0,
        })
    }
}

/// A 128-bit keyed hash of a kind and an id.
type Key = [u32; 4];

/// The two keys of a 128-bit hash, drawn at random for each run, so that no one can prepare
/// values whose hashes collide.
#[derive(Default)]
struct Keys(
    foldhash::quality::RandomState,
    foldhash::quality::RandomState,
);

impl Keys {
    fn hash(&self, value: impl std::hash::Hash + std::marker::Copy) -> u128 {
        u128::from(self.0.hash_one(value)) << 64 | u128::from(self.1.hash_one(value))
    }
}

/// How many ids are gathered in memory before they are sorted and written out as a run. (Unit
/// tests use a small number, so that their runs merge many.)
const ID_RUN: usize = if cfg!(test) { 8 } else { 1 << 16 };

/// An id as read: before its run is written, its text is a range of the batch's text arena;
/// read back from the run, a string.
struct IdEntry<T> {
    key: Key,
    /// The order the ids were read in.
    seq: u64,
    file: u32,
    line: u64,
    kind: u32,
    /// Whether the record was judged and scored (only those form groups).
    scored: bool,
    text: T,
}

/// A duplicate id: where it was read, and where it was read first.
pub(super) struct Duplicate {
    /// The order it was read in.
    seq: u64,
    pub kind: usize,
    pub id: String,
    pub file: u32,
    pub line: u64,
    pub first_file: u32,
    /// The first line, as a duplicate's message says it (a line beyond 2^32 - 1 as the largest).
    pub first_line: u64,
}

/// The accumulators of a run.
pub(super) struct Tally {
    /// Whether groups keep their id: only waivers need it, at the end.
    keep_ids: bool,
    /// Each scored record, in the order read: its id's order (or none), kind, file, line, id
    /// (when `keep_ids`) and packed judgement.
    judged: Spool,
    /// The ids read, in sorted runs of (key, order).
    id_runs: Runs,
    ids: Vec<IdEntry<std::ops::Range<usize>>>,
    id_text: String,
    next_seq: u64,
    /// The two keys of the id hash, drawn at random for each run: an id cannot be made to
    /// collide with another's in advance.
    keys: Keys,
    /// Kinds with at least one evaluated record.
    pub kinds_present: BTreeSet<usize>,
    pub records_read: usize,
    pub records_evaluated: usize,
}

/// What the tally sums to: the rules' tallies (`None` for a rule tailoring deselected), the
/// waived results in rule order and, within a rule, in the order the records were read, the
/// indicators' values (`None` for an indicator tailoring deselected), and the duplicate ids.
pub(super) struct Results {
    pub rules: Vec<Option<RuleTally>>,
    pub waiver_uses: Vec<WaiverUse>,
    pub indicators: Vec<Option<IndicatorTally>>,
    pub duplicates: Vec<Duplicate>,
}

/// No id.
const NO_SEQ: u64 = u64::MAX;

impl Tally {
    /// The accumulators of a run; `waivers`: whether any waiver is in force.
    pub fn new(waivers: bool) -> Tally {
        Tally {
            keep_ids: waivers,
            judged: Spool::default(),
            id_runs: Runs::default(),
            ids: Vec::new(),
            id_text: String::new(),
            next_seq: 0,
            keys: Default::default(),
            kinds_present: BTreeSet::new(),
            records_read: 0,
            records_evaluated: 0,
        }
    }

    fn key(&self, kind: usize, id: &str) -> Key {
        let h = self.keys.hash((kind, id));
        let (b, a) = (h as u64, (h >> 64) as u64);
        [a as u32, (a >> 32) as u32, b as u32, (b >> 32) as u32]
    }

    /// Counts an evaluated record of a kind no active rule or indicator is about: it is only
    /// present.
    pub fn present(&mut self, kind: usize) {
        self.records_evaluated += 1;
        self.kinds_present.insert(kind);
    }

    /// Notes a record of a known kind: its id, if it has one, and its judgement, when it was
    /// judged and its kind is scored.
    pub fn record(
        &mut self,
        kind: usize,
        id: Option<&str>,
        file: u32,
        line: u64,
        judgement: Option<Judgement>,
    ) {
        let seq = match id {
            Some(id) => {
                let seq = self.next_seq;
                self.next_seq += 1;
                let start = self.id_text.len();
                self.id_text.push_str(id);
                self.ids.push(IdEntry {
                    key: self.key(kind, id),
                    seq,
                    file,
                    line,
                    kind: u32::try_from(kind).unwrap_or(u32::MAX),
                    scored: judgement.is_some(),
                    text: start..self.id_text.len(),
                });
                if self.ids.len() >= ID_RUN {
                    self.write_ids();
                }
                seq
            }
            None => NO_SEQ,
        };
        let Some(judgement) = judgement else {
            return;
        };
        self.records_evaluated += 1;
        self.kinds_present.insert(kind);
        let kept = id.filter(|_| self.keep_ids);
        Spooled {
            seq,
            kind: u32::try_from(kind).unwrap_or(u32::MAX),
            file,
            line,
            id: kept,
            judgement: judgement.bytes(),
        }
        .push(&mut self.judged);
    }

    /// Writes the ids gathered as a run sorted by (key, order).
    fn write_ids(&mut self) {
        // Gathered in order: a stable sort by key keeps each key's ids in the order read.
        self.ids.sort_by_key(|e| e.key);
        let mut run = Vec::new();
        for e in &self.ids {
            let text = self.id_text.get(e.text.clone()).unwrap_or_default();
            let key: Vec<u8> = e.key.iter().flat_map(|k| k.to_le_bytes()).collect();
            push_record(
                &mut run,
                &[
                    &key,
                    &e.seq.to_le_bytes(),
                    &e.file.to_le_bytes(),
                    &e.line.to_le_bytes(),
                    &e.kind.to_le_bytes(),
                    &[u8::from(e.scored)],
                    text.as_bytes(),
                ],
            );
        }
        self.id_runs.push(run);
        self.ids.clear();
        self.id_text.clear();
    }

    /// Sums the groups, in the order their first records were read, into the rules' and the
    /// indicators' results; an error only when what was written to disk cannot be read back.
    pub fn results(mut self, plan: &Plan, files: &[String]) -> std::io::Result<Results> {
        self.write_ids();
        let (duplicates, copy_of) = merge_ids(&self.id_runs)?;
        let mut bad = false;
        // The copies' judgements, by the order of their group's first id.
        let mut copies: foldhash::HashMap<u64, Vec<Copy>> = Default::default();
        if !copy_of.is_empty() {
            self.judged.for_each(|record| {
                let Some(r) = Spooled::read(record) else {
                    bad = true;
                    return;
                };
                if let Some(&first) = copy_of.get(&r.seq) {
                    copies.entry(first).or_default().push(Copy {
                        file: r.file,
                        line: r.line,
                        judgement: r.judgement.into(),
                    });
                }
            })?;
        }
        let standard = plan.standard;
        let mut rules: Vec<Option<RuleTally>> = (0..standard.rules.len())
            .map(|i| plan.tailoring.rules[i].active.then(RuleTally::default))
            .collect();
        let mut uses: Vec<(usize, u64, WaiverUse)> = Vec::new();
        let mut indicators: Vec<Option<IndicatorSum>> = (0..standard.indicators.len())
            .map(|ii| IndicatorSum::new(plan, ii))
            .collect();
        let mut group = 0u64;
        self.judged.for_each(|record| {
            let Some(r) = Spooled::read(record) else {
                bad = true;
                return;
            };
            if copy_of.contains_key(&r.seq) {
                return;
            }
            let gi = group;
            group += 1;
            let id = r.id;
            let first = Member {
                file: r.file,
                line: r.line,
                judgement: Packed(r.judgement),
            };
            let copies = copies.get(&r.seq).map_or(&[][..], Vec::as_slice);
            let members: Vec<Member> = std::iter::once(first)
                .chain(copies.iter().map(|c| Member {
                    file: c.file,
                    line: c.line,
                    judgement: Packed(&c.judgement),
                }))
                .collect();
            let kind = r.kind as usize;
            sum_rules(plan, files, kind, id, gi, &members, &mut rules, &mut uses);
            for (pos, &ii) in plan
                .indicators_of_kind
                .get(kind)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .enumerate()
            {
                if let Some(Some(sum)) = indicators.get_mut(ii) {
                    if sum.kind == kind {
                        sum.add(&members, pos);
                    }
                }
            }
        })?;
        if bad {
            return Err(std::io::Error::other(
                "a spooled record cannot be read back",
            ));
        }
        uses.sort_by_key(|(ri, gi, _)| (*ri, *gi));
        Ok(Results {
            rules,
            waiver_uses: uses.into_iter().map(|(_, _, u)| u).collect(),
            indicators: indicators
                .into_iter()
                .map(|s| s.map(|s| s.finish(plan, &self.kinds_present)).transpose())
                .collect::<std::io::Result<_>>()?,
            duplicates,
        })
    }
}

fn read_id(reader: &mut RunRecords, buf: &mut Vec<u8>) -> std::io::Result<Option<IdEntry<String>>> {
    if !reader.next_into(buf)? {
        return Ok(None);
    }
    let mut c = Cursor(buf);
    let parts = (
        c.u32(),
        c.u32(),
        c.u32(),
        c.u32(),
        c.u64(),
        c.u32(),
        c.u64(),
        c.u32(),
        c.u8(),
    );
    let (
        Some(k0),
        Some(k1),
        Some(k2),
        Some(k3),
        Some(seq),
        Some(file),
        Some(line),
        Some(kind),
        Some(scored),
    ) = parts
    else {
        return Err(std::io::Error::other("an id run cannot be read back"));
    };
    Ok(Some(IdEntry {
        key: [k0, k1, k2, k3],
        seq,
        file,
        line,
        kind,
        scored: scored == 1,
        text: String::from_utf8_lossy(c.0).into_owned(),
    }))
}

/// Merges the id runs: every id read again after its first reading is a duplicate (named with
/// its first place); every scored record whose id an earlier scored record has is a copy of it
/// (by the order of its id, the order of the first's).
fn merge_ids(runs: &Runs) -> std::io::Result<(Vec<Duplicate>, foldhash::HashMap<u64, u64>)> {
    let mut readers = runs.readers();
    let mut buf = Vec::new();
    let mut heads: Vec<Option<IdEntry<String>>> = Vec::with_capacity(readers.len());
    let mut heap = BinaryHeap::new();
    for (i, r) in readers.iter_mut().enumerate() {
        let head = read_id(r, &mut buf)?;
        if let Some(h) = &head {
            heap.push(std::cmp::Reverse((h.key, h.seq, i)));
        }
        heads.push(head);
    }
    let mut duplicates = Vec::new();
    let mut copy_of: foldhash::HashMap<u64, u64> = Default::default();
    // The first id of the current key, and its first scored record's order.
    let mut first: Option<(Key, u32, u64, Option<u64>)> = None;
    while let Some(std::cmp::Reverse((_, _, i))) = heap.pop() {
        let (Some(slot), Some(reader)) = (heads.get_mut(i), readers.get_mut(i)) else {
            break;
        };
        let Some(id) = slot.take() else {
            continue;
        };
        let next = read_id(reader, &mut buf)?;
        if let Some(h) = &next {
            heap.push(std::cmp::Reverse((h.key, h.seq, i)));
        }
        *slot = next;
        match &mut first {
            Some((key, first_file, first_line, scored)) if *key == id.key => {
                duplicates.push(Duplicate {
                    seq: id.seq,
                    kind: id.kind as usize,
                    id: id.text,
                    file: id.file,
                    line: id.line,
                    first_file: *first_file,
                    first_line: *first_line,
                });
                if id.scored {
                    match scored {
                        Some(leader) => {
                            copy_of.insert(id.seq, *leader);
                        }
                        None => *scored = Some(id.seq),
                    }
                }
            }
            _ => {
                first = Some((
                    id.key,
                    id.file,
                    u64::from(u32::try_from(id.line).unwrap_or(u32::MAX)),
                    id.scored.then_some(id.seq),
                ));
            }
        }
    }
    // Duplicates in the order they were read.
    duplicates.sort_by_key(|d| d.seq);
    Ok((duplicates, copy_of))
}

/// Adds a group's results on the rules of its kind.
#[allow(clippy::too_many_arguments)]
fn sum_rules(
    plan: &Plan,
    files: &[String],
    kind: usize,
    id: Option<&str>,
    gi: u64,
    members: &[Member],
    tallies: &mut [Option<RuleTally>],
    uses: &mut Vec<(usize, u64, WaiverUse)>,
) {
    let standard = plan.standard;
    let rules_of_kind = plan.rules_of_kind.get(kind).map_or(&[][..], Vec::as_slice);
    for (pos, &ri) in rules_of_kind.iter().enumerate() {
        let Some(tally) = tallies.get_mut(ri).and_then(Option::as_mut) else {
            continue;
        };
        // The least favourable member; of equally bad ones, the last read.
        let worst = members
            .iter()
            .filter_map(|m| m.judgement.rule(pos).map(|o| (m, o)))
            .max_by_key(|(_, o)| o.badness());
        let Some((member, outcome)) = worst else {
            tally.not_applicable += 1;
            continue;
        };
        if let Some(w) = plan.covering_waiver(ri, id) {
            tally.waived += 1;
            uses.push((
                ri,
                gi,
                WaiverUse {
                    waiver: w,
                    rule: standard.rules[ri].def.id.clone(),
                    record: Location {
                        kind: plan.kinds.get(kind).map(|k| k.to_string()),
                        id: id.map(str::to_string),
                        file: files.get(member.file as usize).cloned(),
                        line: Some(member.line),
                        column: None,
                        pointer: None,
                    },
                    outcome,
                },
            ));
            continue;
        }
        match outcome {
            Outcome::Pass => tally.pass += 1,
            Outcome::Fail => tally.fail += 1,
            Outcome::Error => tally.error += 1,
        }
    }
}

/// An indicator's sums as the groups are added.
struct IndicatorSum {
    ii: usize,
    kind: usize,
    measure: Measure,
    higher: bool,
    counted: u64,
    sum: f64,
    distinct: Distinct,
}

/// How many value hashes a distinct count gathers before it sorts them and writes them out as
/// a run. (Unit tests use a small number, so that their counts merge many runs.)
const DISTINCT_RUN: usize = if cfg!(test) { 8 } else { 1 << 16 };

/// The distinct values an indicator has met, counted in bounded memory: each value as a
/// 128-bit keyed hash (drawn at random for each run, as the ids' are), gathered, sorted and
/// written as a run to a temporary file when there are many, and the runs merged at the end to
/// count. Only the number of values is reported, never the values.
struct Distinct {
    keys: Keys,
    hashes: Vec<u128>,
    runs: Runs,
}

impl Distinct {
    fn new() -> Distinct {
        Distinct {
            keys: Default::default(),
            hashes: Vec::new(),
            runs: Runs::default(),
        }
    }

    fn insert(&mut self, value: &str) {
        self.hashes.push(self.keys.hash(value));
        if self.hashes.len() >= DISTINCT_RUN {
            self.seal();
        }
    }

    /// Writes the gathered hashes as a sorted run without repeats.
    fn seal(&mut self) {
        self.hashes.sort_unstable();
        self.hashes.dedup();
        let mut run = Vec::with_capacity(self.hashes.len() * 20);
        for h in &self.hashes {
            push_record(&mut run, &[&h.to_le_bytes()]);
        }
        self.runs.push(run);
        self.hashes.clear();
    }

    /// How many distinct values were met; an error only when a run cannot be read back.
    fn count(mut self) -> std::io::Result<usize> {
        if self.runs.is_empty() {
            self.hashes.sort_unstable();
            self.hashes.dedup();
            return Ok(self.hashes.len());
        }
        self.seal();
        let mut readers = self.runs.readers();
        let mut buf = Vec::new();
        let read = |r: &mut RunRecords, buf: &mut Vec<u8>| -> std::io::Result<Option<u128>> {
            if !r.next_into(buf)? {
                return Ok(None);
            }
            let bytes: [u8; 16] = buf.as_slice().try_into().map_err(|_| {
                std::io::Error::other("a distinct value's hash cannot be read back")
            })?;
            Ok(Some(u128::from_le_bytes(bytes)))
        };
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(h) = read(r, &mut buf)? {
                heap.push(std::cmp::Reverse((h, i)));
            }
        }
        let (mut count, mut last) = (0usize, None);
        while let Some(std::cmp::Reverse((h, i))) = heap.pop() {
            if last != Some(h) {
                count += 1;
                last = Some(h);
            }
            if let Some(r) = readers.get_mut(i) {
                if let Some(next) = read(r, &mut buf)? {
                    heap.push(std::cmp::Reverse((next, i)));
                }
            }
        }
        Ok(count)
    }
}

impl IndicatorSum {
    /// `None` for an indicator tailoring deselected, or about no kind of the standard.
    fn new(plan: &Plan, ii: usize) -> Option<IndicatorSum> {
        if !plan.tailoring.indicators[ii].active {
            return None;
        }
        let kind = plan.kind_index(&plan.standard.indicators[ii].def.applies_to)?;
        plan.indicators_of_kind
            .get(kind)?
            .iter()
            .position(|&i| i == ii)?;
        let def = &plan.standard.indicators[ii].def;
        Some(IndicatorSum {
            ii,
            kind,
            measure: def.measure,
            higher: def.direction == Direction::Higher,
            counted: 0,
            sum: 0.0,
            distinct: Distinct::new(),
        })
    }

    /// Adds a group: it counts once, as the least favourable of its members for the
    /// indicator's direction; a group of one is its record.
    fn add(&mut self, members: &[Member], pos: usize) {
        let higher = self.higher;
        let all: Vec<Contribution> = members
            .iter()
            .filter_map(|m| m.judgement.contribution(pos))
            .collect();
        // A copy that `where` leaves out is less favourable, for a `higher` indicator, than
        // one it counts: the id then adds nothing but, in a rate, its place in the
        // denominator.
        let all_in = !all.iter().any(|c| matches!(c, Contribution::Out));
        let parts: Vec<Contribution> = all
            .into_iter()
            .filter(|c| !matches!(c, Contribution::Out))
            .collect();
        if parts.is_empty() || (higher && !all_in && self.measure != Measure::Rate) {
            return;
        }
        match self.measure {
            Measure::Count => self.counted += 1,
            Measure::Rate => {
                self.counted += 1;
                let hits = parts
                    .iter()
                    .filter(|c| matches!(c, Contribution::Hit(true)))
                    .count();
                let hit = if higher {
                    all_in && hits == parts.len()
                } else {
                    hits > 0
                };
                if hit {
                    self.sum += 1.0;
                }
            }
            Measure::Sum | Measure::Mean => {
                let numbers = parts.iter().filter_map(|c| match c {
                    Contribution::Number(n) => Some(*n),
                    _ => None,
                });
                let worst = if higher {
                    numbers.reduce(f64::min)
                } else {
                    numbers.reduce(f64::max)
                };
                if let Some(n) = worst {
                    self.sum += n;
                    self.counted += 1;
                }
            }
            Measure::Distinct => {
                let values: Vec<&String> = parts
                    .iter()
                    .filter_map(|c| match c {
                        Contribution::Value(v) => Some(v),
                        _ => None,
                    })
                    .collect();
                if higher {
                    // Copies that disagree add nothing; copies that agree add their value
                    // once.
                    if let Some(first) = values.first() {
                        if values.iter().all(|v| v == first) {
                            self.distinct.insert(first);
                        }
                    }
                } else {
                    for v in values {
                        self.distinct.insert(v);
                    }
                }
            }
        }
    }

    /// The indicator's value and target.
    fn finish(
        self,
        plan: &Plan,
        kinds_present: &BTreeSet<usize>,
    ) -> std::io::Result<IndicatorTally> {
        let ind = &plan.standard.indicators[self.ii];
        let mut tally = IndicatorTally::default();
        let (counted, sum) = (self.counted, self.sum);
        let n = counted as f64;
        // With no record of its kind at all the indicator has nothing to apply to; a count, sum
        // or distinct count over records of the kind that `where` leaves out is 0.
        let any = kinds_present.contains(&self.kind);
        (tally.numerator, tally.denominator, tally.value) = match self.measure {
            Measure::Count => (n, None, any.then_some(n)),
            Measure::Sum => (sum, None, any.then_some(sum)),
            Measure::Distinct => {
                let d = self.distinct.count()? as f64;
                (d, None, any.then_some(d))
            }
            Measure::Rate => (sum, Some(n), (counted > 0).then(|| sum / n)),
            Measure::Mean => (sum, Some(n), (counted > 0).then(|| sum / n)),
        };
        match &ind.target {
            CompiledTarget::Number(t) => tally.target = Some(*t),
            CompiledTarget::Expr(e) => match super::record::eval_target(e, plan.target_context()) {
                Ok(t) => tally.target = Some(t),
                Err(why) => tally.error = Some(why),
            },
        }
        Ok(tally)
    }
}

#[cfg(test)]
mod tests {
    use super::{Distinct, DISTINCT_RUN};

    #[test]
    fn a_distinct_count_over_many_runs_counts_each_value_once() {
        for n in [
            0usize,
            1,
            DISTINCT_RUN - 1,
            DISTINCT_RUN,
            10 * DISTINCT_RUN + 3,
        ] {
            let mut distinct = Distinct::new();
            let mut expected = std::collections::BTreeSet::new();
            for i in 0..n {
                // Values repeat within a run, across runs, and at the edges of runs.
                let value = format!("client-{}", (i * 7) % (n / 2 + 1));
                distinct.insert(&value);
                expected.insert(value);
            }
            let spilled = !distinct.runs.is_empty();
            assert_eq!(spilled, n >= DISTINCT_RUN, "{n} values");
            assert_eq!(
                distinct.count().expect("count"),
                expected.len(),
                "{n} values"
            );
        }
    }
}
