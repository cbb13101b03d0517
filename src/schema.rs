//! Record kinds and their JSON Schemas: compiled once per standard, then used to validate
//! records, to normalise their dates, to mask their personal fields, and to lint expressions.

use std::collections::BTreeMap;

use serde_json::Value;

/// The six record kinds every standard knows (records.md).
pub const BASE_KINDS: &[&str] = &["case", "group", "activity", "request", "mediation", "staff"];

/// A step of a field path: a key, every element of an array, or every key of a map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Key(String),
    Each,
    AnyKey,
}

fn parse_path(path: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut name = part;
        let mut arrays = 0;
        while let Some(stripped) = name.strip_suffix("[]") {
            name = stripped;
            arrays += 1;
        }
        if name == "*" {
            segs.push(Seg::AnyKey);
        } else if !name.is_empty() {
            segs.push(Seg::Key(name.to_string()));
        }
        segs.extend(std::iter::repeat_n(Seg::Each, arrays));
    }
    segs
}

/// What a schema says about one field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldInfo {
    pub personal: bool,
    /// The Chinese label of each code of an enumeration (`x-labels`).
    pub labels: BTreeMap<String, String>,
    /// `date` or `date-time` when the field is declared so.
    pub format: Option<String>,
    pub title: Option<String>,
}

/// The compiled schemas of one record kind: the base schema and a sector's extension.
pub struct KindSchema {
    pub kind: String,
    /// (name, document) of each schema that applies, base first.
    pub documents: Vec<(String, Value)>,
    validators: Vec<jsonschema::Validator>,
    /// Every field a schema defines, by dotted path (`sessions[].date`).
    pub fields: BTreeMap<String, FieldInfo>,
    /// The fields that date a record, for the period check: `x-period: {start, end}`.
    pub period: Option<(String, Option<String>)>,
    /// `x-period.grace`: the parameters (by name) whose largest value is how many days a record
    /// that ended before the period stays in it, for duties that fall due after its end (a
    /// follow-up after a closure).
    pub period_grace: Vec<String>,
    personal: Vec<Vec<Seg>>,
    /// The date (`false`) and date-time (`true`) fields.
    dated: Vec<(Vec<Seg>, bool)>,
    /// Fields whose codes have labels: the path and each label's code.
    labelled: Vec<(Vec<Seg>, Labels)>,
    /// The defined fields as a tree, each with its rewrites: walked for unknown fields (a node
    /// with children is a place whose value holds defined fields of its own), and by
    /// [`KindSchema::prepare`]'s one walk.
    tree: Node<Act>,
    /// Whether one walk gives what the separate walks give (see [`Node::walks_as_one`]).
    one_walk: bool,
}

/// A field a record carries that its kind's schema does not define.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// JSON pointer of the field in the record.
    pub pointer: String,
    /// Its name as written.
    pub name: String,
    /// The nearest name the schema defines at that place, when one is close.
    pub suggestion: Option<String>,
}

/// One violation of a kind's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub pointer: String,
    /// The validator's words (English).
    pub message: String,
    /// The same in Chinese, with codes shown with their labels.
    pub message_zh: String,
}

