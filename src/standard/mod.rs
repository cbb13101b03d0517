//! Standards: the file format, resolution of `extends`, and the compiled form the engine runs.

pub mod lint;
pub mod model;
mod record_use;
pub mod reference;
pub mod resolve;

use std::collections::{BTreeMap, BTreeSet};

use minijinja::Expression;
use sha2::{Digest, Sha256};

pub use model::{
    Band, BasisDoc, Direction, Evidence, Grade, Indicator, IndicatorScoring, Measure, Parameter,
    Rule, RuleScoring, Section, Severity, Status, Target,
};
pub use resolve::{Registry, Resolved};

use crate::embedded;
use crate::error::{Error, ErrorKind, Result};
use crate::expr;
use crate::expr::Compiled;
use crate::schema::{KindSchema, BASE_KINDS};
use crate::text::{Lang, Text};
use resolve::{Located, ResolvedSection};

/// A section of the scored tree, with its items as indexes into the standard's lists.
#[derive(Debug, Clone)]
pub struct SectionNode {
    pub id: String,
    pub title: Text,
    pub description: Option<Text>,
    pub sections: Vec<SectionNode>,
    pub rules: Vec<usize>,
    pub indicators: Vec<usize>,
}

/// A rule with its expressions compiled.
pub struct CompiledRule {
    pub def: Rule,
    /// The id of the section it sits in.
    pub section: String,
    pub file: String,
    pub line: u64,
    pub(crate) when: Option<Compiled>,
    pub(crate) assert: Compiled,
    /// The record fields the rule's expressions name (dotted, without `record.`).
    pub fields: Vec<String>,
    /// The record fields its `assert` names.
    pub assert_fields: Vec<String>,
    /// The parts of its `assert` (the operands of its top-level `and`s) with the record fields
    /// each names in the order written: a failure points at the first field of the first part
    /// that does not hold (the first such field that is missing, when one is).
    pub(crate) assert_parts: Vec<(Compiled, Vec<String>)>,
    /// The record's top-level fields its message reads, in every language it is written in;
    /// `None` when it may read the whole record.
    pub(crate) message_keys: Option<BTreeSet<String>>,
}

/// An indicator's target, compiled.
pub enum CompiledTarget {
    Number(f64),
    Expr(Expression<'static, 'static>),
}

/// An indicator with its expressions compiled.
pub struct CompiledIndicator {
    pub def: Indicator,
    pub section: String,
    pub file: String,
    pub line: u64,
    pub(crate) where_: Option<Compiled>,
    pub(crate) value: Option<Compiled>,
    pub(crate) target: CompiledTarget,
    pub fields: Vec<String>,
}

/// A resolved standard, compiled and ready to evaluate records.
pub struct Standard {
    pub id: String,
    pub version: String,
    pub title: Text,
    pub description: Option<Text>,
    pub sector: Option<String>,
    pub status: Status,
    pub basis: Vec<BasisDoc>,
    pub extends: Vec<String>,
    pub parameters: BTreeMap<String, Parameter>,
    /// The kinds a submission must hold (`required`) or may hold.
    pub evidence: BTreeMap<String, Evidence>,
    pub total_points: f64,
    pub grades: Vec<Grade>,
    pub kinds: BTreeMap<String, KindSchema>,
    pub sections: Vec<SectionNode>,
    pub rules: Vec<CompiledRule>,
    pub indicators: Vec<CompiledIndicator>,
    /// SHA-256 over the contents of the standard's files (its own and every parent's) and of its
    /// schemas.
    pub sha256: String,
    /// The file it was loaded from.
    pub file: String,
    /// Whether it and everything it extends are shipped with yardstick.
    pub shipped: bool,
    messages: minijinja::Environment<'static>,
    /// How many subexpressions the expressions share (a record's memo has a slot for each).
    pub(crate) memo_slots: usize,
}

impl Standard {
    /// Loads a standard by id from a registry: resolve, then compile.
    pub fn load(registry: &Registry, id: &str) -> Result<Standard> {
        let resolved = registry.resolve(id)?;
        Standard::compile(resolved)
    }

