//! The tally: judged records folded in the order they were read into small accumulators (the ids
//! seen, the groups of copies, the kinds present), then summed into per-rule and per-indicator
//! results. Copies of one record (records of one kind sharing an id) are judged once, as the least
//! favourable of them: copies add nothing, and a clean copy cannot hide a failing one.

use std::collections::BTreeSet;
use std::hash::BuildHasher;

use super::record::{Contribution, Judgement, Outcome, Packed, Plan};
use super::{IndicatorTally, RuleTally, WaiverUse};
use crate::finding::Location;
use crate::standard::{CompiledTarget, Direction, Measure};

/// One evaluated record, as the tally keeps it: where it is, and where its packed judgement
/// sits in the tally's arena.
#[derive(Clone, Copy)]
struct Member {
    file: u32,
    len: u32,
    line: u64,
    at: u64,
}

/// The evaluated records of one kind that share an id (or one record with no id): the first,
/// and the copies read after it (rare, so boxed).
struct Group {
    kind: u32,
    first: Member,
    // Boxed: one pointer in every group, where a `Vec` would take three.
    #[allow(clippy::box_collection)]
    copies: Option<Box<Vec<Member>>>,
}

impl Group {
    fn members(&self) -> impl Iterator<Item = &Member> {
        std::iter::once(&self.first).chain(self.copies.iter().flat_map(|c| c.iter()))
    }
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

/// The accumulators of a run. A record costs it a few dozen bytes: its place, its packed
/// judgement in one arena, and its id as a 128-bit keyed hash (of the kind and the id), not as
/// text.
pub(super) struct Tally {
    /// Whether groups keep their id: only waivers need it, at the end.
    keep_ids: bool,
    groups: Vec<Group>,
    /// Per group, its id, when `keep_ids`.
    group_ids: Vec<Option<Box<str>>>,
    /// The packed judgements, end to end.
    arena: Vec<u8>,
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

impl Tally {
    /// The accumulators of a run; `waivers`: whether any waiver is in force.
    pub fn new(waivers: bool) -> Tally {
        Tally {
            keep_ids: waivers,
            groups: Vec::new(),
            group_ids: Vec::new(),
            arena: Vec::new(),
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

    fn judgement(&self, m: &Member) -> Packed<'_> {
        let start = usize::try_from(m.at).unwrap_or(usize::MAX);
        let end = start.saturating_add(m.len as usize);
        Packed(self.arena.get(start..end).unwrap_or_default())
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
        let bytes = judgement.bytes();
        let member = Member {
            file,
            len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
            line,
            at: self.arena.len() as u64,
        };
        self.arena.extend_from_slice(bytes);
        let next = u32::try_from(self.groups.len()).unwrap_or(NO_GROUP);
        if let Some(id) = id {
            let key = self.key(kind, id);
            let seen = self.ids.entry(key).or_insert(Seen {
                file,
                group: NO_GROUP,
                line: short_line(line),
            });
            if let Some(group) = self.groups.get_mut(seen.group as usize) {
                group
                    .copies
                    .get_or_insert_with(Default::default)
                    .push(member);
                return;
            }
            seen.group = next;
        }
        self.groups.push(Group {
            kind: u32::try_from(kind).unwrap_or(u32::MAX),
            first: member,
            copies: None,
        });
        if self.keep_ids {
            self.group_ids.push(id.map(Box::from));
        }
    }

    /// The rules' tallies (`None` for a rule tailoring deselected) and the waived results, in
    /// rule order and, within a rule, in the order the records were read.
    pub fn rules(&self, plan: &Plan, files: &[String]) -> (Vec<Option<RuleTally>>, Vec<WaiverUse>) {
        let standard = plan.standard;
        let mut tallies: Vec<Option<RuleTally>> = (0..standard.rules.len())
            .map(|i| plan.tailoring.rules[i].active.then(RuleTally::default))
            .collect();
        let mut uses: Vec<(usize, usize, WaiverUse)> = Vec::new();
        for (gi, group) in self.groups.iter().enumerate() {
            let kind = group.kind as usize;
            let id = self.group_ids.get(gi).and_then(|i| i.as_deref());
            let rules_of_kind = plan.rules_of_kind.get(kind).map_or(&[][..], Vec::as_slice);
            for (pos, &ri) in rules_of_kind.iter().enumerate() {
                let Some(tally) = tallies.get_mut(ri).and_then(Option::as_mut) else {
                    continue;
                };
                // The least favourable member; of equally bad ones, the last read.
                let worst = group
                    .members()
                    .filter_map(|m| self.judgement(m).rule(pos).map(|o| (m, o)))
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
        uses.sort_by_key(|(ri, gi, _)| (*ri, *gi));
        (tallies, uses.into_iter().map(|(_, _, u)| u).collect())
    }

    /// The indicators' values (`None` for an indicator tailoring deselected).
    pub fn indicators(&self, plan: &Plan) -> Vec<Option<IndicatorTally>> {
        let standard = plan.standard;
        (0..standard.indicators.len())
            .map(|ii| {
                if !plan.tailoring.indicators[ii].active {
                    return None;
                }
                let kind = plan.kind_index(&standard.indicators[ii].def.applies_to)?;
                let pos = plan.indicators_of_kind[kind]
                    .iter()
                    .position(|&i| i == ii)?;
                Some(self.indicator(plan, ii, kind, pos))
            })
            .collect()
    }

    fn indicator(&self, plan: &Plan, ii: usize, kind: usize, pos: usize) -> IndicatorTally {
        let ind = &plan.standard.indicators[ii];
        let def = &ind.def;
        let higher = def.direction == Direction::Higher;
        let mut tally = IndicatorTally::default();
        let mut counted = 0u64;
        let mut sum = 0.0;
        let mut distinct = BTreeSet::new();
        // Each group counts once, as the least favourable of its members for the indicator's
        // direction; a group of one is its record.
        for group in self.groups.iter().filter(|g| g.kind as usize == kind) {
            let all: Vec<Contribution> = group
                .members()
                .filter_map(|m| self.judgement(m).contribution(pos))
                .collect();
            // A copy that `where` leaves out is less favourable, for a `higher` indicator, than
            // one it counts: the id then adds nothing but, in a rate, its place in the
            // denominator.
            let all_in = !all.iter().any(|c| matches!(c, Contribution::Out));
            let parts: Vec<Contribution> = all
                .into_iter()
                .filter(|c| !matches!(c, Contribution::Out))
                .collect();
            if parts.is_empty() || (higher && !all_in && def.measure != Measure::Rate) {
                continue;
            }
            match def.measure {
                Measure::Count => counted += 1,
                Measure::Rate => {
                    counted += 1;
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
                        sum += 1.0;
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
                        sum += n;
                        counted += 1;
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
                                distinct.insert((*first).clone());
                            }
                        }
                    } else {
                        distinct.extend(values.into_iter().cloned());
                    }
                }
            }
        }
        let n = counted as f64;
        // With no record of its kind at all the indicator has nothing to apply to; a count, sum
        // or distinct count over records of the kind that `where` leaves out is 0.
        let any = self.kinds_present.contains(&kind);
        (tally.numerator, tally.denominator, tally.value) = match def.measure {
            Measure::Count => (n, None, any.then_some(n)),
            Measure::Sum => (sum, None, any.then_some(sum)),
            Measure::Distinct => {
                let d = distinct.len() as f64;
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