impl KindSchema {
    /// Compiles the schemas of a kind; the error names the document and why.
    pub fn compile(kind: &str, documents: Vec<(String, Value)>) -> Result<KindSchema, String> {
        let mut validators = Vec::new();
        let mut fields = BTreeMap::new();
        let mut period = None;
        let mut period_grace = Vec::new();
        for (name, doc) in &documents {
            let validator = jsonschema::options()
                .should_validate_formats(true)
                .build(doc)
                .map_err(|e| format!("{name}: not a valid JSON Schema: {e}"))?;
            validators.push(validator);
            collect_fields(doc, doc, "", &mut fields, 0);
            if let Some(odd) = fields.keys().find_map(|k| k.strip_prefix('\0')) {
                return Err(format!(
                    "{name}: the property '{odd}' cannot be named in a field path (a name may not \
                     be empty or '*', or hold '.' or '[]'); rename it"
                ));
            }
            if let Some(p) = doc.get("x-period") {
                let start = p.get("start").and_then(Value::as_str).map(str::to_string);
                let end = p.get("end").and_then(Value::as_str).map(str::to_string);
                match p.get("grace") {
                    Some(Value::String(g)) => period_grace.push(g.clone()),
                    Some(Value::Array(gs)) => {
                        period_grace.extend(gs.iter().filter_map(Value::as_str).map(str::to_string))
                    }
                    _ => {}
                }
                match start {
                    Some(start) => period = Some((start, end)),
                    None => return Err(format!("{name}: x-period needs a start field")),
                }
            }
        }
        let personal = fields
            .iter()
            .filter(|(_, f)| f.personal)
            .map(|(p, _)| parse_path(p))
            .collect();
        let dated = fields
            .iter()
            .filter_map(|(p, f)| match f.format.as_deref() {
                Some("date") => Some((parse_path(p), false)),
                Some("date-time") => Some((parse_path(p), true)),
                _ => None,
            })
            .collect();
        let labelled: Vec<(Vec<Seg>, Labels)> = fields
            .iter()
            .filter(|(_, f)| !f.labels.is_empty())
            .map(|(p, f)| {
                let by_label: BTreeMap<String, String> = f
                    .labels
                    .iter()
                    .map(|(code, label)| (label.clone(), code.clone()))
                    .collect();
                let ascii = by_label.keys().any(|l| l.trim().is_ascii());
                (parse_path(p), Labels { by_label, ascii })
            })
            .collect();
        let mut tree = Node::default();
        for path in fields.keys() {
            tree.insert(parse_path(path), Act::Field);
        }
        for (path, f) in &fields {
            match f.format.as_deref() {
                Some("date") => tree.insert(parse_path(path), Act::Date(false)),
                Some("date-time") => tree.insert(parse_path(path), Act::Date(true)),
                _ => {}
            }
        }
        for (path, by_label) in &labelled {
            tree.insert(path.clone(), Act::Labels(by_label.clone()));
        }
        Ok(KindSchema {
            kind: kind.to_string(),
            documents,
            validators,
            one_walk: tree.walks_as_one(),
            tree,
            fields,
            period,
            period_grace,
            personal,
            dated,
            labelled,
        })
    }

    /// The kind's name for a Chinese text: the title of its first (base) schema (`个案`), else
    /// the kind's code.
    pub fn name_zh(&self) -> &str {
        self.documents
            .first()
            .and_then(|(_, d)| d.get("title"))
            .and_then(Value::as_str)
            .unwrap_or(&self.kind)
    }

