//! Tailoring: the parameters, selection, points and waivers that a manifest and a profile
//! (a contract's own requirements) apply on top of a standard.
//!
//! Three parties (trust-and-evidence.md): the standard gives the defaults; the organisation's
//! manifest may only declare the facts the standard marks `declared` and request waivers; the
//! buyer's contract profile and waiver files set everything else. A profile wins over a
//! declared fact.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::finding::{builtin, Finding};
use crate::manifest::problem;
use crate::records;
use crate::standard::{Evidence, Severity, Standard};
use crate::submission::{Submission, Waiver};
use crate::text::Text;

/// A profile file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub title: Option<Text>,
    #[serde(default)]
    pub standard: Option<String>,
    #[serde(default)]
    pub parameters: BTreeMap<String, Value>,
    #[serde(default)]
    pub select: Vec<String>,
    #[serde(default)]
    pub deselect: Vec<String>,
    #[serde(default)]
    pub points: BTreeMap<String, f64>,
    #[serde(default)]
    pub evidence: BTreeMap<String, Evidence>,
    #[serde(default)]
    pub waivers: Vec<Waiver>,
}

/// Where a profile came from: the evaluator's command line, or the submission folder (named by
/// the manifest, used only when no `--profile` was given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProfileSource {
    CommandLine,
    SubmissionFolder,
}

/// A profile read from disk.
#[derive(Debug, Clone)]
pub struct LoadedProfile {
    pub file: String,
    pub sha256: String,
    pub source: ProfileSource,
    pub profile: Profile,
}

/// Reads a YAML file of the evaluator's (a profile, a waiver file); errors are exit 2.
fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<(T, String)> {
    if !path.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidProfile,
            format!("the {what} is not a regular file"),
        )
        .with_file(path.display().to_string()));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        Error::new(
            ErrorKind::InvalidProfile,
            format!("cannot read the {what}: {e}"),
        )
        .with_file(path.display().to_string())
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let value = parse_yaml(&text, what).map_err(|e| e.with_file(path.display().to_string()))?;
    Ok((value, records::sha256(&bytes)))
}

/// Parses the YAML text of a profile or a waiver file.
fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_saphyr::from_str_with_options::<T>(
        text.strip_prefix('\u{feff}').unwrap_or(text),
        records::yaml_options(),
    )
    .map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        Error::new(
            ErrorKind::InvalidProfile,
            format!("the {what} cannot be read: {}", e.without_snippet()),
        )
        .with_position(line, column)
    })
}

/// Whether a file is a readable profile (and so holds no records).
pub fn is_profile(path: &Path) -> bool {
    path.is_file() && read_yaml::<Profile>(path, "profile").is_ok()
}

impl LoadedProfile {
    pub fn read(path: &Path, source: ProfileSource) -> Result<LoadedProfile> {
        let (profile, sha256) = read_yaml::<Profile>(path, "profile")?;
        Ok(LoadedProfile {
            file: path.display().to_string(),
            sha256,
            source,
            profile,
        })
    }

    /// A contract profile from its YAML text, shown in reports as `name`.
    pub fn parse(text: &str, name: &str, source: ProfileSource) -> Result<LoadedProfile> {
        let profile = parse_yaml::<Profile>(text, "profile").map_err(|e| e.with_file(name))?;
        Ok(LoadedProfile {
            file: name.to_string(),
            sha256: records::sha256(text.as_bytes()),
            source,
            profile,
        })
    }
}

/// A waiver file (`--waivers FILE`): one list of waivers, as in a profile.
#[derive(Debug, Clone)]
pub struct LoadedWaivers {
    pub file: String,
    pub sha256: String,
    pub waivers: Vec<Waiver>,
}

impl LoadedWaivers {
    pub fn read(path: &Path) -> Result<LoadedWaivers> {
        let (waivers, sha256) = read_yaml::<Vec<Waiver>>(path, "waiver file")?;
        Ok(LoadedWaivers {
            file: path.display().to_string(),
            sha256,
            waivers,
        })
    }
}

/// Where a parameter's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParamSource {
    /// The standard's default.
    Standard,
    /// The contract profile.
    Profile,
    /// The organisation's manifest, for a parameter the standard marks `declared`.
    Declared,
}

/// A waiver with where it came from.
#[derive(Debug, Clone)]
pub struct SourcedWaiver {
    pub waiver: Waiver,
    pub source: String,
    /// The expiry date, read; `None` when the waiver never expires.
    pub expires: Option<jiff::civil::Date>,
}

