//! Rendering the report: JSON directly from the model; the human formats through MiniJinja
//! templates (shipped under `templates/`, or the user's own with `--template`).

use minijinja::value::Value;
use minijinja::{Environment, State};

use super::Report;
use crate::embedded;
use crate::error::{Error, ErrorKind, Result};

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The terminal summary of `check`: one line a finding.
    CheckText,
    /// The full report for the terminal.
    Text,
    /// The canonical JSON report.
    Json,
}

/// Renders reports through templates.
pub struct Renderer {
    env: Environment<'static>,
}

fn template_error(name: &str, e: minijinja::Error) -> Error {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        detail.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    let err = Error::new(ErrorKind::Template, detail).with_file(name.to_string());
    match e.line() {
        Some(line) => err.with_position(line as u64, 0),
        None => err,
    }
}

fn number(v: &Value) -> Option<f64> {
    if v.is_undefined() || v.is_none() {
        None
    } else {
        f64::try_from(v.clone()).ok()
    }
}

/// `x|num`: two decimals, or `—` when there is no number.
fn num(v: Value) -> String {
    number(&v).map_or_else(|| "—".to_string(), |n| format!("{n:.2}"))
}

/// `x|pct`: a ratio as a percentage with two decimals.
fn pct(v: Value) -> String {
    number(&v).map_or_else(|| "—".to_string(), |n| format!("{:.2}%", n * 100.0))
}

/// `value|measured(measure)`: a rate as a percentage, a count as a whole number, else two decimals.
fn measured(v: Value, measure: String) -> String {
    match (number(&v), measure.as_str()) {
        (None, _) => "—".to_string(),
        (Some(n), "rate") => format!("{:.2}%", n * 100.0),
        (Some(n), "count" | "distinct") if n.fract() == 0.0 => format!("{n:.0}"),
        (Some(n), _) => format!("{n:.2}"),
    }
}

/// `x|short`: a number with no trailing zeros (`3`, `2.5`).
fn short(v: Value) -> String {
    match number(&v) {
        Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{n:.0}"),
        Some(n) => n.to_string(),
        None => "—".to_string(),
    }
}

/// `text|cell`: safe inside a Markdown table cell (pipes escaped, lines joined).
fn cell(v: Value) -> String {
    v.to_string().replace('|', "\\|").replace('\n', " ")
}