    /// The one schema a user sees for this kind (`standards schema KIND`).
    pub fn combined(&self) -> Value {
        match self.documents.as_slice() {
            [(_, only)] => only.clone(),
            docs => serde_json::json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": self.kind,
                "allOf": docs.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(),
            }),
        }
    }

    /// Whether a dotted field path (as an expression names it) is defined by the schemas.
    pub fn defines(&self, path: &str) -> bool {
        if self.fields.contains_key(path) {
            return true;
        }
        // `record.sessions` names the array; `record.risks.falls` may sit under a map.
        let target = parse_path(path);
        self.fields.keys().any(|p| {
            let segs: Vec<Seg> = parse_path(p)
                .into_iter()
                .filter(|s| *s != Seg::Each)
                .collect();
            segs.len() == target.len()
                && segs
                    .iter()
                    .zip(&target)
                    .all(|(a, b)| a == b || *a == Seg::AnyKey)
        })
    }

    pub fn is_valid(&self, record: &Value) -> bool {
        self.validators.iter().all(|v| v.is_valid(record))
    }

    /// Every violation of every schema of the kind, personal values never shown.
    pub fn violations(&self, record: &Value) -> Vec<Violation> {
        let mut out = Vec::new();
        for v in &self.validators {
            for err in v.iter_errors(record) {
                let pointer = err.instance_path().to_string();
                let personal = self.touches_personal(&pointer);
                let message = if personal {
                    err.masked().to_string()
                } else {
                    err.to_string()
                };
                let message_zh = self.in_chinese(&err, &pointer, personal, &message);
                out.push(Violation {
                    pointer,
                    message,
                    message_zh,
                });
            }
        }
        out.sort_by(|a, b| {
            a.pointer
                .cmp(&b.pointer)
                .then_with(|| a.message.cmp(&b.message))
        });
        out.dedup();
        out
    }

    /// A violation in Chinese: the common kinds in words, with codes and their labels; any other
    /// in the validator's own words. A personal value is shown masked.
    fn in_chinese(
        &self,
        err: &jsonschema::ValidationError,
        pointer: &str,
        personal: bool,
        english: &str,
    ) -> String {
        use jsonschema::error::ValidationErrorKind as K;
        let shown = |v: &Value| -> String {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            if personal {
                mask(&text)
            } else {
                format!("“{text}”")
            }
        };
        let value = shown(err.instance());
        let field = pointer
            .rsplit('/')
            .find(|p| p.parse::<usize>().is_err())
            .map(unescape);
        match err.kind() {
            K::Enum { options } => {
                let allowed: Vec<String> = options
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|o| {
                        let code = o.as_str().map_or_else(|| o.to_string(), str::to_string);
                        match self.label_of(&code, field.as_deref()) {
                            Some(label) => format!("{label}（{code}）"),
                            None => code,
                        }
                    })
                    .collect();
                format!("{value} 不是允许的取值；可填：{}", allowed.join("、"))
            }
            K::Format { format } => {
                let what = match format.as_str() {
                    "date" => "日期（如 2025-03-05）",
                    "date-time" => "日期时间（如 2025-03-05 09:30）",
                    other => other,
                };
                format!("{value} 不是有效的{what}")
            }
            K::Required { property } => format!(
                "缺少必填字段 {}",
                property
                    .as_str()
                    .map_or_else(|| property.to_string(), str::to_string)
            ),
            K::Type { .. } => format!("{value} 的类型不对：{english}"),
            K::Minimum { limit } | K::ExclusiveMinimum { limit } => {
                format!("{value} 小于允许的最小值 {limit}")
            }
            K::Maximum { limit } | K::ExclusiveMaximum { limit } => {
                format!("{value} 大于允许的最大值 {limit}")
            }
            K::Pattern { .. } => format!("{value} 的格式不对"),
            _ => format!("不符合数据规范：{english}"),
        }
    }

    /// Whether the value at this JSON pointer is, or contains, a personal field.
    pub fn touches_personal(&self, pointer: &str) -> bool {
        let parts: Vec<&str> = pointer.split('/').skip(1).collect();
        self.personal.iter().any(|pattern| {
            parts.len() <= pattern.len()
                && parts.iter().zip(pattern).all(|(part, seg)| match seg {
                    Seg::Key(k) => k == &unescape(part),
                    Seg::Each => part.parse::<usize>().is_ok(),
                    Seg::AnyKey => true,
                })
        })
    }

    /// Rewrites declared date and date-time fields to ISO 8601 where they can be read; values
    /// that cannot be read are left for the schema to report.
    pub fn normalise_dates(&self, record: &mut Value) {
        for (path, with_time) in &self.dated {
            visit_mut(record, path, &mut |v| rewrite_date(*with_time, v));
        }
    }

    /// Rewrites the Chinese labels of coded fields (`高`) to their codes (`high`); anything else
    /// is left for the schema to judge.
    pub fn normalise_labels(&self, record: &mut Value) {
        for (path, by_label) in &self.labelled {
            visit_mut(record, path, &mut |v| by_label.rewrite(v));
        }
    }

    /// Whether [`prepare`](Self::prepare) readies a record in one walk (else path by path).
    pub fn walks_once(&self) -> bool {
        self.one_walk
    }

    /// Readies a record for judging in one walk: its dates and labels normalised
    /// ([`normalise_dates`](Self::normalise_dates), then
    /// [`normalise_labels`](Self::normalise_labels)); returns its unknown fields
    /// ([`unknown_fields`](Self::unknown_fields)).
    pub fn prepare(&self, record: &mut Value) -> Vec<UnknownField> {
        if !self.one_walk {
            self.normalise_dates(record);
            self.normalise_labels(record);
            return self.unknown_fields(record);
        }
        let mut out = Vec::new();
        if let Value::Object(_) = record {
            self.walk_prepare(record, &self.tree, true, &mut Vec::new(), &mut out);
        }
        out
    }

    /// The one walk of [`prepare`](Self::prepare): like the unknown-field walk, along the
    /// defined tree, with each field's date and label rewrites done as it is passed. `trail`
    /// is how `node` was reached from the record, for the place of an unknown field.
    fn walk_prepare<'v>(
        &self,
        node: &'v mut Value,
        at: &Node<Act>,
        root: bool,
        trail: &mut Vec<Step<'v>>,
        out: &mut Vec<UnknownField>,
    ) {
        match node {
            Value::Object(map) => {
                if !root && !at.has_children() {
                    return;
                }
                for (key, child) in map {
                    let (next, any) = match at.key(key).filter(|n| n.is_field()) {
                        Some(n) => (Some(n), false),
                        None => (at.any.as_deref().filter(|n| n.is_field()), true),
                    };
                    match next {
                        Some(next) => {
                            next.act(child);
                            if matches!(child, Value::Object(_) | Value::Array(_)) {
                                trail.push(Step::Key(key, any));
                                self.walk_prepare(child, next, false, trail, out);
                                trail.pop();
                            }
                        }
                        None if root && key == "kind" => {}
                        None => {
                            let (path, mut pointer) = Step::place(trail);
                            push_pointer(&mut pointer, key);
                            out.push(UnknownField {
                                pointer,
                                name: key.clone(),
                                suggestion: self.nearest(&path, key),
                            });
                        }
                    }
                }
            }
            Value::Array(items) => {
                // A list where the schema defines none holds nothing to report or rewrite.
                let Some(each) = at.each.as_deref() else {
                    return;
                };
                for (i, item) in items.iter_mut().enumerate() {
                    each.act(item);
                    if matches!(item, Value::Object(_) | Value::Array(_)) {
                        trail.push(Step::Index(i));
                        self.walk_prepare(item, each, false, trail, out);
                        trail.pop();
                    }
                }
            }
            _ => {}
        }
    }

    /// The fields of a record that the schemas do not define, with the nearest defined name.
    /// Objects the schema leaves open (no properties of their own) are not looked into.
    pub fn unknown_fields(&self, record: &Value) -> Vec<UnknownField> {
        let mut out = Vec::new();
        if let Value::Object(_) = record {
            self.walk_unknown(
                record,
                &self.tree,
                &mut String::new(),
                &mut String::new(),
                &mut out,
            );
        }
        out
    }

    /// Walks a record's mappings and lists along the defined tree; `at` is the tree's node for
    /// `node`, `path` its dotted schema path (`sessions[].date`) and `pointer` its JSON pointer,
    /// both grown and cut back in place. The record itself is always walked; below it, a
    /// mapping only where the schema defines fields inside it.
    fn walk_unknown(
        &self,
        node: &Value,
        at: &Node<Act>,
        path: &mut String,
        pointer: &mut String,
        out: &mut Vec<UnknownField>,
    ) {
        let (path_len, pointer_len) = (path.len(), pointer.len());
        let push_pointer = |pointer: &mut String, key: &str| {
            pointer.push('/');
            if key.contains(['~', '/']) {
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            } else {
                pointer.push_str(key);
            }
        };
        match node {
            Value::Object(map) => {
                if path_len > 0 && !at.has_children() {
                    return;
                }
                for (key, child) in map {
                    let (defined, any) = match at.key(key).filter(|n| n.is_field()) {
                        Some(n) => (Some(n), false),
                        None => (at.any.as_deref().filter(|n| n.is_field()), true),
                    };
                    match defined {
                        // Only mappings and lists hold fields of their own.
                        Some(next) => {
                            if matches!(child, Value::Object(_) | Value::Array(_)) {
                                if path_len > 0 {
                                    path.push('.');
                                }
                                path.push_str(if any { "*" } else { key });
                                push_pointer(pointer, key);
                                self.walk_unknown(child, next, path, pointer, out);
                                pointer.truncate(pointer_len);
                                path.truncate(path_len);
                            }
                        }
                        None if path_len == 0 && key == "kind" => {}
                        None => {
                            push_pointer(pointer, key);
                            out.push(UnknownField {
                                pointer: pointer.clone(),
                                name: key.clone(),
                                suggestion: self.nearest(path, key),
                            });
                            pointer.truncate(pointer_len);
                        }
                    }
                }
            }
            Value::Array(items) => {
                // A list where the schema defines none holds nothing to report.
                let Some(each) = at.each.as_deref() else {
                    return;
                };
                path.push_str("[]");
                for (i, item) in items.iter().enumerate() {
                    if matches!(item, Value::Object(_) | Value::Array(_)) {
                        pointer.push('/');
                        let _ = std::fmt::Write::write_fmt(pointer, format_args!("{i}"));
                        self.walk_unknown(item, each, path, pointer, out);
                        pointer.truncate(pointer_len);
                    }
                }
                path.truncate(path_len);
            }
            _ => {}
        }
    }

    /// The defined field beside `path` whose name is nearest to `name`, when it is close.
    fn nearest(&self, path: &str, name: &str) -> Option<String> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        self.fields
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|rest| !rest.contains('.') && !rest.contains("[]") && *rest != "*")
            .map(|candidate| (edit_distance(name, candidate), candidate))
            .filter(|(d, c)| *d <= (c.chars().count().max(name.chars().count()) / 3).max(1))
            .min()
            .map(|(_, c)| c.to_string())
    }

    /// The label of a code, looked up in the fields named `field` (a dotted path, or its last
    /// part), or in every labelled field when no field is named.
    pub fn label_of(&self, code: &str, field: Option<&str>) -> Option<&str> {
        self.fields
            .iter()
            .filter(|(path, _)| match field {
                None => true,
                Some(f) => {
                    let plain = path.replace("[]", "");
                    plain == f || plain.ends_with(&format!(".{f}"))
                }
            })
            .find_map(|(_, info)| info.labels.get(code).map(String::as_str))
    }

    /// A copy of the record with every personal field masked.
    pub fn masked(&self, record: &Value) -> Value {
        let mut copy = record.clone();
        for path in &self.personal {
            visit_mut(&mut copy, path, &mut |v| {
                let text = match &*v {
                    Value::String(s) => s.clone(),
                    Value::Null => return,
                    other => other.to_string(),
                };
                *v = Value::String(mask(&text));
            });
        }
        copy
    }
}