    /// The shipped standard with this id.
    pub fn builtin(id: &str) -> Result<Standard> {
        Standard::load(&Registry::builtin(), id)
    }

    pub fn rule(&self, id: &str) -> Option<&CompiledRule> {
        self.rules.iter().find(|r| r.def.id == id)
    }

    pub fn indicator(&self, id: &str) -> Option<&CompiledIndicator> {
        self.indicators.iter().find(|i| i.def.id == id)
    }

    /// The kind a file or folder name stands for (`cases` → `case`), if any.
    pub fn kind_for_name(&self, name: &str) -> Option<&str> {
        let name = name.to_lowercase();
        self.kinds
            .keys()
            .map(String::as_str)
            .find(|kind| name == *kind || name == plural(kind))
    }

    /// Renders what a rule or indicator requires, with these parameter values; `None` when it
    /// states no requirement.
    pub fn render_requirement(
        &self,
        id: &str,
        lang: Lang,
        params: &BTreeMap<String, serde_json::Value>,
    ) -> Option<String> {
        let tmpl = self
            .messages
            .get_template(&requirement_name(id, lang))
            .ok()?;
        // The kind the item is about, so that `label` reads that kind's labels first.
        let kind = self
            .rules
            .iter()
            .find(|r| r.def.id == id)
            .map(|r| r.def.applies_to.as_str())
            .or_else(|| {
                self.indicators
                    .iter()
                    .find(|i| i.def.id == id)
                    .map(|i| i.def.applies_to.as_str())
            })
            .unwrap_or_default();
        tmpl.render(minijinja::context! {
            params => expr::to_value(params),
            __lang => expr::to_value(&lang),
            __kind => kind,
        })
        .ok()
    }

    /// Renders a rule's message in a language; `ctx` holds `record`, `params`, `submission`.
    pub fn render_message(
        &self,
        rule_id: &str,
        lang: Lang,
        ctx: minijinja::Value,
    ) -> std::result::Result<String, minijinja::Error> {
        let name = message_name(rule_id, lang);
        self.messages.get_template(&name)?.render(ctx)
    }