impl SourcedWaiver {
    /// Whether the waiver is in force for a period: one that expires before the period ends
    /// does not cover it.
    pub fn in_force(&self, period: Option<&crate::submission::Period>) -> bool {
        match (self.expires, period) {
            (Some(expires), Some(period)) => expires >= period.end,
            _ => true,
        }
    }
}

/// How a profile tailored one rule or indicator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ItemTailoring {
    /// Whether it is scored (a profile's `select` and `deselect`).
    pub active: bool,
    /// Its points (the standard's, or a profile's `points`).
    pub points: f64,
}

impl ItemTailoring {
    fn new(points: f64) -> ItemTailoring {
        ItemTailoring {
            active: true,
            points,
        }
    }
}

/// Everything tailoring decided, ready for evaluation.
#[derive(Debug, Clone)]
pub struct Tailoring {
    pub params: BTreeMap<String, Value>,
    pub param_sources: BTreeMap<String, ParamSource>,
    /// The kinds the submission must hold, after the profile's changes.
    pub evidence: BTreeMap<String, Evidence>,
    /// Waivers the organisation asked for in its manifest: listed, never applied.
    pub requests: Vec<Waiver>,
    /// Per rule of the standard, in its order: whether it is scored, and for how many points.
    pub rules: Vec<ItemTailoring>,
    /// Per indicator of the standard, in its order.
    pub indicators: Vec<ItemTailoring>,
    pub waivers: Vec<SourcedWaiver>,
    /// Each override applied, in words, for the report.
    pub overrides: Vec<Text>,
    /// Problems with what the manifest asked for.
    pub findings: Vec<Finding>,
}

/// Matches `*` (any run) and `?` (one character) glob patterns.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn read_expiry(w: &Waiver) -> std::result::Result<Option<jiff::civil::Date>, String> {
    match &w.expires {
        None => Ok(None),
        Some(text) => crate::expr::dates::parse(text)
            .map(|d| Some(d.date()))
            .map_err(|e| format!("waiver of {}: expires: {e}", w.rule)),
    }
}