/// Edit distance over characters, a swap of two neighbours counting as one edit (optimal
/// string alignment): `strat` is one edit from `start`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, cell) in d.iter_mut().step_by(width).enumerate() {
        *cell = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

fn unescape(part: &str) -> String {
    part.replace("~1", "/").replace("~0", "~")
}

/// `YYYY-MM-DD`: the form a date is normalised to (a date that reads as one is one).
fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// Field paths as a tree, each place with what applies there: a record is walked once along
/// them, a key looked up once however many paths pass through it.
struct Node<T> {
    here: Vec<T>,
    /// By key.
    keys: foldhash::HashMap<String, Node<T>>,
    each: Option<Box<Node<T>>>,
    any: Option<Box<Node<T>>>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Node {
            here: Vec::new(),
            keys: foldhash::HashMap::default(),
            each: None,
            any: None,
        }
    }
}

impl<T> Node<T> {
    /// Adds a path, with what applies at its end.
    fn insert(&mut self, path: Vec<Seg>, what: T) {
        let mut node = self;
        for seg in path {
            node = match seg {
                Seg::Each => node.each.get_or_insert_with(Box::default),
                Seg::AnyKey => node.any.get_or_insert_with(Box::default),
                Seg::Key(k) => node.keys.entry(k).or_default(),
            };
        }
        node.here.push(what);
    }

