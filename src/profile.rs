//! Tailoring: the parameters, selection, points and waivers that a manifest and a profile
//! (a contract's own requirements) apply on top of a standard.
//!
//! Parameters are taken from the standard's defaults, then the manifest, then the profile:
//! the profile is the contract's deliberate tailoring and wins over what a submission says.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::finding::{builtin, Finding};
use crate::manifest::problem;
use crate::records;
use crate::standard::Severity;
use crate::standard::Standard;
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
    pub waivers: Vec<Waiver>,
}

/// A profile read from disk.
#[derive(Debug, Clone)]
pub struct LoadedProfile {
    pub file: String,
    pub sha256: String,
    pub profile: Profile,
}

impl LoadedProfile {
    pub fn read(path: &Path) -> Result<LoadedProfile> {
        let bytes = std::fs::read(path).map_err(|e| {
            Error::new(
                ErrorKind::InvalidProfile,
                format!("cannot read the profile: {e}"),
            )
            .with_file(path.display().to_string())
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let profile =
            serde_saphyr::from_str_with_options::<Profile>(&text, records::yaml_options())
                .map_err(|e| {
                    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
                    Error::new(ErrorKind::InvalidProfile, e.without_snippet().to_string())
                        .with_file(path.display().to_string())
                        .with_position(line, column)
                })?;
        Ok(LoadedProfile {
            file: path.display().to_string(),
            sha256: records::sha256(&bytes),
            profile,
        })
    }
}

/// A waiver with where it came from.
#[derive(Debug, Clone)]
pub struct SourcedWaiver {
    pub waiver: Waiver,
    pub source: String,
    /// The expiry date, read; `None` when the waiver never expires.
    pub expires: Option<jiff::civil::Date>,
}

/// Everything tailoring decided, ready for evaluation.
#[derive(Debug, Clone)]
pub struct Tailoring {
    pub params: BTreeMap<String, Value>,
    pub rule_active: Vec<bool>,
    pub indicator_active: Vec<bool>,
    pub rule_points: Vec<f64>,
    pub indicator_points: Vec<f64>,
    pub waivers: Vec<SourcedWaiver>,
    /// Each override applied, in words, for the report.
    pub overrides: Vec<String>,
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
    ) -> Result<Tailoring> {
        let mut t = Tailoring {
            params: standard
                .parameters
                .iter()
                .map(|(k, p)| (k.clone(), p.default.clone()))
                .collect(),
            rule_active: vec![true; standard.rules.len()],
            indicator_active: vec![true; standard.indicators.len()],
            rule_points: standard.rules.iter().map(|r| r.def.points).collect(),
            indicator_points: standard.indicators.iter().map(|i| i.def.points).collect(),
            waivers: Vec::new(),
            overrides: Vec::new(),
            findings: Vec::new(),
        };
        let manifest_name = submission.manifest_name();
        for (key, value) in &submission.manifest.parameters {
            if t.params.contains_key(key) {
                t.overrides
                    .push(format!("parameter {key} = {value} ({manifest_name})"));
                t.params.insert(key.clone(), value.clone());
            } else {
                t.findings.push(problem(
                    &manifest_name,
                    0,
                    0,
                    builtin::MANIFEST,
                    Severity::Minor,
                    format!(
                        "unknown parameter '{key}' is ignored: it is not one of the standard's parameters ({})",
                        standard
                            .parameters
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        for w in &submission.manifest.waivers {
            if !standard
                .rules
                .iter()
                .any(|r| glob_match(&w.rule, &r.def.id))
            {
                t.findings.push(problem(
                    &manifest_name,
                    0,
                    0,
                    builtin::MANIFEST,
                    Severity::Major,
                    format!(
                        "waiver names rule '{}', which the standard does not have",
                        w.rule
                    ),
                ));
                continue;
            }
            match read_expiry(w) {
                Ok(expires) => t.waivers.push(SourcedWaiver {
                    waiver: w.clone(),
                    source: manifest_name.clone(),
                    expires,
                }),
                Err(e) => t.findings.push(problem(
                    &manifest_name,
                    0,
                    0,
                    builtin::MANIFEST,
                    Severity::Major,
                    e,
                )),
            }
        }
        if let Some(lp) = profile {
            t.apply_profile(standard, lp)?;
        }
        Ok(t)
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
            if !self.params.contains_key(key) {
                return Err(err(format!(
                    "parameter '{key}' is not one of the standard's parameters"
                ))
                .with_item(key.clone()));
            }
            self.overrides
                .push(format!("parameter {key} = {value} (profile)"));
            self.params.insert(key.clone(), value.clone());
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
                vec![false; self.rule_active.len()],
                vec![false; self.indicator_active.len()],
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
                    self.rule_active[i] = false;
                }
            }
            for (i, k) in keep.1.iter().enumerate() {
                if !k {
                    self.indicator_active[i] = false;
                }
            }
            self.overrides
                .push(format!("select {}", p.select.join(", ")));
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
                    self.rule_active[i] = false
                } else {
                    self.indicator_active[i] = false
                }
            }
            self.overrides.push(format!("deselect {pattern}"));
        }
        for (id, points) in &p.points {
            if !(points.is_finite() && *points >= 0.0) {
                return Err(
                    err(format!("points for {id} must be a number of at least 0"))
                        .with_item(id.clone()),
                );
            }
            match ids.iter().find(|(_, _, x)| x == id) {
                Some((true, i, _)) => self.rule_points[*i] = *points,
                Some((false, i, _)) => self.indicator_points[*i] = *points,
                None => {
                    return Err(err(format!(
                        "points names '{id}', which the standard does not have"
                    ))
                    .with_item(id.clone()))
                }
            }
            self.overrides.push(format!("points {id} = {points}"));
        }
        for w in &p.waivers {
            if !standard
                .rules
                .iter()
                .any(|r| glob_match(&w.rule, &r.def.id))
            {
                return Err(err(format!(
                    "waiver names rule '{}', which the standard does not have",
                    w.rule
                )));
            }
            let expires = read_expiry(w).map_err(err)?;
            self.waivers.push(SourcedWaiver {
                waiver: w.clone(),
                source: lp.file.clone(),
                expires,
            });
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
