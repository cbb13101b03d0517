//! Finding standard files and resolving `extends`: parents merged first, later entries win.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::model::{
    BasisDoc, Evidence, Grade, Indicator, Parameter, Rule, Section, StandardFile, Status,
};
use crate::embedded;
use crate::error::{Error, ErrorKind, Result};
use crate::text::{Lang, Text};

/// Where a standard file's text came from.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path shown to the user (`standards/common.yaml` for shipped ones).
    pub name: String,
    pub text: String,
    /// The folder of a file on disk, used to find the schemas it names; `None` when shipped.
    pub dir: Option<PathBuf>,
}

/// The standards that can be loaded by id: the shipped ones, overridden by files on disk.
#[derive(Debug, Clone)]
pub struct Registry {
    entries: BTreeMap<String, Source>,
}

/// An item with the file and position it was written at.
#[derive(Debug, Clone)]
pub struct Located<T> {
    pub item: T,
    pub file: String,
    pub line: u64,
    pub column: u64,
}

impl<T> Located<T> {
    fn new(spanned: Spanned<T>, file: &str) -> Self {
        Located {
            line: spanned.referenced.line(),
            column: spanned.referenced.column(),
            item: spanned.value,
            file: file.to_string(),
        }
    }

    pub(crate) fn error(&self, kind: ErrorKind, id: &str, detail: impl Into<String>) -> Error {
        Error::new(kind, detail)
            .with_file(&self.file)
            .with_position(self.line, self.column)
            .with_item(id)
    }
}

/// A section after inheritance.
#[derive(Debug, Clone)]
pub struct ResolvedSection {
    pub id: String,
    pub title: Option<Text>,
    pub description: Option<Text>,
    pub sections: Vec<Located<ResolvedSection>>,
    pub rules: Vec<Located<Rule>>,
    pub indicators: Vec<Located<Indicator>>,
}

/// A schema a standard names for a record kind.
#[derive(Debug, Clone)]
pub struct SchemaRef {
    pub path: String,
    pub dir: Option<PathBuf>,
    pub declared_in: String,
}

/// A standard with everything it extends merged in.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub id: String,
    pub version: String,
    pub title: Text,
    pub description: Option<Text>,
    pub sector: Option<String>,
    pub status: Status,
    pub basis: Vec<BasisDoc>,
    pub extends: Vec<String>,
    pub parameters: BTreeMap<String, Parameter>,
    pub evidence: BTreeMap<String, Evidence>,
    pub total_points: f64,
    pub grades: Vec<Grade>,
    pub schemas: BTreeMap<String, SchemaRef>,
    pub sections: Vec<Located<ResolvedSection>>,
    /// The files it was built from, parents first.
    pub sources: Vec<Source>,
    pub file: String,
}

fn invalid(file: &str, detail: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidStandard, detail).with_file(file)
}

impl Registry {
    /// The standards shipped in the binary.
    pub fn builtin() -> Registry {
        let mut entries = BTreeMap::new();
        for (path, bytes) in embedded::under("standards/") {
            let Some(id) = path
                .strip_prefix("standards/")
                .and_then(|p| p.strip_suffix(".yaml"))
            else {
                continue;
            };
            if id.contains('/') {
                continue;
            }
            entries.insert(
                id.to_string(),
                Source {
                    name: path.to_string(),
                    text: String::from_utf8_lossy(bytes).into_owned(),
                    dir: None,
                },
            );
        }
        Registry { entries }
    }

    /// Adds (or overrides) every `<id>.yaml` in a folder.
    pub fn add_dir(&mut self, dir: &Path) -> Result<()> {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        paths.sort();
        for path in paths {
            self.add_file(&path)?;
        }
        Ok(())
    }