    /// The child under a key.
    fn key(&self, key: &str) -> Option<&Node<T>> {
        self.keys.get(key)
    }

    fn has_children(&self) -> bool {
        !self.keys.is_empty() || self.each.is_some() || self.any.is_some()
    }
}

/// Rewrites a date (`with_time`: a date-time) to ISO 8601 when it can be read as one.
fn rewrite_date(with_time: bool, v: &mut Value) {
    if let Some(s) = v.as_str() {
        // Most dates are written as ISO dates already: nothing to rewrite (and one
        // in that form that is no date is left for the schema to report).
        if !with_time && is_iso_date(s) {
            return;
        }
        if let Ok(w) = crate::expr::dates::parse(s) {
            let iso = match (w, with_time) {
                (w, false) => w.date().to_string(),
                // A bare date in a date-time field is its midnight, Beijing time,
                // as `hours_between` reads it.
                (crate::expr::dates::When::Date(d), true) => crate::expr::dates::When::DateTime(
                    d.to_datetime(jiff::civil::Time::midnight()),
                    crate::expr::dates::local_offset(),
                )
                .to_iso(),
                (w, true) => w.to_iso(),
            };
            *v = Value::String(iso);
        }
    }
}

/// A coded field's labels, each with its code.
#[derive(Clone)]
struct Labels {
    by_label: BTreeMap<String, String>,
    /// Whether a label is ASCII: if none is, an ASCII value (a code, most often) is no label.
    ascii: bool,
}

impl Labels {
    /// Rewrites a label to its code.
    fn rewrite(&self, v: &mut Value) {
        let Some(s) = v.as_str() else {
            return;
        };
        if !self.ascii && s.is_ascii() {
            return;
        }
        if let Some(code) = self.by_label.get(s.trim()) {
            *v = Value::String(code.clone());
        }
    }
}

/// What applies at a place of the prepared tree: it is a defined field, a date (or date-time)
/// to normalise, or a coded field whose labels are rewritten to codes.
enum Act {
    Field,
    Date(bool),
    Labels(Labels),
}

impl Node<Act> {
    fn is_field(&self) -> bool {
        self.here.iter().any(|a| matches!(a, Act::Field))
    }

    /// The rewrites of this place, dates before labels (as the two normalisations run).
    fn act(&self, v: &mut Value) {
        for a in &self.here {
            match a {
                Act::Field => {}
                Act::Date(with_time) => rewrite_date(*with_time, v),
                Act::Labels(labels) => labels.rewrite(v),
            }
        }
    }

    /// Whether the one walk gives what the two normalisations and the unknown-field walk give
    /// separately: no place has both a key and any key below it (one value, two paths), and a
    /// rewrite sits only below defined fields (which the walk passes through).
    fn walks_as_one(&self) -> bool {
        self.check().0
    }