/// `text|paint(style)`: ANSI colour when the context's `color` is true.
fn paint(state: &State, text: Value, style: String) -> String {
    let text = text.to_string();
    let on = state.lookup("color").is_some_and(|c| c.is_true());
    if !on {
        return text;
    }
    let code = match style.as_str() {
        "bold" => "1",
        "red" => "31",
        "green" => "32",
        "yellow" => "33",
        "blue" => "34",
        "dim" => "2",
        _ => return text,
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

impl Renderer {
    /// A renderer with the shipped templates.
    pub fn new() -> Result<Renderer> {
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(|e| template_error("syntax", e))?;
        env.set_syntax(syntax);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html.j2") || name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        env.add_filter("num", num);
        env.add_filter("pct", pct);
        env.add_filter("measured", measured);
        env.add_filter("paint", paint);
        env.add_filter("cell", cell);
        env.add_filter("short", short);
        for (path, bytes) in embedded::under("templates/") {
            let name = path.trim_start_matches("templates/").to_string();
            let text = String::from_utf8_lossy(bytes).into_owned();
            env.add_template_owned(name.clone(), text)
                .map_err(|e| template_error(&name, e))?;
        }
        Ok(Renderer { env })
    }

    /// Adds the user's own template, which is then rendered instead of the shipped one.
    pub fn with_user_template(mut self, path: &std::path::Path) -> Result<(Renderer, String)> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let name = path.display().to_string();
        self.env
            .add_template_owned(name.clone(), text)
            .map_err(|e| template_error(&name, e))?;
        Ok((self, name))
    }

    /// Renders any data through a named template (the standard reference, for one).
    pub fn render_data(&self, name: &str, data: &serde_json::Value) -> Result<String> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| template_error(name, e))?;
        tmpl.render(crate::expr::to_value(data))
            .map_err(|e| template_error(name, e))
    }

    /// Renders the report through a named template.
    pub fn render_template(&self, name: &str, report: &Report, color: bool) -> Result<String> {
        let mut out = Vec::new();
        self.render_template_to(name, report, color, &mut out)?;
        String::from_utf8(out).map_err(|e| Error::new(ErrorKind::Template, e.to_string()))
    }

    /// Renders the report through a named template into `out`, as it is rendered. The
    /// findings are read from where the report keeps them as the template iterates them, so a
    /// report with any number of findings is rendered without holding them.
    pub fn render_template_to(
        &self,
        name: &str,
        report: &Report,
        color: bool,
        out: &mut dyn std::io::Write,
    ) -> Result<()> {
        self.render_into(name, report, color, out)
            .map_err(|f| match f {
                Failure::Write(e) => {
                    Error::new(ErrorKind::Io, format!("cannot write the report: {e}"))
                }
                Failure::Render(e) => e,
            })
    }

    /// [`render_template_to`](Self::render_template_to), telling a failure to write (a closed
    /// pipe, a full disk) from a failure to render.
    fn render_into(
        &self,
        name: &str,
        report: &Report,
        color: bool,
        out: &mut dyn std::io::Write,
    ) -> std::result::Result<(), Failure> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| Failure::Render(template_error(name, e)))?;
        // Everything but the findings as data; the findings as a list read when iterated.
        let mut shell = report.clone();
        shell.findings = crate::sink::Findings::default();
        let mut ctx = serde_json::to_value(&shell)
            .map_err(|e| Failure::Render(Error::new(ErrorKind::Template, e.to_string())))?;
        if let Some(obj) = ctx.as_object_mut() {
            obj.insert("color".into(), serde_json::Value::Bool(color));
        }
        let failed = std::sync::Arc::new(std::sync::Mutex::new(None));
        let findings = Value::from_object(FindingList {
            findings: report.findings.clone(),
            failed: failed.clone(),
        });
        let counts = Value::from_object(RuleCounts {
            findings: report.findings.clone(),
            counts: std::sync::OnceLock::new(),
            failed: failed.clone(),
        });
        let root = minijinja::context! {
            findings => findings,
            finding_counts => counts,
            ..crate::expr::to_value(&ctx)
        };
        let mut w = LastByte {
            out,
            last: None,
            error: None,
        };
        let rendered = tmpl.render_captured_to(root, &mut w);
        if let Some(e) = w.error.take() {
            return Err(Failure::Write(e));
        }
        if let Some(e) = failed.lock().ok().and_then(|mut f| f.take()) {
            return Err(Failure::Render(e));
        }
        rendered.map_err(|e| Failure::Render(template_error(name, e)))?;
        // Text ends with a newline.
        if w.last != Some(b'\n') {
            std::io::Write::write_all(w.out, b"\n").map_err(Failure::Write)?;
        }
        Ok(())
    }
}

/// Why rendering a report into a writer failed.
enum Failure {
    /// The writer failed: the error as it gave it.
    Write(std::io::Error),
    Render(Error),
}

/// A writer that remembers the last byte written, and the first error of the writer it writes
/// to (the template engine reports it only as text).
struct LastByte<'w> {
    out: &'w mut dyn std::io::Write,
    last: Option<u8>,
    error: Option<std::io::Error>,
}

impl std::io::Write for LastByte<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = match self.out.write(buf) {
            Ok(n) => n,
            Err(e) => {
                let kept = std::io::Error::new(e.kind(), e.to_string());
                self.error.get_or_insert(kept);
                return Err(e);
            }
        };
        if let Some(b) = buf.get(..n).and_then(<[u8]>::last) {
            self.last = Some(*b);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// A finding as a template sees it: the JSON report's form of it.
fn finding_value(f: &crate::finding::Finding) -> Value {
    match serde_json::to_value(f) {
        Ok(v) => crate::expr::to_value(&v),
        Err(_) => Value::UNDEFINED,
    }
}

/// The report's findings as the templates see them: a list, in report order, read from where
/// the report keeps them each time it is iterated. A finding that cannot be read back ends the
/// list and fails the rendering.
#[derive(Debug)]
struct FindingList {
    findings: crate::sink::Findings,
    failed: std::sync::Arc<std::sync::Mutex<Option<Error>>>,
}

/// The findings in report order, up to the first that cannot be read back, whose error is
/// kept in `failed` for the rendering to report.
fn read_findings(
    findings: &crate::sink::Findings,
    failed: &std::sync::Arc<std::sync::Mutex<Option<Error>>>,
) -> impl Iterator<Item = crate::finding::Finding> + Send + Sync + 'static {
    let failed = failed.clone();
    findings.iter().map_while(move |f| match f {
        Ok(f) => Some(f),
        Err(e) => {
            if let Ok(mut slot) = failed.lock() {
                slot.get_or_insert(e);
            }
            None
        }
    })
}