    /// Adds (or overrides) one standard file; returns its id (the file stem).
    pub fn add_file(&mut self, path: &Path) -> Result<String> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = path.parent().map(Path::to_path_buf);
        self.entries.insert(
            id.clone(),
            Source {
                name: path.display().to_string(),
                text,
                dir,
            },
        );
        Ok(id)
    }

    /// The ids known, sorted.
    pub fn ids(&self) -> Vec<String> {
        self.entries.keys().cloned().collect()
    }

    pub fn source(&self, id: &str) -> Option<&Source> {
        self.entries.get(id)
    }

    /// Reads one file, without resolving what it extends.
    pub fn parse(&self, id: &str) -> Result<(StandardFile, &Source)> {
        let source = self.entries.get(id).ok_or_else(|| {
            Error::new(
                ErrorKind::UnknownStandard,
                format!("no standard '{id}' (known: {})", self.ids().join(", ")),
            )
        })?;
        let file: StandardFile = parse_yaml(&source.text, &source.name)?;
        if file.id != id {
            return Err(invalid(
                &source.name,
                format!("the file declares id '{}' but is named for '{id}'", file.id),
            ));
        }
        Ok((file, source))
    }

    /// Resolves a standard and everything it extends.
    pub fn resolve(&self, id: &str) -> Result<Resolved> {
        self.resolve_inner(id, &mut Vec::new())
    }

    fn resolve_inner(&self, id: &str, stack: &mut Vec<String>) -> Result<Resolved> {
        if let Some(pos) = stack.iter().position(|s| s == id) {
            let mut cycle = stack[pos..].to_vec();
            cycle.push(id.to_string());
            let file = self
                .entries
                .get(id)
                .map(|s| s.name.clone())
                .unwrap_or_default();
            return Err(invalid(
                &file,
                format!("extends forms a cycle: {}", cycle.join(" → ")),
            ));
        }
        let (file, source) = self.parse(id)?;
        check_own(&file, &source.name)?;
        stack.push(id.to_string());
        let mut merged: Option<Resolved> = None;
        for parent in &file.extends {
            let parent = self.resolve_inner(parent, stack).map_err(|e| {
                if e.kind() == ErrorKind::UnknownStandard {
                    invalid(
                        &source.name,
                        format!("extends an unknown standard: {}", e.detail()),
                    )
                } else {
                    e
                }
            })?;
            merged = Some(match merged {
                None => parent,
                Some(acc) => merge_parent(acc, parent),
            });
        }
        stack.pop();
        apply_child(merged, file, source)
    }
}

/// Reads YAML strictly (duplicate keys refused, YAML 1.2 booleans) with the error's position.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<T> {
    serde_saphyr::from_str_with_options(text, crate::records::yaml_options()).map_err(|e| {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        invalid(file, e.without_snippet().to_string()).with_position(line, column)
    })
}

/// Checks that need only one file: duplicate ids and the order of grades.
fn check_own(file: &StandardFile, name: &str) -> Result<()> {
    let mut seen: BTreeMap<&str, ()> = BTreeMap::new();
    fn walk<'a>(
        sections: &'a [Spanned<Section>],
        seen: &mut BTreeMap<&'a str, ()>,
        name: &str,
    ) -> Result<()> {
        for s in sections {
            let s_loc = &s.referenced;
            let ids = std::iter::once((s.value.id.as_str(), s_loc))
                .chain(
                    s.value
                        .rules
                        .iter()
                        .map(|r| (r.value.id.as_str(), &r.referenced)),
                )
                .chain(
                    s.value
                        .indicators
                        .iter()
                        .map(|i| (i.value.id.as_str(), &i.referenced)),
                );
            for (id, loc) in ids {
                if seen.insert(id, ()).is_some() {
                    return Err(invalid(name, "duplicate id")
                        .with_position(loc.line(), loc.column())
                        .with_item(id));
                }
            }
            walk(&s.value.sections, seen, name)?;
        }
        Ok(())
    }
    walk(&file.sections, &mut seen, name)?;
    if let Some(grades) = &file.grades {
        for pair in grades.windows(2) {
            if pair[1].min >= pair[0].min {
                return Err(invalid(
                    name,
                    format!(
                        "grades out of order: '{}' (min {}) follows '{}' (min {}); list them highest first",
                        pair[1].id, pair[1].min, pair[0].id, pair[0].min
                    ),
                )
                .with_item(pair[1].id.clone()));
            }
        }
        let mut ids: Vec<&str> = grades.iter().map(|g| g.id.as_str()).collect();
        ids.sort();
        if let Some(dup) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(invalid(name, "duplicate grade id").with_item(dup[0]));
        }
    }
    Ok(())
}