    /// (walks as one, has a rewrite at or below)
    fn check(&self) -> (bool, bool) {
        let mut ok = self.any.is_none() || self.keys.is_empty();
        let mut rewrites = self.here.iter().any(|a| !matches!(a, Act::Field));
        let named = self.keys.values().chain(self.any.as_deref());
        for child in named {
            let (child_ok, below) = child.check();
            ok &= child_ok && (!below || child.is_field());
            rewrites |= below;
        }
        if let Some(each) = &self.each {
            let (each_ok, below) = each.check();
            ok &= each_ok;
            rewrites |= below;
        }
        (ok, rewrites)
    }
}

/// A step from a record to a value inside it: a key (and whether the schema knows it as any key
/// of a map), or a list index.
enum Step<'v> {
    Key(&'v str, bool),
    Index(usize),
}

impl Step<'_> {
    /// The dotted schema path (`sessions[].date`, `risks.*`) and the JSON pointer of the place a
    /// trail leads to.
    fn place(trail: &[Step]) -> (String, String) {
        let (mut path, mut pointer) = (String::new(), String::new());
        for step in trail {
            match step {
                Step::Key(key, any) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(if *any { "*" } else { key });
                    push_pointer(&mut pointer, key);
                }
                Step::Index(i) => {
                    path.push_str("[]");
                    pointer.push('/');
                    pointer.push_str(&i.to_string());
                }
            }
        }
        (path, pointer)
    }
}

/// Adds a key to a JSON pointer, escaped.
fn push_pointer(pointer: &mut String, key: &str) {
    pointer.push('/');
    if key.contains(['~', '/']) {
        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
    } else {
        pointer.push_str(key);
    }
}

fn visit_mut(value: &mut Value, path: &[Seg], f: &mut dyn FnMut(&mut Value)) {
    let Some((first, rest)) = path.split_first() else {
        f(value);
        return;
    };
    match (first, value) {
        (Seg::Key(k), Value::Object(map)) => {
            if let Some(child) = map.get_mut(k) {
                visit_mut(child, rest, f);
            }
        }
        (Seg::Each, Value::Array(items)) => {
            for item in items {
                visit_mut(item, rest, f);
            }
        }
        (Seg::AnyKey, Value::Object(map)) => {
            for child in map.values_mut() {
                visit_mut(child, rest, f);
            }
        }
        _ => {}
    }
}

/// Masks a personal value: short texts keep their first character, longer ones a quarter at
/// each end (`张**`, `13*******78`, `4403**********123X`).
pub fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    if n == 0 {
        return String::new();
    }
    if n <= 3 {
        return std::iter::once(chars[0])
            .chain(std::iter::repeat_n('*', n.max(2) - 1))
            .collect();
    }
    let keep = n / 4;
    chars[..keep]
        .iter()
        .copied()
        .chain(std::iter::repeat_n('*', n - 2 * keep))
        .chain(chars[n - keep..].iter().copied())
        .collect()
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn resolve_ref<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    reference
        .strip_prefix('#')
        .and_then(|ptr| root.pointer(ptr))
}