impl Tailoring {
    /// Applies the manifest's and the profile's tailoring to a standard. Problems in the
    /// manifest are findings; problems in the profile are errors (exit 2).
    pub fn new(
        standard: &Standard,
        submission: &Submission,
        profile: Option<&LoadedProfile>,
        waivers: Option<&LoadedWaivers>,
    ) -> Result<Tailoring> {
        let mut t = Tailoring {
            params: standard
                .parameters
                .iter()
                .map(|(k, p)| (k.clone(), p.default.clone()))
                .collect(),
            param_sources: standard
                .parameters
                .keys()
                .map(|k| (k.clone(), ParamSource::Standard))
                .collect(),
            evidence: standard.evidence.clone(),
            requests: Vec::new(),
            rules: standard
                .rules
                .iter()
                .map(|r| ItemTailoring::new(r.def.points))
                .collect(),
            indicators: standard
                .indicators
                .iter()
                .map(|i| ItemTailoring::new(i.def.points))
                .collect(),
            waivers: Vec::new(),
            overrides: Vec::new(),
            findings: Vec::new(),
        };
        let manifest_name = submission.manifest_name();
        let names = || {
            standard
                .parameters
                .iter()
                .filter(|(_, p)| p.declared)
                .map(|(k, _)| k.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (key, (value, line)) in &submission.manifest.parameters {
            let message = match standard.parameters.get(key) {
                Some(p) if p.declared => match p.refuse(value) {
                    None => {
                        t.params.insert(key.clone(), value.clone());
                        t.param_sources.insert(key.clone(), ParamSource::Declared);
                        continue;
                    }
                    Some((zh, en)) => Text::bi(
                        format!("申报的参数 {key} 未采用：{zh}"),
                        format!("the declared parameter {key} is not applied: {en}"),
                    ),
                },
                Some(_) => Text::bi(
                    format!("参数 {key} 由合同方案（评估方）设定，不由提交材料设定：清单中的值 {value} 未采用"),
                    format!("parameter {key} is set by the contract profile, not by the submission: the manifest's value {value} is not applied"),
                ),
                None => Text::bi(
                    format!("标准没有参数 {key}，清单中的值未采用（可由提交材料申报的参数：{}）", names()),
                    format!("the standard has no parameter {key}; the manifest's value is not applied (parameters a submission declares: {})", names()),
                ),
            };
            t.findings.push(problem(
                &manifest_name,
                *line,
                0,
                builtin::MANIFEST,
                Severity::Major,
                message,
            ));
        }
        t.requests = submission.manifest.waiver_requests.clone();
        if let Some(lp) = profile {
            t.apply_profile(standard, lp)?;
        }
        if let Some(file) = waivers {
            for w in &file.waivers {
                t.add_waiver(standard, w, &file.file)?;
            }
        }
        t.refuse_blanket_waivers(standard)?;
        Ok(t)
    }

    /// Refuses waivers that together waive every rule for one record: a blanket pardon, however
    /// it is split into patterns.
    fn refuse_blanket_waivers(&self, standard: &Standard) -> Result<()> {
        if standard.rules.len() < 2 {
            return Ok(());
        }
        let records: std::collections::BTreeSet<&str> = self
            .waivers
            .iter()
            .flat_map(|w| w.waiver.records.iter().map(String::as_str))
            .collect();
        for record in records {
            let naming: Vec<&SourcedWaiver> = self
                .waivers
                .iter()
                .filter(|w| w.waiver.records.iter().any(|r| r == record))
                .collect();
            // Every rule of some kind the record could be (a case's rules, say): the waivers of
            // rules over other kinds pardon nothing for it and do not count.
            let kinds: std::collections::BTreeSet<&str> = standard
                .rules
                .iter()
                .map(|r| r.def.applies_to.as_str())
                .collect();
            let all = kinds.into_iter().any(|kind| {
                let of_kind: Vec<&str> = standard
                    .rules
                    .iter()
                    .filter(|r| r.def.applies_to == kind)
                    .map(|r| r.def.id.as_str())
                    .collect();
                of_kind.len() > 1
                    && of_kind
                        .iter()
                        .all(|id| naming.iter().any(|w| glob_match(&w.waiver.rule, id)))
            });
            if all {
                let sources: std::collections::BTreeSet<&str> =
                    naming.iter().map(|w| w.source.as_str()).collect();
                return Err(Error::new(
                    ErrorKind::InvalidProfile,
                    format!(
                        "the waivers of record {record} together cover every rule: a waiver names the rules it waives"
                    ),
                )
                .with_file(sources.into_iter().collect::<Vec<_>>().join(", ")));
            }
        }
        Ok(())
    }

    /// Adds a waiver the evaluator granted, after checking that it names rules and records
    /// explicitly, has an approver and a readable expiry.
    fn add_waiver(&mut self, standard: &Standard, w: &Waiver, source: &str) -> Result<()> {
        let err = |detail: String| {
            Error::new(ErrorKind::InvalidProfile, detail)
                .with_file(source.to_string())
                .with_item(w.rule.clone())
        };
        let covered = standard
            .rules
            .iter()
            .filter(|r| glob_match(&w.rule, &r.def.id))
            .count();
        if covered == 0 {
            return Err(err(format!(
                "waiver names rule '{}', which the standard does not have",
                w.rule
            )));
        }
        if covered == standard.rules.len() && standard.rules.len() > 1 {
            return Err(err(format!(
                "waiver pattern '{}' covers every rule: a waiver names the rules it waives",
                w.rule
            )));
        }
        if w.records.is_empty()
            || w.records
                .iter()
                .any(|r| r.trim().is_empty() || r.contains('*'))
        {
            return Err(err(format!(
                "waiver of {} lists no records: a waiver names the records it covers, by id",
                w.rule
            )));
        }
        if w.approved_by.as_deref().is_none_or(|a| a.trim().is_empty()) {
            return Err(err(format!(
                "waiver of {} names no approver (approved_by)",
                w.rule
            )));
        }
        let expires = read_expiry(w).map_err(err)?;
        self.waivers.push(SourcedWaiver {
            waiver: w.clone(),
            source: source.to_string(),
            expires,
        });
        Ok(())
    }

    fn apply_profile(&mut self, standard: &Standard, lp: &LoadedProfile) -> Result<()> {
        let p = &lp.profile;
        let err = |detail: String| {
            Error::new(ErrorKind::InvalidProfile, detail).with_file(lp.file.clone())
        };
        if let Some(id) = &p.standard {
            if id != &standard.id {
                return Err(err(format!(
                    "the profile is for standard '{id}', not '{}'",
                    standard.id
                )));
            }
        }
        for (key, value) in &p.parameters {
            let Some(param) = standard.parameters.get(key) else {
                return Err(err(format!(
                    "parameter '{key}' is not one of the standard's parameters"
                ))
                .with_item(key.clone()));
            };
            if let Some((_, why)) = param.refuse(value) {
                return Err(err(format!("parameter '{key}': {why}")).with_item(key.clone()));
            }
            self.overrides.push(Text::bi(
                format!("参数 {key} = {value}（合同方案）"),
                format!("parameter {key} = {value} (profile)"),
            ));
            self.params.insert(key.clone(), value.clone());
            self.param_sources.insert(key.clone(), ParamSource::Profile);
        }
        for (kind, need) in &p.evidence {
            if !standard.kinds.contains_key(kind) {
                return Err(err(format!(
                    "evidence names '{kind}', which is not a record kind of the standard"
                ))
                .with_item(kind.clone()));
            }
            self.evidence.insert(kind.clone(), *need);
            let (zh, en) = match need {
                Evidence::Required => ("必需", "required"),
                Evidence::Optional => ("可选", "optional"),
            };
            self.overrides.push(Text::bi(
                format!("证据 {kind} 改为{zh}"),
                format!("evidence {kind} = {en}"),
            ));
        }
        let ids: Vec<(bool, usize, &str)> = standard
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (true, i, r.def.id.as_str()))
            .chain(
                standard
                    .indicators
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (false, i, x.def.id.as_str())),
            )
            .collect();
        let matching = |pattern: &str| -> Vec<(bool, usize, &str)> {
            ids.iter()
                .copied()
                .filter(|(_, _, id)| glob_match(pattern, id))
                .collect()
        };
        if !p.select.is_empty() {
            let mut keep = (
                vec![false; self.rules.len()],
                vec![false; self.indicators.len()],
            );
            for pattern in &p.select {
                let hits = matching(pattern);
                if hits.is_empty() {
                    return Err(err(format!(
                        "select '{pattern}' matches no rule or indicator"
                    )));
                }
                for (is_rule, i, _) in hits {
                    if is_rule {
                        keep.0[i] = true
                    } else {
                        keep.1[i] = true
                    }
                }
            }
            for (i, k) in keep.0.iter().enumerate() {
                if !k {
                    self.rules[i].active = false;
                }
            }
            for (i, k) in keep.1.iter().enumerate() {
                if !k {
                    self.indicators[i].active = false;
                }
            }
            let list = p.select.join(", ");
            self.overrides
                .push(Text::bi(format!("只评 {list}"), format!("select {list}")));
        }
        for pattern in &p.deselect {
            let hits = matching(pattern);
            if hits.is_empty() {
                return Err(err(format!(
                    "deselect '{pattern}' matches no rule or indicator"
                )));
            }
            for (is_rule, i, _) in hits {
                if is_rule {
                    self.rules[i].active = false
                } else {
                    self.indicators[i].active = false
                }
            }
            self.overrides.push(Text::bi(
                format!("不评 {pattern}"),
                format!("deselect {pattern}"),
            ));
        }
        for (id, points) in &p.points {
            if !(points.is_finite() && *points >= 0.0) {
                return Err(
                    err(format!("points for {id} must be a number of at least 0"))
                        .with_item(id.clone()),
                );
            }
            match ids.iter().find(|(_, _, x)| x == id) {
                Some((true, i, _)) => self.rules[*i].points = *points,
                Some((false, i, _)) => self.indicators[*i].points = *points,
                None => {
                    return Err(err(format!(
                        "points names '{id}', which the standard does not have"
                    ))
                    .with_item(id.clone()))
                }
            }
            self.overrides.push(Text::bi(
                format!("分值 {id} = {points}"),
                format!("points {id} = {points}"),
            ));
        }
        for w in &p.waivers {
            self.add_waiver(standard, w, &lp.file)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs_match_stars_and_single_characters() {
        assert!(glob_match("EC-SAF-*", "EC-SAF-01"));
        assert!(glob_match("*-IND-0?", "CM-IND-03"));
        assert!(glob_match("EC-SAF-01", "EC-SAF-01"));
        assert!(!glob_match("EC-SAF-*", "EC-RTS-01"));
        assert!(!glob_match("CM-IND-0?", "CM-IND-010"));
    }
}