    fn compile(mut resolved: Resolved) -> Result<Standard> {
        let file = resolved.file.clone();
        let shipped = resolved.sources.iter().all(|s| s.dir.is_none());
        let kinds = compile_kinds(&resolved)?;
        if resolved.grades.is_empty() {
            resolved.grades = default_grades();
        }
        if !(resolved.total_points.is_finite() && resolved.total_points > 0.0) {
            return Err(Error::new(
                ErrorKind::InvalidStandard,
                "total_points must be a positive number",
            )
            .with_file(&file));
        }
        for kind in resolved.evidence.keys() {
            if !kinds.contains_key(kind) {
                return Err(Error::new(
                    ErrorKind::InvalidStandard,
                    format!(
                        "evidence names '{kind}', which is not a record kind of the standard (known: {})",
                        kinds.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
                .with_file(&file));
            }
        }
        let mut messages = expr::new_environment();
        messages.add_filter("label", label_filter(&kinds));
        let mut builder = Builder {
            params: resolved.parameters.keys().cloned().collect(),
            kinds: &kinds,
            rules: Vec::new(),
            indicators: Vec::new(),
            ids: BTreeSet::new(),
            messages,
            shared: expr::native::Interner::default(),
        };
        let mut sections = Vec::new();
        for s in &resolved.sections {
            sections.push(builder.section(s)?);
        }
        let Builder {
            mut rules,
            mut indicators,
            messages,
            shared,
            ..
        } = builder;
        // Only subexpressions met more than once keep a slot in a record's memo.
        let slots = shared.slots();
        for rule in &mut rules {
            let parts = rule.assert_parts.iter_mut().map(|(e, _)| e);
            for e in rule.when.iter_mut().chain([&mut rule.assert]).chain(parts) {
                e.share(&slots.0);
            }
        }
        for ind in &mut indicators {
            for e in ind.where_.iter_mut().chain(ind.value.iter_mut()) {
                e.share(&slots.0);
            }
        }
        let memo_slots = slots.1;
        let mut hasher = Sha256::new();
        // Contents only, never paths: the same standard hashes the same wherever it is kept.
        for source in &resolved.sources {
            hasher.update(source.text.as_bytes());
            hasher.update([0]);
        }
        for (kind, schema) in &kinds {
            hasher.update(kind.as_bytes());
            hasher.update([0]);
            for (_, doc) in &schema.documents {
                hasher.update(doc.to_string().as_bytes());
                hasher.update([0]);
            }
        }
        let sha256 = crate::records::hex(&hasher.finalize());
        Ok(Standard {
            id: resolved.id,
            version: resolved.version,
            title: resolved.title,
            description: resolved.description,
            sector: resolved.sector,
            status: resolved.status,
            basis: resolved.basis,
            extends: resolved.extends,
            parameters: resolved.parameters,
            evidence: resolved.evidence,
            total_points: resolved.total_points,
            grades: resolved.grades,
            kinds,
            sections,
            rules,
            indicators,
            sha256,
            file,
            shipped,
            messages,
            memo_slots,
        })
    }
}

/// Every labelled field of every kind: the kind, the field's dotted path (without `[]`) and its
/// codes' labels.
type Labels = Vec<(String, String, BTreeMap<String, String>)>;

/// The `label` filter of messages and requirements: a code (or a list of codes) shown as its
/// Chinese `x-labels` label in a Chinese text and as the code in an English one. `label(field)`
/// looks only at the fields of that name, for codes that mean different things in two places.
/// The fields of the record's own kind are looked at first, so a code two kinds label
/// differently shows the label of the kind the message is about.
fn label_filter(
    kinds: &BTreeMap<String, KindSchema>,
) -> impl Fn(&minijinja::State, minijinja::Value, Option<String>) -> minijinja::Value
       + Send
       + Sync
       + 'static {
    let labels: Labels = kinds
        .iter()
        .flat_map(|(kind, k)| k.fields.iter().map(move |field| (kind, field)))
        .filter(|(_, (_, f))| !f.labels.is_empty())
        .map(|(kind, (p, f))| (kind.clone(), p.replace("[]", ""), f.labels.clone()))
        .collect();
    let labels = std::sync::Arc::new(labels);
    move |state, value, field| {
        let zh = state
            .lookup("__lang")
            .is_none_or(|l| l.as_str() != Some("en"));
        if !zh {
            return value;
        }
        let own = state.lookup("__kind");
        let own = own.as_ref().and_then(|k| k.as_str());
        let one = |v: minijinja::Value| -> minijinja::Value {
            let Some(code) = v.as_str() else { return v };
            let fits = |path: &str| match &field {
                None => true,
                Some(f) => path == f || path.ends_with(&format!(".{f}")),
            };
            let find = |mine: bool| {
                labels
                    .iter()
                    .filter(|(kind, path, _)| (Some(kind.as_str()) == own) == mine && fits(path))
                    .find_map(|(_, _, l)| l.get(code))
            };
            find(true)
                .or_else(|| find(false))
                .map_or(v.clone(), |l| minijinja::Value::from(l.as_str()))
        };
        if value.is_undefined() || value.is_none() {
            return value;
        }
        if value.as_str().is_none() {
            if let Ok(items) = value.try_iter() {
                return minijinja::Value::from(items.map(one).collect::<Vec<_>>());
            }
        }
        one(value)
    }
}

/// The grades of a standard that names none: Shenzhen's 2021 measures for evaluating
/// government-purchased social work projects (90 优秀, 80 良好, 60 合格, below 不合格).
pub fn default_grades() -> Vec<Grade> {
    let grade = |id: &str, min: f64, zh: &str, en: &str| Grade {
        id: id.to_string(),
        min,
        title: Text::Bilingual {
            zh: Some(zh.to_string()),
            en: Some(en.to_string()),
        },
    };
    vec![
        grade("excellent", 90.0, "优秀", "Excellent"),
        grade("good", 80.0, "良好", "Good"),
        grade("pass", 60.0, "合格", "Pass"),
        grade("fail", 0.0, "不合格", "Fail"),
    ]
}

fn plural(kind: &str) -> String {
    if kind == "staff" {
        "staff".into()
    } else if let Some(stem) = kind.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{kind}s")
    }
}