fn collect_fields(
    node: &Value,
    root: &Value,
    path: &str,
    out: &mut BTreeMap<String, FieldInfo>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    let Some(obj) = node.as_object() else { return };
    if !path.is_empty() {
        let entry = out.entry(path.to_string()).or_default();
        if obj.get("x-personal").and_then(Value::as_bool) == Some(true) {
            entry.personal = true;
        }
        if let Some(f) = obj.get("format").and_then(Value::as_str) {
            entry.format = Some(f.to_string());
        }
        if entry.title.is_none() {
            entry.title = obj.get("title").and_then(Value::as_str).map(str::to_string);
        }
        if let Some(labels) = obj.get("x-labels").and_then(Value::as_object) {
            for (code, label) in labels {
                if let Some(label) = label.as_str() {
                    entry.labels.insert(code.clone(), label.to_string());
                }
            }
        }
    }
    if let Some(target) = obj
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| resolve_ref(root, r))
    {
        collect_fields(target, root, path, out, depth + 1);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = obj.get(key).and_then(Value::as_array) {
            for sub in list {
                collect_fields(sub, root, path, out, depth + 1);
            }
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            if name.is_empty() || name == "*" || name.contains('.') || name.contains("[]") {
                // A name a field path cannot spell: reported by `compile`, not collected.
                out.entry(format!("\0{name}")).or_default();
                continue;
            }
            collect_fields(sub, root, &join(path, name), out, depth + 1);
        }
    }
    if let Some(items) = obj.get("items") {
        if items.is_object() {
            collect_fields(items, root, &format!("{path}[]"), out, depth + 1);
        }
    }
    if let Some(extra) = obj.get("additionalProperties") {
        if extra.is_object() {
            collect_fields(extra, root, &join(path, "*"), out, depth + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn edit_distance_counts_a_swap_as_one() {
        assert_eq!(edit_distance("strat", "start"), 1);
        assert_eq!(edit_distance("incident", "incidents"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("风险", "风险"), 0);
    }

    /// The separate walks, as a record was readied before the one walk.
    fn prepared_in_turn(s: &KindSchema, mut r: Value) -> (Value, Vec<UnknownField>) {
        s.normalise_dates(&mut r);
        s.normalise_labels(&mut r);
        let unknown = s.unknown_fields(&r);
        (r, unknown)
    }

    fn prepared_at_once(s: &KindSchema, mut r: Value) -> (Value, Vec<UnknownField>) {
        let unknown = s.prepare(&mut r);
        (r, unknown)
    }

    fn labelled_schema(extra: Value) -> KindSchema {
        let mut doc = json!({
            "type": "object",
            "properties": {
                "level": {"enum": ["high", "low"], "x-labels": {"high": "高", "low": "低"}},
                "tags": {"type": "array", "items": {"enum": ["a"], "x-labels": {"a": "甲"}}},
                "risks": {"type": "object", "additionalProperties": {
                    "type": "object", "properties": {
                        "level": {"enum": ["high"], "x-labels": {"high": "高"}},
                        "date": {"type": "string", "format": "date"}
                    }}},
                "grid": {"type": "array", "items": {"type": "array", "items": {
                    "type": "object", "properties": {"on": {"type": "string", "format": "date-time"}}}}},
                "intake": {"type": "object", "properties": {"date": {"type": "string", "format": "date"}}}
            }
        });
        if let (Some(props), Value::Object(more)) = (doc["properties"].as_object_mut(), extra) {
            props.extend(more);
        }
        KindSchema::compile("case", vec![("t".into(), doc)]).unwrap()
    }

    #[test]
    fn one_walk_readies_a_record_as_the_separate_walks_do() {
        let s = labelled_schema(json!({}));
        assert!(s.walks_once(), "this schema is walked once");
        let records = [
            json!({"kind": "case", "level": " 高 ", "tags": ["甲", "乙", 3], "intake": {"date": "2025/3/5", "typo": 1},
                   "risks": {"fall": {"level": "高", "date": "2025年3月5日", "extra": true}, "odd": "text"},
                   "grid": [[{"on": "2025/3/6 9:30", "x": 1}], [], "cell"], "unknown": {"deep": [1]}}),
            // A dotted key is not the nested field it spells, and `*` is only a key.
            json!({"intake.date": "2025/3/5", "risks": {"*": {"level": "低"}}, "levle": "高"}),
            json!({"level": ["高"], "intake": "2025/3/5", "risks": [], "grid": {"on": "x"}, "tags": {"0": "甲"}}),
            json!({"": 1, "kind": "x", "a~b/c": {"d": 1}}),
        ];
        for r in records {
            assert_eq!(
                prepared_at_once(&s, r.clone()),
                prepared_in_turn(&s, r.clone()),
                "{r}"
            );
        }
        let (r, unknown) =
            prepared_at_once(&s, json!({"intake.date": "2025/3/5", "grid": [[{"y": 1}]]}));
        assert_eq!(
            r["intake.date"], "2025/3/5",
            "not rewritten: not a defined field"
        );
        let places: Vec<&str> = unknown.iter().map(|u| u.pointer.as_str()).collect();
        assert_eq!(places, ["/grid/0/0/y", "/intake.date"]);
    }

    #[test]
    fn a_property_a_field_path_cannot_name_is_refused_with_its_name() {
        for odd in ["intake.date", "tags[]", "*", ""] {
            let doc = json!({"type": "object", "properties": {"client": {"type": "object",
                "properties": {odd: {"type": "string"}}}}});
            let err = KindSchema::compile("case", vec![("case.schema.json".into(), doc)])
                .err()
                .unwrap_or_else(|| panic!("'{odd}' accepted"));
            assert!(err.starts_with("case.schema.json: the property '"), "{err}");
            assert!(err.contains(&format!("'{odd}'")), "{err}");
        }
    }

    #[test]
    fn a_schema_where_two_paths_reach_one_value_is_readied_path_by_path() {
        // `risks.*.date` (a date) and `risks.fall.date` (a date-time) both reach the fall's date.
        let s = labelled_schema(json!({}));
        let doc = {
            let mut d = s.documents[0].1.clone();
            d["properties"]["risks"]["properties"] = json!({"fall": {"type": "object", "properties": {"date": {"type": "string", "format": "date-time"}}}});
            d
        };
        let s = KindSchema::compile("case", vec![("t".into(), doc)]).unwrap();
        assert!(!s.walks_once());
        let r = json!({"risks": {"fall": {"date": "2025/3/5 9:30"}, "burn": {"date": "2025/3/5"}}});
        let (done, _) = prepared_at_once(&s, r.clone());
        assert_eq!(done, prepared_in_turn(&s, r).0);
        assert_eq!(done["risks"]["burn"]["date"], "2025-03-05");
    }

    fn schema() -> KindSchema {
        KindSchema::compile(
            "case",
            vec![(
                "t".into(),
                json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "type": "object",
                    "required": ["id"],
                    "x-period": {"start": "intake.date", "end": "closure.date"},
                    "properties": {
                        "id": {"type": "string"},
                        "client": {"type": "object", "properties": {
                            "name": {"type": "string", "x-personal": true, "title": "姓名"},
                            "phone": {"type": "string", "x-personal": true, "pattern": "^1\\d{10}$"}
                        }},
                        "intake": {"type": "object", "properties": {"date": {"type": "string", "format": "date"}}},
                        "sessions": {"type": "array", "items": {"$ref": "#/$defs/session"}}
                    },
                    "$defs": {"session": {"type": "object", "properties": {
                        "at": {"type": "string", "format": "date-time"}
                    }}}
                }),
            )],
        )
        .unwrap()
    }

    #[test]
    fn masks_personal_values_keeping_their_ends() {
        assert_eq!(mask("张三"), "张*");
        assert_eq!(mask("张三丰"), "张**");
        assert_eq!(mask("13812345678"), "13*******78");
        assert_eq!(mask("44030519900101123X"), "4403**********123X");
        let s = schema();
        let masked =
            s.masked(&json!({"client": {"name": "李四", "phone": "13812345678"}, "id": "c1"}));
        assert_eq!(
            masked,
            json!({"client": {"name": "李*", "phone": "13*******78"}, "id": "c1"})
        );
    }

    #[test]
    fn collects_fields_through_refs_and_arrays() {
        let s = schema();
        assert_eq!(
            s.fields["sessions[].at"].format.as_deref(),
            Some("date-time")
        );
        assert!(s.fields["client.name"].personal);
        assert!(s.defines("sessions"));
        assert!(s.defines("client.name"));
        assert!(!s.defines("client.nmae"));
        assert_eq!(
            s.period,
            Some(("intake.date".into(), Some("closure.date".into())))
        );
    }

    #[test]
    fn normalises_dates_and_reports_violations_without_personal_values() {
        let s = schema();
        let mut r = json!({"id": "c1", "intake": {"date": "2025年3月5日"}, "sessions": [{"at": "2025/3/6 9:30"}],
                           "client": {"phone": "12345"}});
        s.normalise_dates(&mut r);
        assert_eq!(r["intake"]["date"], "2025-03-05");
        assert_eq!(r["sessions"][0]["at"], "2025-03-06T09:30:00+08:00");
        // An ISO date stays as written; a bare ISO date in a date-time field still gets its time.
        let mut iso = json!({"intake": {"date": "2025-03-05"}, "sessions": [{"at": "2025-03-07"}]});
        s.normalise_dates(&mut iso);
        assert_eq!(iso["intake"]["date"], "2025-03-05");
        assert_eq!(iso["sessions"][0]["at"], "2025-03-07T00:00:00+08:00");
        assert!(super::is_iso_date("2025-03-05") && !super::is_iso_date("2025-3-05"));
        assert!(!super::is_iso_date("2025/03/05") && !super::is_iso_date("２０２５-03-05"));
        let mut bare = json!({"sessions": [{"at": "2025/3/7"}]});
        s.normalise_dates(&mut bare);
        assert_eq!(bare["sessions"][0]["at"], "2025-03-07T00:00:00+08:00");
        let v = s.violations(&r);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].pointer, "/client/phone");
        assert!(!v[0].message.contains("12345"), "{}", v[0].message);
        let v = s.violations(&json!({"intake": {"date": "2025-02-30"}}));
        assert_eq!(
            v.iter().map(|v| v.pointer.as_str()).collect::<Vec<_>>(),
            vec!["", "/intake/date"]
        );
    }
}
