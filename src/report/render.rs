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
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| template_error(name, e))?;
        let mut ctx = serde_json::to_value(report)
            .map_err(|e| Error::new(ErrorKind::Template, e.to_string()))?;
        if let Some(obj) = ctx.as_object_mut() {
            obj.insert("color".into(), serde_json::Value::Bool(color));
        }
        let mut out = tmpl
            .render(crate::expr::to_value(&ctx))
            .map_err(|e| template_error(name, e))?;
        if !out.ends_with('\n') {
            out.push('\n');
        }
        Ok(out)
    }
}

/// Writes a report in a shipped format to `out`; the JSON report is streamed as it is
/// serialised, never held whole (a run over a million records with many findings writes tens of
/// megabytes). The bytes are those [`render`] gives.
pub fn render_to(
    report: &Report,
    format: Format,
    color: bool,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        Format::Json => {
            let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
            serde_json::to_writer_pretty(&mut w, report)?;
            std::io::Write::write_all(&mut w, b"\n")?;
            std::io::Write::flush(&mut w)
        }
        _ => {
            let text = render(report, format, color).map_err(std::io::Error::other)?;
            out.write_all(text.as_bytes())
        }
    }
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