/// The name under which a rule's or indicator's message (`what` = "") or requirement is kept.
fn template_name(id: &str, what: &str, lang: Lang) -> String {
    let lang = match lang {
        Lang::Zh => "zh",
        Lang::En => "en",
    };
    if what.is_empty() {
        format!("{id}#{lang}")
    } else {
        format!("{id}#{what}#{lang}")
    }
}

fn requirement_name(id: &str, lang: Lang) -> String {
    template_name(id, "requirement", lang)
}

fn message_name(id: &str, lang: Lang) -> String {
    template_name(id, "", lang)
}

/// Reads a schema a standard names: beside the standard's file on disk, else shipped.
fn read_schema(path: &str, dir: Option<&std::path::Path>) -> Option<(String, String)> {
    if let Some(dir) = dir {
        let candidate = dir.join(path);
        if let Ok(text) = std::fs::read_to_string(&candidate) {
            return Some((candidate.display().to_string(), text));
        }
    }
    let shipped = format!("schemas/{path}");
    embedded::text(&shipped).map(|t| (shipped, t.to_string()))
}

fn compile_kinds(resolved: &Resolved) -> Result<BTreeMap<String, KindSchema>> {
    let mut docs: BTreeMap<String, Vec<(String, serde_json::Value)>> = BTreeMap::new();
    let parse = |name: &str, text: &str, declared_in: &str| {
        serde_json::from_str::<serde_json::Value>(text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidStandard,
                format!("schema {name} is not valid JSON: {e}"),
            )
            .with_file(declared_in)
        })
    };
    for kind in BASE_KINDS {
        let name = format!("schemas/records/{kind}.schema.json");
        let text = embedded::text(&name).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidStandard,
                format!("the base schema {name} is not shipped"),
            )
        })?;
        docs.entry(kind.to_string())
            .or_default()
            .push((name.clone(), parse(&name, text, &name)?));
    }
    for (kind, schema_ref) in &resolved.schemas {
        if !kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_')
            || kind.is_empty()
        {
            return Err(Error::new(
                ErrorKind::InvalidStandard,
                format!("'{kind}' is not a valid record kind name"),
            )
            .with_file(&schema_ref.declared_in));
        }
        let (name, text) =
            read_schema(&schema_ref.path, schema_ref.dir.as_deref()).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidStandard,
                    format!("schema '{}' for kind '{kind}' not found", schema_ref.path),
                )
                .with_file(&schema_ref.declared_in)
            })?;
        let doc = parse(&name, &text, &schema_ref.declared_in)?;
        docs.entry(kind.clone()).or_default().push((name, doc));
    }
    let mut kinds = BTreeMap::new();
    for (kind, documents) in docs {
        let compiled = KindSchema::compile(&kind, documents).map_err(|e| {
            Error::new(ErrorKind::InvalidStandard, e)
                .with_file(&resolved.file)
                .with_item(kind.clone())
        })?;
        kinds.insert(kind, compiled);
    }
    Ok(kinds)
}

struct Builder<'a> {
    params: BTreeSet<String>,
    kinds: &'a BTreeMap<String, KindSchema>,
    rules: Vec<CompiledRule>,
    indicators: Vec<CompiledIndicator>,
    ids: BTreeSet<String>,
    messages: minijinja::Environment<'static>,
    /// The subexpressions the standard's expressions share, for a record's evaluations to
    /// compute once.
    shared: expr::native::Interner,
}

/// The names an expression may use at its top level besides helpers and builtins.
const ROOTS: &[&str] = &["record", "params", "submission"];

