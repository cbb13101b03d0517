//! The tally: judged records folded in the order they were read into small accumulators (the ids
//! seen, the groups of copies, the kinds present), then summed into per-rule and per-indicator
//! results. Copies of one record (records of one kind sharing an id) are judged once, as the least
//! favourable of them: copies add nothing, and a clean copy cannot hide a failing one.
//!
//! Each group's first record (its place and packed judgement) goes to a spool on disk as it is
//! read, and is read back once, in order, when the results are summed: what stays in memory is
//! the id table (a 128-bit hash an id) and the rare copies.

use std::collections::BTreeSet;
use std::hash::BuildHasher;

use super::record::{Contribution, Judgement, Outcome, Packed, Plan};
use super::{IndicatorTally, RuleTally, WaiverUse};
use crate::finding::Location;
use crate::spool::{Cursor, Spool};
use crate::standard::{CompiledTarget, Direction, Measure};

/// A copy of a group's first record, read after it: its place and packed judgement.
struct Copy {
    file: u32,
    line: u64,
    judgement: Box<[u8]>,
}

/// One member of a group as the results are summed: its place and judgement.
struct Member<'a> {
    file: u32,
    line: u64,
    judgement: Packed<'a>,
}

/// Where an id was first read, and its group once a copy of it was evaluated (12 bytes: a
/// line beyond 2^32 is kept as the largest, and only said in a duplicate's message).
struct Seen {
    file: u32,
    group: u32,
    line: u32,
}

fn short_line(line: u64) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

/// A 128-bit keyed hash of a kind and an id.
type Key = [u32; 4];

// An entry of the id table: the key and where the id was seen, without padding.
const _: () = assert!(std::mem::size_of::<(Key, Seen)>() == 28);

/// No group yet.
const NO_GROUP: u32 = u32::MAX;

/// The accumulators of a run. A record costs it a 28-byte entry in the id table when it has
/// an id; its place and packed judgement are spooled to disk.
pub(super) struct Tally {
    /// Whether groups keep their id: only waivers need it, at the end.
    keep_ids: bool,
    /// Each group's first record, in the order read: kind, file, line, id, judgement.
    leaders: Spool,
    /// How many groups there are.
    groups: u32,
    /// The copies, by group.
    copies: foldhash::HashMap<u32, Vec<Copy>>,
    /// By the hash of (kind, id): where each id was first read, and its group.
    // In 32-bit parts: with `Seen`, 28 bytes an entry (a `u128` or two `u64`s would pad it to 32).
    ids: foldhash::HashMap<Key, Seen>,
    /// The two keys of the id hash, drawn at random for each run: an id cannot be made to
    /// collide with another's in advance.
    keys: (
        foldhash::quality::RandomState,
        foldhash::quality::RandomState,
    ),
    /// Kinds with at least one evaluated record.
    pub kinds_present: BTreeSet<usize>,
    pub records_read: usize,
    pub records_evaluated: usize,
}

/// What the tally sums to: the rules' tallies (`None` for a rule tailoring deselected), the
/// waived results in rule order and, within a rule, in the order the records were read, and the
/// indicators' values (`None` for an indicator tailoring deselected).
pub(super) struct Results {
    pub rules: Vec<Option<RuleTally>>,
    pub waiver_uses: Vec<WaiverUse>,
    pub indicators: Vec<Option<IndicatorTally>>,
}

impl Tally {
    /// The accumulators of a run; `waivers`: whether any waiver is in force.
    pub fn new(waivers: bool) -> Tally {
        Tally {
            keep_ids: waivers,
            leaders: Spool::default(),
            groups: 0,
            copies: Default::default(),
            ids: foldhash::HashMap::default(),
            keys: Default::default(),
            kinds_present: BTreeSet::new(),
            records_read: 0,
            records_evaluated: 0,
        }
    }

    fn key(&self, kind: usize, id: &str) -> Key {
        let (a, b) = (
            self.keys.0.hash_one((kind, id)),
            self.keys.1.hash_one((kind, id)),
        );
        [a as u32, (a >> 32) as u32, b as u32, (b >> 32) as u32]
    }

    /// Counts an evaluated record of a kind no active rule or indicator is about: it is only
    /// present.
    pub fn present(&mut self, kind: usize) {
        self.records_evaluated += 1;
        self.kinds_present.insert(kind);
    }