fn convert_section(s: Spanned<Section>, file: &str) -> Located<ResolvedSection> {
    let line = s.referenced.line();
    let column = s.referenced.column();
    let sec = s.value;
    Located {
        item: ResolvedSection {
            id: sec.id,
            title: sec.title,
            description: sec.description,
            sections: sec
                .sections
                .into_iter()
                .map(|c| convert_section(c, file))
                .collect(),
            rules: sec
                .rules
                .into_iter()
                .map(|r| Located::new(r, file))
                .collect(),
            indicators: sec
                .indicators
                .into_iter()
                .map(|i| Located::new(i, file))
                .collect(),
        },
        file: file.to_string(),
        line,
        column,
    }
}

/// The parameters the items of these sections name anywhere (conditions, values, targets,
/// messages, requirements).
fn collect_parameters(
    sections: &[Located<ResolvedSection>],
    out: &mut std::collections::BTreeSet<String>,
) {
    for s in sections {
        let s = &s.item;
        let texts: Vec<&str> = s
            .rules
            .iter()
            .flat_map(|r| r.item.sources())
            .chain(s.indicators.iter().flat_map(|i| i.item.sources()))
            .collect();
        out.extend(super::reference::parameters_named(&texts));
        collect_parameters(&s.sections, out);
    }
}

/// The `basis` texts of the items of these sections.
fn collect_bases(sections: &[Located<ResolvedSection>], out: &mut Vec<String>) {
    for s in sections {
        let s = &s.item;
        out.extend(s.rules.iter().filter_map(|r| r.item.basis.clone()));
        out.extend(s.indicators.iter().filter_map(|i| i.item.basis.clone()));
        collect_bases(&s.sections, out);
    }
}

fn collect_removes(sections: &[Spanned<Section>], out: &mut Vec<String>) {
    for s in sections {
        out.extend(s.value.remove.iter().cloned());
        collect_removes(&s.value.sections, out);
    }
}

/// Removes the item or section with this id anywhere in the tree; true when found.
fn remove_item(sections: &mut Vec<Located<ResolvedSection>>, id: &str) -> bool {
    let before = sections.len();
    sections.retain(|s| s.item.id != id);
    if sections.len() != before {
        return true;
    }
    for s in sections.iter_mut() {
        let sec = &mut s.item;
        let (r, i) = (sec.rules.len(), sec.indicators.len());
        sec.rules.retain(|x| x.item.id != id);
        sec.indicators.retain(|x| x.item.id != id);
        if sec.rules.len() != r || sec.indicators.len() != i || remove_item(&mut sec.sections, id) {
            return true;
        }
    }
    false
}

fn merge_items<T>(into: &mut Vec<Located<T>>, from: Vec<Located<T>>, id: impl Fn(&T) -> &str) {
    for item in from {
        match into.iter_mut().find(|x| id(&x.item) == id(&item.item)) {
            Some(slot) => *slot = item,
            None => into.push(item),
        }
    }
}

fn merge_sections(into: &mut Vec<Located<ResolvedSection>>, from: Vec<Located<ResolvedSection>>) {
    for sec in from {
        match into.iter_mut().find(|x| x.item.id == sec.item.id) {
            Some(slot) => {
                let target = &mut slot.item;
                let src = sec.item;
                if src.title.is_some() {
                    target.title = src.title;
                }
                if src.description.is_some() {
                    target.description = src.description;
                }
                merge_items(&mut target.rules, src.rules, |r: &Rule| &r.id);
                merge_items(&mut target.indicators, src.indicators, |i: &Indicator| {
                    &i.id
                });
                merge_sections(&mut target.sections, src.sections);
            }
            None => into.push(sec),
        }
    }
}

fn merge_grades(into: &mut Vec<Grade>, from: Vec<Grade>) {
    for g in from {
        match into.iter_mut().find(|x| x.id == g.id) {
            Some(slot) => *slot = g,
            None => into.push(g),
        }
    }
    into.sort_by(|a, b| b.min.total_cmp(&a.min));
}

fn merge_basis(into: &mut Vec<BasisDoc>, from: Vec<BasisDoc>) {
    for b in from {
        if !into.contains(&b) {
            into.push(b);
        }
    }
}

