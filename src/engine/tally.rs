//! The tally: judged records folded in the order they were read into small accumulators (the ids
//! seen, the groups of copies, the kinds present), then summed into per-rule and per-indicator
//! results. Copies of one record (records of one kind sharing an id) are judged once, as the least
//! favourable of them: copies add nothing, and a clean copy cannot hide a failing one.

use std::collections::{BTreeSet, HashMap};

use super::record::{Contribution, Judgement, Outcome, Plan};
use super::{IndicatorTally, RuleTally, WaiverUse};
use crate::finding::Location;
use crate::standard::{CompiledTarget, Direction, Measure};

/// One evaluated record, as the tally keeps it: where it is and what it was judged.
struct Member {
    file: u32,
    line: u64,
    judgement: Judgement,
}

/// The evaluated records of one kind that share an id (or one record with no id).
struct Group {
    kind: usize,
    id: Option<Box<str>>,
    members: Vec<Member>,
}

/// Where an id was first read, and its group once a copy of it was evaluated.
struct Seen {
    file: u32,
    line: u64,
    group: Option<usize>,
}

/// The accumulators of a run.
#[derive(Default)]
pub(super) struct Tally {
    /// Whether groups keep their id: only waivers need it, at the end.
    keep_ids: bool,
    groups: Vec<Group>,
    /// By kind, then id: where each id was first read, and its group.
    ids: HashMap<usize, foldhash::HashMap<Box<str>, Seen>>,
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
            ..Tally::default()
        }
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
        let ids = self.ids.entry(kind).or_default();
        match ids.get(id) {
            Some(seen) => Some((seen.file, seen.line)),
            None => {
                ids.insert(
                    Box::from(id),
                    Seen {
                        file,
                        line,
                        group: None,
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
        let member = Member {
            file,
            line,
            judgement,
        };
        if let Some(id) = id {
            let ids = self.ids.entry(kind).or_default();
            if !ids.contains_key(id) {
                ids.insert(
                    Box::from(id),
                    Seen {
                        file,
                        line,
                        group: None,
                    },
                );
            }
            let Some(seen) = ids.get_mut(id) else {
                return;
            };
            if let Some(group) = seen.group.and_then(|g| self.groups.get_mut(g)) {
                group.members.push(member);
                return;
            }
            seen.group = Some(self.groups.len());
        }
        self.groups.push(Group {
            kind,
            id: id.filter(|_| self.keep_ids).map(Box::from),
            members: vec![member],
        });
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
            let rules_of_kind = plan
                .rules_of_kind
                .get(group.kind)
                .map_or(&[][..], Vec::as_slice);
            for (pos, &ri) in rules_of_kind.iter().enumerate() {
                let Some(tally) = tallies.get_mut(ri).and_then(Option::as_mut) else {
                    continue;
                };
                // The least favourable member; of equally bad ones, the last read.
                let worst = group
                    .members
                    .iter()
                    .filter_map(|m| m.judgement.rule(pos).map(|o| (m, o)))
                    .max_by_key(|(_, o)| o.badness());
                let Some((member, outcome)) = worst else {
                    tally.not_applicable += 1;
                    continue;
                };
                if let Some(w) = plan.covering_waiver(ri, group.id.as_deref()) {
                    tally.waived += 1;
                    uses.push((
                        ri,
                        gi,
                        WaiverUse {
                            waiver: w,
                            rule: standard.rules[ri].def.id.clone(),
                            record: Location {
                                kind: plan.kinds.get(group.kind).map(|k| k.to_string()),
                                id: group.id.as_deref().map(str::to_string),
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
        for group in self.groups.iter().filter(|g| g.kind == kind) {
            let all: Vec<Contribution> = group
                .members
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