impl FindingList {
    fn items(&self) -> impl Iterator<Item = crate::finding::Finding> + Send + Sync + 'static {
        read_findings(&self.findings, &self.failed)
    }
}

impl minijinja::value::Object for FindingList {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Seq
    }

    /// `findings[i]` (from the end when negative).
    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        let i = i64::try_from(key.clone()).ok()?;
        let len = i64::try_from(self.findings.len()).ok()?;
        let i = usize::try_from(if i < 0 { len + i } else { i }).ok()?;
        self.items().nth(i).map(|f| finding_value(&f))
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        let len = self.findings.len();
        minijinja::value::Enumerator::Iter(Box::new(Counted {
            items: self.items().map(|f| finding_value(&f)),
            left: len,
        }))
    }

    fn enumerator_len(self: &std::sync::Arc<Self>) -> Option<usize> {
        Some(self.findings.len())
    }

    fn is_true(self: &std::sync::Arc<Self>) -> bool {
        !self.findings.is_empty()
    }
}

/// An iterator that knows how many items it has left (the template engine reads the length of
/// a loop from its size hint).
struct Counted<I> {
    items: I,
    left: usize,
}

impl<I: Iterator> Iterator for Counted<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let item = self.items.next()?;
        self.left = self.left.saturating_sub(1);
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// How many findings each rule has (`finding_counts[rule]`), counted in one pass over the
/// findings the first time it is read.
#[derive(Debug)]
struct RuleCounts {
    findings: crate::sink::Findings,
    counts: std::sync::OnceLock<std::collections::BTreeMap<String, usize>>,
    failed: std::sync::Arc<std::sync::Mutex<Option<Error>>>,
}

impl RuleCounts {
    fn counts(&self) -> &std::collections::BTreeMap<String, usize> {
        self.counts.get_or_init(|| {
            let mut counts = std::collections::BTreeMap::new();
            for f in read_findings(&self.findings, &self.failed) {
                *counts.entry(f.rule).or_insert(0) += 1;
            }
            counts
        })
    }
}

impl minijinja::value::Object for RuleCounts {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Map
    }

    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        self.counts().get(key.as_str()?).map(|n| Value::from(*n))
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Values(
            self.counts()
                .keys()
                .map(|k| Value::from(k.as_str()))
                .collect(),
        )
    }
}

/// Writes a report in a shipped format to `out` as it is rendered: the JSON report as it is
/// serialised, the text formats as their templates run, the findings read one at a time, never
/// held whole (a run over a million records with many findings writes tens of megabytes). The
/// bytes are those [`render`] gives.
pub fn render_to(
    report: &Report,
    format: Format,
    color: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut w, report)?;
            std::io::Write::write_all(&mut w, b"\n")?;
        }
        Format::Text | Format::CheckText => {
            let name = if format == Format::Text {
                "report.txt.j2"
            } else {
                "check.txt.j2"
            };
            let renderer = Renderer::new().map_err(std::io::Error::other)?;
            renderer
                .render_into(name, report, color, &mut w)
                .map_err(|f| match f {
                    Failure::Write(e) => e,
                    Failure::Render(e) => std::io::Error::other(e),
                })?;
        }
    }
    std::io::Write::flush(&mut w)
}

/// Renders a report in a shipped format.
pub fn render(report: &Report, format: Format, color: bool) -> Result<String> {
    match format {
        Format::Json => {
            let mut out = serde_json::to_string_pretty(report)
                .map_err(|e| Error::new(ErrorKind::Template, e.to_string()))?;
            out.push('\n');
            Ok(out)
        }
        Format::Text => Renderer::new()?.render_template("report.txt.j2", report, color),
        Format::CheckText => Renderer::new()?.render_template("check.txt.j2", report, color),
    }
}