    /// Notes an id read at a place; where it was read first, if before.
    pub fn first_seen(
        &mut self,
        kind: usize,
        id: &str,
        file: u32,
        line: u64,
    ) -> Option<(u32, u64)> {
        let key = self.key(kind, id);
        match self.ids.get(&key) {
            Some(seen) => Some((seen.file, u64::from(seen.line))),
            None => {
                self.ids.insert(
                    key,
                    Seen {
                        file,
                        group: NO_GROUP,
                        line: short_line(line),
                    },
                );
                None
            }
        }
    }

    /// Adds an evaluated record to its group (its id noted first, by [`Tally::first_seen`]).
    pub fn add(
        &mut self,
        kind: usize,
        id: Option<&str>,
        file: u32,
        line: u64,
        judgement: Judgement,
    ) {
        self.records_evaluated += 1;
        self.kinds_present.insert(kind);
        let next = self.groups;
        if let Some(id) = id {
            let key = self.key(kind, id);
            let seen = self.ids.entry(key).or_insert(Seen {
                file,
                group: NO_GROUP,
                line: short_line(line),
            });
            if seen.group < next {
                self.copies.entry(seen.group).or_default().push(Copy {
                    file,
                    line,
                    judgement: judgement.bytes().into(),
                });
                return;
            }
            // Past 2^32 - 1 groups, a copy is a group of its own.
            if next != NO_GROUP {
                seen.group = next;
            }
        }
        let kept = id.filter(|_| self.keep_ids);
        self.leaders.push(&[
            &u32::try_from(kind).unwrap_or(u32::MAX).to_le_bytes(),
            &file.to_le_bytes(),
            &line.to_le_bytes(),
            &[u8::from(kept.is_some())],
            &u32::try_from(kept.map_or(0, str::len))
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
            kept.unwrap_or_default().as_bytes(),
            judgement.bytes(),
        ]);
        self.groups = self.groups.saturating_add(1);
    }

    /// Sums the groups, in the order their first records were read, into the rules' and the
    /// indicators' results; an error only when the spooled records cannot be read back.
    pub fn results(self, plan: &Plan, files: &[String]) -> std::io::Result<Results> {
        let standard = plan.standard;
        let mut rules: Vec<Option<RuleTally>> = (0..standard.rules.len())
            .map(|i| plan.tailoring.rules[i].active.then(RuleTally::default))
            .collect();
        let mut uses: Vec<(usize, u32, WaiverUse)> = Vec::new();
        let mut indicators: Vec<Option<IndicatorSum>> = (0..standard.indicators.len())
            .map(|ii| IndicatorSum::new(plan, ii))
            .collect();
        let mut group = 0u32;
        let mut bad = false;
        let Tally {
            leaders, copies, ..
        } = self;
        leaders.for_each(|record| {
            let gi = group;
            group = group.saturating_add(1);
            let mut c = Cursor(record);
            let (Some(kind), Some(file), Some(line), Some(has_id), Some(id)) =
                (c.u32(), c.u32(), c.u64(), c.u8(), c.bytes())
            else {
                bad = true;
                return;
            };
            let id = (has_id == 1)
                .then(|| std::str::from_utf8(id).ok())
                .flatten();
            let first = Member {
                file,
                line,
                judgement: Packed(c.0),
            };
            let copies = copies.get(&gi).map_or(&[][..], Vec::as_slice);
            let members: Vec<Member> = std::iter::once(first)
                .chain(copies.iter().map(|c| Member {
                    file: c.file,
                    line: c.line,
                    judgement: Packed(&c.judgement),
                }))
                .collect();
            let kind = kind as usize;
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
        let kinds_present = self.kinds_present;
        Ok(Results {
            rules,
            waiver_uses: uses.into_iter().map(|(_, _, u)| u).collect(),
            indicators: indicators
                .into_iter()
                .map(|s| s.map(|s| s.finish(plan, &kinds_present)))
                .collect(),
        })
    }
}

/// Adds a group's results on the rules of its kind.
#[allow(clippy::too_many_arguments)]
fn sum_rules(
    plan: &Plan,
    files: &[String],
    kind: usize,
    id: Option<&str>,
    gi: u32,
    members: &[Member],
    tallies: &mut [Option<RuleTally>],
    uses: &mut Vec<(usize, u32, WaiverUse)>,
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
    distinct: BTreeSet<String>,
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
            distinct: BTreeSet::new(),
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
                            self.distinct.insert((*first).clone());
                        }
                    }
                } else {
                    self.distinct.extend(values.into_iter().cloned());
                }
            }
        }
    }

    /// The indicator's value and target.
    fn finish(self, plan: &Plan, kinds_present: &BTreeSet<usize>) -> IndicatorTally {
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
                let d = self.distinct.len() as f64;
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
        tally
    }
}