/// Two parents of one child: the later one's entries win.
fn merge_parent(mut acc: Resolved, later: Resolved) -> Resolved {
    acc.parameters.extend(later.parameters);
    acc.evidence.extend(later.evidence);
    merge_grades(&mut acc.grades, later.grades);
    acc.schemas.extend(later.schemas);
    merge_basis(&mut acc.basis, later.basis);
    merge_sections(&mut acc.sections, later.sections);
    for s in later.sources {
        if !acc.sources.iter().any(|x| x.name == s.name) {
            acc.sources.push(s);
        }
    }
    acc.total_points = later.total_points;
    acc
}

fn apply_child(parent: Option<Resolved>, file: StandardFile, source: &Source) -> Result<Resolved> {
    let name = source.name.clone();
    let mut removes = file.remove.clone();
    collect_removes(&file.sections, &mut removes);
    let mut out = match parent {
        Some(p) => p,
        None => {
            if !removes.is_empty() {
                return Err(invalid(
                    &name,
                    "remove is only meaningful in a standard that extends another",
                )
                .with_item(removes[0].clone()));
            }
            Resolved {
                id: String::new(),
                version: String::new(),
                title: Text::default(),
                description: None,
                sector: None,
                status: Status::Draft,
                basis: Vec::new(),
                extends: Vec::new(),
                parameters: BTreeMap::new(),
                evidence: BTreeMap::new(),
                total_points: 100.0,
                grades: Vec::new(),
                schemas: BTreeMap::new(),
                sections: Vec::new(),
                sources: Vec::new(),
                file: String::new(),
            }
        }
    };
    for id in &removes {
        if !remove_item(&mut out.sections, id) {
            return Err(invalid(
                &name,
                format!("remove names '{id}', which no parent standard defines"),
            )
            .with_item(id.clone()));
        }
    }
    out.id = file.id;
    out.version = file.version;
    out.title = file.title;
    out.description = file.description;
    out.sector = file.sector;
    out.status = file.status;
    out.extends = file.extends;
    let own_basis = file.basis.clone();
    merge_basis(&mut out.basis, file.basis);
    let own_parameters: Vec<String> = file.parameters.keys().cloned().collect();
    out.parameters.extend(file.parameters);
    out.evidence.extend(file.evidence);
    if let Some(tp) = file.total_points {
        out.total_points = tp;
    }
    if let Some(grades) = file.grades {
        merge_grades(&mut out.grades, grades);
    }
    for (kind, path) in file.schemas {
        out.schemas.insert(
            kind,
            SchemaRef {
                path,
                dir: source.dir.clone(),
                declared_in: name.clone(),
            },
        );
    }
    let sections = file
        .sections
        .into_iter()
        .map(|s| convert_section(s, &name))
        .collect();
    merge_sections(&mut out.sections, sections);
    if !removes.is_empty() {
        // What a standard removes takes its parameters with it: an inherited parameter that no
        // item left names is dropped, so a governance standard that removes the case work it
        // inherits does not list (or accept in a profile) the case-work limits.
        let mut used = std::collections::BTreeSet::new();
        collect_parameters(&out.sections, &mut used);
        out.parameters
            .retain(|name, _| used.contains(name) || own_parameters.contains(name));
        // Likewise the inherited documents no item left cites (by code, or by title).
        let mut cited = Vec::new();
        collect_bases(&out.sections, &mut cited);
        out.basis.retain(|doc| {
            own_basis.contains(doc)
                || cited.iter().any(|c| match &doc.code {
                    Some(code) => c.contains(code.as_str()),
                    None => [Lang::Zh, Lang::En]
                        .iter()
                        .any(|l| !doc.title.get(*l).is_empty() && c.contains(doc.title.get(*l))),
                })
        });
    }
    if !out.sources.iter().any(|x| x.name == source.name) {
        out.sources.push(source.clone());
    }
    out.file = name;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(files: &[(&str, &str)]) -> (tempfile::TempDir, Registry) {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = Registry {
            entries: BTreeMap::new(),
        };
        for (id, text) in files {
            let path = dir.path().join(format!("{id}.yaml"));
            std::fs::write(&path, text).unwrap();
            reg.add_file(&path).unwrap();
        }
        (dir, reg)
    }

    const BASE: &str = r#"
id: base
version: 1.0.0
title: Base
parameters: {days: {default: 7}, n: {default: 1}}
basis: [{code: X-1, title: One}, {code: X-2, title: Two}]
grades: [{id: good, min: 80, title: G}, {id: fail, min: 0, title: F}]
sections:
  - id: s
    title: S
    rules:
      - {id: B-S-01, title: one, applies_to: case, assert: 'true', message: m, severity: minor, points: 1, basis: X-1 (part)}
      - {id: B-S-02, title: two, applies_to: case, assert: 'true', message: m, severity: minor, points: 1}
  - id: t
    title: T
    rules:
      - {id: B-T-01, title: three, applies_to: case, assert: 'params.n > 0', message: m, severity: minor, points: 1, basis: X-2}
"#;

    fn rule_ids(r: &Resolved) -> Vec<(String, Vec<String>)> {
        r.sections
            .iter()
            .map(|s| {
                (
                    s.item.id.clone(),
                    s.item.rules.iter().map(|r| r.item.id.clone()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn a_child_adds_replaces_and_removes_inherited_items_and_overrides_by_key() {
        let child = r#"
id: child
version: 2.0.0
title: Child
extends: [base]
parameters: {days: {default: 5}}
grades: [{id: excellent, min: 90, title: E}]
remove: [B-T-01]
sections:
  - id: s
    rules:
      - {id: B-S-02, title: replaced, applies_to: case, assert: 'false', message: m, severity: major, points: 3}
      - {id: C-S-01, title: added, applies_to: case, assert: 'true', message: m, severity: minor, points: 1}
  - id: u
    title: U
"#;
        let (_dir, reg) = registry(&[("base", BASE), ("child", child)]);
        let r = reg.resolve("child").unwrap();
        assert_eq!(r.id, "child");
        assert_eq!(r.parameters["days"].default, serde_json::json!(5));
        // `n` and document X-2 were named only by the rule the child removed: they go with it.
        assert!(!r.parameters.contains_key("n"));
        let codes: Vec<_> = r.basis.iter().filter_map(|b| b.code.as_deref()).collect();
        assert_eq!(codes, ["X-1"]);
        assert_eq!(
            r.grades.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
            vec!["excellent", "good", "fail"]
        );
        assert_eq!(
            rule_ids(&r),
            vec![
                (
                    "s".into(),
                    vec!["B-S-01".into(), "B-S-02".into(), "C-S-01".into()]
                ),
                ("t".into(), vec![]),
                ("u".into(), vec![]),
            ]
        );
        let replaced = &r.sections[0].item.rules[1];
        assert_eq!(replaced.item.points, 3.0);
        assert!(replaced.file.ends_with("child.yaml"));
        assert_eq!(r.sources.len(), 2);
    }

    #[test]
    fn later_parents_win_and_cycles_are_refused() {
        let other = "id: other\nversion: 1.0.0\ntitle: O\nparameters: {days: {default: 9}}\n";
        let child = "id: child\nversion: 1.0.0\ntitle: C\nextends: [base, other]\n";
        let (_dir, reg) = registry(&[("base", BASE), ("other", other), ("child", child)]);
        assert_eq!(
            reg.resolve("child").unwrap().parameters["days"].default,
            serde_json::json!(9)
        );

        let a = "id: a\nversion: 1.0.0\ntitle: A\nextends: [b]\n";
        let b = "id: b\nversion: 1.0.0\ntitle: B\nextends: [a]\n";
        let (_dir, reg) = registry(&[("a", a), ("b", b)]);
        let err = reg.resolve("a").unwrap_err();
        assert!(err.detail().contains("a → b → a"), "{err}");
    }

    #[test]
    fn removing_what_no_parent_defines_is_an_error() {
        let child = "id: child\nversion: 1.0.0\ntitle: C\nextends: [base]\nremove: [B-X-99]\n";
        let (_dir, reg) = registry(&[("base", BASE), ("child", child)]);
        let err = reg.resolve("child").unwrap_err();
        assert_eq!(err.item(), Some("B-X-99"));
    }

    #[test]
    fn a_file_whose_id_is_not_its_name_is_refused() {
        let (_dir, reg) = registry(&[("base", &BASE.replace("id: base", "id: other"))]);
        assert!(reg
            .resolve("base")
            .unwrap_err()
            .detail()
            .contains("named for 'base'"));
    }
}