impl Builder<'_> {
    fn claim<T>(&mut self, loc: &Located<T>, id: &str) -> Result<()> {
        if id.trim().is_empty() {
            return Err(loc.error(ErrorKind::InvalidStandard, id, "an id must not be empty"));
        }
        if !self.ids.insert(id.to_string()) {
            return Err(loc.error(
                ErrorKind::InvalidStandard,
                id,
                "duplicate id in the resolved standard",
            ));
        }
        Ok(())
    }

    /// Compiles one expression and checks the names it uses; returns it with the record fields.
    fn expression<T>(
        &mut self,
        loc: &Located<T>,
        id: &str,
        what: &str,
        source: &str,
        allow_record: bool,
    ) -> Result<(Compiled, Vec<String>)> {
        let compiled = expr::environment()
            .compile_expression_owned(source.to_string())
            .map_err(|e| {
                loc.error(
                    ErrorKind::InvalidStandard,
                    id,
                    format!("{what} does not compile: {}", jinja_detail(&e)),
                )
            })?;
        let names = compiled.undeclared_variables(true);
        let fields = self.check_names(loc, id, what, names, allow_record)?;
        // Evaluate the form whose ordering comparisons treat missing data as unknown.
        let guarded = expr::guard::guard(source)
            .and_then(|text| {
                let jinja = expr::environment()
                    .compile_expression_owned(text.clone())
                    .ok()?;
                Some(Compiled::new(jinja, &text, &mut self.shared))
            })
            .ok_or_else(|| {
                loc.error(
                    ErrorKind::InvalidStandard,
                    id,
                    format!("{what} could not be prepared for evaluation"),
                )
            })?;
        Ok((guarded, fields))
    }

    fn check_names<T>(
        &self,
        loc: &Located<T>,
        id: &str,
        what: &str,
        names: std::collections::HashSet<String>,
        allow_record: bool,
    ) -> Result<Vec<String>> {
        let globals: BTreeSet<String> = expr::environment()
            .globals()
            .map(|(n, _)| n.to_string())
            .collect();
        let mut sorted: Vec<String> = names.into_iter().collect();
        sorted.sort();
        for name in &sorted {
            let root = name.split('.').next().unwrap_or(name);
            let known =
                ROOTS.contains(&root) || globals.contains(root) || expr::HELPERS.contains(&root);
            if !known {
                return Err(loc.error(
                    ErrorKind::InvalidStandard,
                    id,
                    format!("{what} names '{root}', which is not in scope (record, params, submission, or a helper)"),
                ));
            }
            if root == "record" && !allow_record {
                return Err(loc.error(
                    ErrorKind::InvalidStandard,
                    id,
                    format!("{what} cannot look at a record"),
                ));
            }
        }
        let (fields, params) = expr::referenced(sorted);
        for p in params {
            if !self.params.contains(&p) {
                return Err(loc.error(
                    ErrorKind::InvalidStandard,
                    id,
                    format!("{what} names params.{p}, which the standard does not define"),
                ));
            }
        }
        Ok(fields)
    }

    fn check_kind<T>(&self, loc: &Located<T>, id: &str, kind: &str) -> Result<()> {
        if self.kinds.contains_key(kind) {
            Ok(())
        } else {
            Err(loc.error(
                ErrorKind::InvalidStandard,
                id,
                format!(
                    "applies_to names an unknown record kind '{kind}' (known: {})",
                    self.kinds.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ))
        }
    }

    fn check_points<T>(&self, loc: &Located<T>, id: &str, points: f64) -> Result<()> {
        if points.is_finite() && points >= 0.0 {
            Ok(())
        } else {
            Err(loc.error(
                ErrorKind::InvalidStandard,
                id,
                "points must be a number of at least 0",
            ))
        }
    }

    fn section(&mut self, loc: &Located<ResolvedSection>) -> Result<SectionNode> {
        let s = &loc.item;
        self.claim(loc, &s.id)?;
        let title = s.title.clone().ok_or_else(|| {
            loc.error(
                ErrorKind::InvalidStandard,
                &s.id,
                "the section has no title",
            )
        })?;
        let mut node = SectionNode {
            id: s.id.clone(),
            title,
            description: s.description.clone(),
            sections: Vec::new(),
            rules: Vec::new(),
            indicators: Vec::new(),
        };
        for r in &s.rules {
            node.rules.push(self.rule(r, &s.id)?);
        }
        for i in &s.indicators {
            node.indicators.push(self.indicator(i, &s.id)?);
        }
        for child in &s.sections {
            node.sections.push(self.section(child)?);
        }
        Ok(node)
    }

    fn rule(&mut self, loc: &Located<Rule>, section: &str) -> Result<usize> {
        let r = &loc.item;
        let id = r.id.as_str();
        self.claim(loc, id)?;
        self.check_kind(loc, id, &r.applies_to)?;
        self.check_points(loc, id, r.points)?;
        if let RuleScoring::Deduct(d) = r.scoring {
            if !(d.is_finite() && d > 0.0) {
                return Err(loc.error(
                    ErrorKind::InvalidStandard,
                    id,
                    "deduct must be a positive number",
                ));
            }
        }
        let mut fields = Vec::new();
        let when = match &r.when {
            Some(src) => {
                let (e, f) = self.expression(loc, id, "when", src, true)?;
                fields.extend(f);
                Some(e)
            }
            None => None,
        };
        let (assert, assert_fields) = self.expression(loc, id, "assert", &r.assert, true)?;
        fields.extend(assert_fields.iter().cloned());
        let mut assert_parts = Vec::new();
        for text in expr::guard::conjuncts(&r.assert) {
            let Ok(compiled) = expr::environment().compile_expression_owned(text.clone()) else {
                continue;
            };
            let (names, _) = expr::referenced(compiled.undeclared_variables(true));
            let mut names: Vec<(usize, String)> = names
                .into_iter()
                .map(|n| (text.find(&format!("record.{n}")).unwrap_or(usize::MAX), n))
                .collect();
            names.sort();
            let compiled = Compiled::new(compiled, &text, &mut self.shared);
            assert_parts.push((compiled, names.into_iter().map(|(_, n)| n).collect()));
        }
        self.requirement(loc, id, r.requirement.as_ref())?;
        // A rule without a message says its title.
        self.template(loc, id, "message", message_name, r.message(), true)?;
        let message_keys =
            r.message()
                .variants()
                .into_iter()
                .try_fold(BTreeSet::new(), |mut keys, text| {
                    keys.extend(record_use::record_keys(text)?);
                    Some(keys)
                });
        fields.sort();
        fields.dedup();
        self.rules.push(CompiledRule {
            def: r.clone(),
            section: section.to_string(),
            file: loc.file.clone(),
            line: loc.line,
            when,
            assert,
            fields,
            assert_fields,
            assert_parts,
            message_keys,
        });
        Ok(self.rules.len() - 1)
    }

    /// Compiles a rule's or indicator's `requirement` (a template over `params`).
    fn requirement<T>(&mut self, loc: &Located<T>, id: &str, text: Option<&Text>) -> Result<()> {
        match text {
            Some(text) => self.template(loc, id, "requirement", requirement_name, text, false),
            None => Ok(()),
        }
    }

    /// Compiles a bilingual template (a message, a requirement) in both languages under its
    /// names, and checks the names it uses.
    fn template<T>(
        &mut self,
        loc: &Located<T>,
        id: &str,
        what: &str,
        name: fn(&str, Lang) -> String,
        text: &Text,
        allow_record: bool,
    ) -> Result<()> {
        for lang in [Lang::Zh, Lang::En] {
            let name = name(id, lang);
            let fail = |detail: String| loc.error(ErrorKind::InvalidStandard, id, detail);
            self.messages
                .add_template_owned(name.clone(), text.get(lang).to_string())
                .map_err(|e| fail(format!("{what} does not compile: {}", jinja_detail(&e))))?;
            let names = self
                .messages
                .get_template(&name)
                .map_err(|e| fail(format!("{what}: {}", jinja_detail(&e))))?
                .undeclared_variables(true);
            self.check_names(loc, id, what, names, allow_record)?;
        }
        Ok(())
    }

    fn indicator(&mut self, loc: &Located<Indicator>, section: &str) -> Result<usize> {
        let ind = &loc.item;
        let id = ind.id.as_str();
        self.claim(loc, id)?;
        self.check_kind(loc, id, &ind.applies_to)?;
        self.check_points(loc, id, ind.points)?;
        self.requirement(loc, id, ind.requirement.as_ref())?;
        let mut fields = Vec::new();
        let where_ = match &ind.where_ {
            Some(src) => {
                let (e, f) = self.expression(loc, id, "where", src, true)?;
                fields.extend(f);
                Some(e)
            }
            None => None,
        };
        let value = match (&ind.value, ind.measure) {
            (Some(_), Measure::Count) => {
                return Err(loc.error(
                    ErrorKind::InvalidStandard,
                    id,
                    "a count takes no value: put the test in where",
                ));
            }
            (None, Measure::Count) => None,
            (None, m) => {
                return Err(loc.error(
                    ErrorKind::InvalidStandard,
                    id,
                    format!("a {} needs a value", m.as_str()),
                ));
            }
            (Some(src), _) => {
                let (e, f) = self.expression(loc, id, "value", src, true)?;
                fields.extend(f);
                Some(e)
            }
        };
        let target = match &ind.target {
            Target::Number(n) if n.is_finite() => CompiledTarget::Number(*n),
            Target::Number(_) => {
                return Err(loc.error(
                    ErrorKind::InvalidStandard,
                    id,
                    "target must be a finite number",
                ));
            }
            Target::Expr(src) => {
                CompiledTarget::Expr(self.expression(loc, id, "target", src, false)?.0.jinja)
            }
        };
        match &ind.scoring {
            IndicatorScoring::Bands(bands) => {
                if bands.is_empty() {
                    return Err(loc.error(
                        ErrorKind::InvalidStandard,
                        id,
                        "bands needs at least one band",
                    ));
                }
                for b in bands {
                    let bound = match ind.direction {
                        Direction::Higher => b.min,
                        Direction::Lower => b.max,
                    };
                    let key = match ind.direction {
                        Direction::Higher => "min",
                        Direction::Lower => "max",
                    };
                    if bound.is_none() {
                        return Err(loc.error(
                            ErrorKind::InvalidStandard,
                            id,
                            format!(
                                "every band of a '{}' indicator needs {key}",
                                match ind.direction {
                                    Direction::Higher => "higher",
                                    Direction::Lower => "lower",
                                }
                            ),
                        ));
                    }
                    if !(b.points.is_finite() && b.points >= 0.0 && b.points <= ind.points) {
                        return Err(loc.error(
                            ErrorKind::InvalidStandard,
                            id,
                            "a band's points must lie between 0 and the indicator's points",
                        ));
                    }
                }
            }
            IndicatorScoring::Linear(l) => {
                if let CompiledTarget::Number(t) = target {
                    let ok = match ind.direction {
                        Direction::Higher => l.zero_at < t,
                        Direction::Lower => l.zero_at > t,
                    };
                    if !ok {
                        return Err(loc.error(ErrorKind::InvalidStandard, id, "linear zero_at must lie below the target (above it for direction lower)"));
                    }
                }
            }
            IndicatorScoring::Threshold | IndicatorScoring::Proportional => {}
        }
        fields.sort();
        fields.dedup();
        self.indicators.push(CompiledIndicator {
            def: ind.clone(),
            section: section.to_string(),
            file: loc.file.clone(),
            line: loc.line,
            where_,
            value,
            target,
            fields,
        });
        Ok(self.indicators.len() - 1)
    }
}

/// A MiniJinja error's own text, with the line inside the expression when it has one.
pub(crate) fn jinja_detail(e: &minijinja::Error) -> String {
    let mut out = e
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| e.kind().to_string());
    if let Some(line) = e.line() {
        if line > 1 {
            out.push_str(&format!(" (line {line} of the expression)"));
        }
    }
    out
}
