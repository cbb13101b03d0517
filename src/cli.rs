//! The command line: argument definitions and the commands, which call the library and print.
//! Data goes to standard output (or `-o`), messages to standard error. Exit status: 0 the
//! submission meets the bar, 1 it does not, 2 the tool could not do its job.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::error::{Error, ErrorKind, Result};
use crate::report::{self, FailOn, Format};
use crate::run::{self, Options};
use crate::standard::{lint, Severity, Standard};
use crate::text::Lang;

#[derive(Debug, Parser)]
#[command(
    name = "yardstick",
    version,
    about = "Checks social-service records against sector operating guides and scores them"
)]
pub struct Cli {
    /// Add or override standards from this folder (<id>.yaml files); may be repeated.
    #[arg(long = "standards", global = true, value_name = "DIR")]
    pub standards: Vec<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LangArg {
    Zh,
    En,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::Zh => Lang::Zh,
            LangArg::En => Lang::En,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShowFormat {
    Text,
    Markdown,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FailOnArg {
    Critical,
    Major,
    Minor,
    Info,
    Never,
}

impl From<FailOnArg> for FailOn {
    fn from(f: FailOnArg) -> FailOn {
        match f {
            FailOnArg::Critical => FailOn::Severity(Severity::Critical),
            FailOnArg::Major => FailOn::Severity(Severity::Major),
            FailOnArg::Minor => FailOn::Severity(Severity::Minor),
            FailOnArg::Info => FailOn::Severity(Severity::Info),
            FailOnArg::Never => FailOn::Never,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Common {
    /// A submission folder (with submission.yaml) or single record files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The standard: a shipped id or a file; defaults to the one the manifest names.
    #[arg(long, value_name = "ID|FILE")]
    pub standard: Option<String>,
    /// The contract profile (the buyer's targets, limits and waivers). Without it, a profile
    /// the manifest names is used, and the report says it came from the submission folder.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Waivers granted by the evaluator: a YAML list of waivers, as in a profile.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// The report's language.
    #[arg(long, value_enum, default_value = "zh")]
    pub lang: LangArg,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a submission; the exit status says whether it meets the bar.
    Check {
        #[command(flatten)]
        common: Common,
        #[arg(long, value_enum, default_value = "text")]
        format: CheckFormat,
        /// Fail (exit 1) on a finding at or above this severity.
        #[arg(long, value_enum, default_value = "major")]
        fail_on: FailOnArg,
        /// Fail (exit 1) when the score is under this.
        #[arg(long, value_name = "N", value_parser = finite_number, allow_negative_numbers = true)]
        min_score: Option<f64>,
    },
    /// Write the scoring report of a submission.
    Report {
        #[command(flatten)]
        common: Common,
        #[arg(long, value_enum, default_value = "text")]
        format: ReportFormat,
        /// Render through this MiniJinja template instead of the shipped one.
        #[arg(long, value_name = "FILE")]
        template: Option<PathBuf>,
        /// Write to this file (never over an input) instead of standard output.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// List, show, lint and inspect standards.
    Standards {
        #[command(subcommand)]
        command: StandardsCommand,
    },
    /// Explain a rule or indicator: what it requires, why, and on what basis.
    Explain {
        #[arg(value_name = "RULE-ID")]
        id: String,
        /// Look only in this standard.
        #[arg(long, value_name = "ID|FILE")]
        standard: Option<String>,
        #[arg(long, value_enum, default_value = "zh")]
        lang: LangArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum StandardsCommand {
    /// The standards available.
    List,
    /// A standard's parameters, grades, sections, rules and indicators.
    Show {
        #[arg(value_name = "ID|FILE")]
        id: String,
        #[arg(long, value_enum, default_value = "zh")]
        lang: LangArg,
        /// `text` for the terminal; `markdown` for the bilingual reference document.
        #[arg(long, value_enum, default_value = "text")]
        format: ShowFormat,
    },
    /// Check standards (shipped ids or files; every known standard when none is named): errors
    /// exit 2, warnings exit 1.
    Lint {
        #[arg(value_name = "ID|FILE")]
        references: Vec<String>,
    },
    /// Print the JSON Schema of a record kind.
    Schema {
        #[arg(value_name = "KIND")]
        kind: String,
        /// The standard whose schema (with its sector's fields) to print.
        #[arg(long, value_name = "ID|FILE", default_value = "common")]
        standard: String,
    },
}

/// A finite number (`--min-score NaN` is a bad argument, not a bar nothing can meet).
fn finite_number(text: &str) -> std::result::Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(format!("'{text}' is not a finite number")),
    }
}

/// Runs the command line on these arguments and returns the exit status.
pub fn main_with(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match execute(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("yardstick: {e}");
            print_snippet(&e);
            2
        }
    }
}

/// The line an error points at, marked, on standard error.
fn print_snippet(e: &Error) {
    if let Some(snippet) = e.snippet() {
        eprintln!("\n{snippet}");
    }
}

fn color_wanted() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::new(
            ErrorKind::Io,
            format!("cannot write to standard output: {e}"),
        )),
    }
}

fn options(common: &Common, standards: &[PathBuf]) -> Options {
    Options {
        standard: common.standard.clone(),
        profile: common.profile.clone(),
        waivers: common.waivers.clone(),
        standards_dirs: standards.to_vec(),
        lang: common.lang.into(),
    }
}

fn execute(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Check {
            common,
            format,
            fail_on,
            min_score,
        } => {
            let report = run::check(&common.paths, &options(&common, &cli.standards))?;
            let text = match format {
                CheckFormat::Json => report::render(&report, Format::Json, false)?,
                CheckFormat::Text => report::render(&report, Format::CheckText, color_wanted())?,
            };
            print(&text)?;
            let reasons = report.verdict(fail_on.into(), min_score);
            if reasons.is_empty() {
                Ok(0)
            } else {
                eprintln!(
                    "yardstick: the submission does not meet the bar: {}",
                    reasons.join("; ")
                );
                Ok(1)
            }
        }
        Command::Report {
            common,
            format,
            template,
            output,
        } => {
            let report = run::check(&common.paths, &options(&common, &cli.standards))?;
            let color = output.is_none() && color_wanted();
            let text = match (format, &template) {
                (_, Some(path)) => {
                    let (renderer, name) = report::Renderer::new()?.with_user_template(path)?;
                    renderer.render_template(&name, &report, color)?
                }
                (ReportFormat::Json, None) => report::render(&report, Format::Json, false)?,
                (ReportFormat::Text, None) => report::render(&report, Format::Text, color)?,
            };
            match output {
                Some(path) => {
                    // Never over anything the run read: records, profile, waivers, template,
                    // the evaluator's standard file.
                    let mut inputs = common.paths.clone();
                    inputs.extend(common.profile.iter().cloned());
                    inputs.extend(common.waivers.iter().cloned());
                    inputs.extend(template.iter().cloned());
                    inputs.extend(common.standard.iter().map(PathBuf::from));
                    write_output(&path, &text, &inputs)?
                }
                None => print(&text)?,
            }
            Ok(0)
        }
        Command::Standards { command } => standards(command, &cli.standards),
        Command::Explain { id, standard, lang } => {
            explain(&id, standard.as_deref(), lang.into(), &cli.standards)
        }
    }
}

/// Writes through a temporary file and a rename, refusing to replace any input.
fn write_output(path: &Path, text: &str, inputs: &[PathBuf]) -> Result<()> {
    if path.exists() {
        let target = path.canonicalize().map_err(|e| Error::io(path, e))?;
        for input in inputs {
            let Ok(input) = input.canonicalize() else {
                continue;
            };
            if target == input || (input.is_dir() && target.starts_with(&input)) {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    "refusing to write the report over an input file",
                )
                .with_file(path.display().to_string()));
            }
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

fn load(reference: &str, dirs: &[PathBuf]) -> Result<Standard> {
    let mut registry = run::registry(dirs)?;
    run::load_standard(&mut registry, reference, None)
}

fn standards(command: StandardsCommand, dirs: &[PathBuf]) -> Result<i32> {
    match command {
        StandardsCommand::List => {
            let registry = run::registry(dirs)?;
            let mut out = String::new();
            for id in registry.ids() {
                match Standard::load(&registry, &id) {
                    Ok(s) => out.push_str(&format!(
                        "{:<16} {:<8} {:<10} {:>3} rules {:>3} indicators  {}\n",
                        s.id,
                        s.version,
                        format!("{:?}", s.status).to_lowercase(),
                        s.rules.len(),
                        s.indicators.len(),
                        s.title.get(Lang::Zh)
                    )),
                    Err(e) => out.push_str(&format!("{id:<16} (cannot be loaded: {e})\n")),
                }
            }
            print(&out)?;
            Ok(0)
        }
        StandardsCommand::Show { id, lang, format } => {
            let s = load(&id, dirs)?;
            match format {
                ShowFormat::Text => print(&show(&s, lang.into()))?,
                ShowFormat::Markdown => print(&reference_markdown(&s)?)?,
            }
            Ok(0)
        }
        StandardsCommand::Lint { references } => {
            let references = if references.is_empty() {
                run::registry(dirs)?.ids()
            } else {
                references
            };
            let mut worst = 0;
            for reference in references {
                let mut registry = run::registry(dirs)?;
                let shown = reference.clone();
                let loaded = run::load_standard(&mut registry, &reference, None);
                match loaded {
                    Err(e) => {
                        eprintln!("error: {e}");
                        print_snippet(&e);
                        worst = 2;
                    }
                    Ok(s) => {
                        let warnings = lint::lint(&s);
                        for w in &warnings {
                            eprintln!("warning: {w}");
                        }
                        if warnings.is_empty() {
                            eprintln!(
                                "{shown}: ok ({} rules, {} indicators)",
                                s.rules.len(),
                                s.indicators.len()
                            );
                        } else {
                            worst = worst.max(1);
                        }
                    }
                }
            }
            Ok(worst)
        }
        StandardsCommand::Schema { kind, standard } => {
            let s = load(&standard, dirs)?;
            let schema = s.kinds.get(&kind).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "standard {} has no record kind '{kind}' (known: {})",
                        s.id,
                        s.kinds.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            let mut text = serde_json::to_string_pretty(&schema.combined())
                .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
            text.push('\n');
            print(&text)?;
            Ok(0)
        }
    }
}

/// The bilingual reference document of a standard.
pub fn reference_markdown(s: &Standard) -> Result<String> {
    let text = report::Renderer::new()?
        .render_data("standard.md.j2", &crate::standard::reference::view(s))?;
    // One blank line at most, one newline at the end.
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() && (out.is_empty() || out.ends_with("\n\n")) {
            continue;
        }
        // A heading always has a blank line before it.
        if line.starts_with('#') && !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    Ok(out)
}

/// The human summary of a standard for `standards show`.
pub fn show(s: &Standard, lang: Lang) -> String {
    let mut out = format!("{} {} — {}\n", s.id, s.version, s.title.get(lang));
    out.push_str(&format!(
        "status: {}; total points: {}\n",
        format!("{:?}", s.status).to_lowercase(),
        s.total_points
    ));
    if !s.extends.is_empty() {
        out.push_str(&format!("extends: {}\n", s.extends.join(", ")));
    }
    out.push_str("\nbasis:\n");
    for b in &s.basis {
        out.push_str(&format!(
            "  {} {}\n",
            b.code.as_deref().unwrap_or("—"),
            b.title.get(lang)
        ));
    }
    out.push_str("\nparameters:\n");
    for (k, p) in &s.parameters {
        let desc = p.description.as_ref().map(|d| d.get(lang)).unwrap_or("");
        out.push_str(&format!("  {k} = {}  {desc}\n", p.default));
    }
    out.push_str("\ngrades:\n");
    for g in &s.grades {
        out.push_str(&format!(
            "  {:<10} ≥ {:<5} {}\n",
            g.id,
            g.min,
            g.title.get(lang)
        ));
    }
    out.push_str("\nsections:\n");
    fn walk(
        s: &Standard,
        nodes: &[crate::standard::SectionNode],
        depth: usize,
        lang: Lang,
        out: &mut String,
    ) {
        for n in nodes {
            let pad = "  ".repeat(depth + 1);
            out.push_str(&format!("{pad}[{}] {}\n", n.id, n.title.get(lang)));
            let rules = n.rules.iter().map(|&i| {
                let r = &s.rules[i].def;
                (
                    &r.id,
                    r.severity.as_str(),
                    r.points,
                    &r.title,
                    &r.applies_to,
                )
            });
            let indicators = n.indicators.iter().map(|&i| {
                let d = &s.indicators[i].def;
                (&d.id, d.measure.as_str(), d.points, &d.title, &d.applies_to)
            });
            for (id, kind, points, title, applies_to) in rules.chain(indicators) {
                out.push_str(&format!(
                    "{pad}  {id:<10} {kind:<8} {points:>5} pts  {} ({applies_to})\n",
                    title.get(lang)
                ));
            }
            walk(s, &n.sections, depth + 1, lang, out);
        }
    }
    walk(s, &s.sections, 0, lang, &mut out);
    out
}

/// The explanation of a rule or indicator for `explain`.
pub fn explain_text(s: &Standard, id: &str, lang: Lang) -> Option<String> {
    let label = |zh: &'static str, en: &'static str| if lang == Lang::Zh { zh } else { en };
    let defaults: std::collections::BTreeMap<String, serde_json::Value> = s
        .parameters
        .iter()
        .map(|(k, p)| (k.clone(), p.default.clone()))
        .collect();
    // The item's id and title, the standard and the place it is written, then what it requires
    // in words with the parameters' values (never the expressions themselves).
    let header = |id: &str, title: &crate::text::Text, file: &str, line: u64, sources: &[&str]| {
        let mut out = format!(
            "{id} — {}\n{}: {} {} ({file}:{line})\n{}: {}\n",
            title.get(lang),
            label("标准", "standard"),
            s.id,
            s.version,
            label("要求", "requires"),
            s.render_requirement(id, lang, &defaults)
                .unwrap_or_else(|| title.get(lang).to_string()),
        );
        let used = crate::standard::reference::parameters_named(sources);
        if !used.is_empty() {
            out.push_str(&format!(
                "{}:\n",
                label(
                    "参数（标准默认值，合同方案可调整）",
                    "parameters (the standard's defaults; a contract profile may change them)"
                )
            ));
            for name in used {
                if let Some(p) = s.parameters.get(&name) {
                    out.push_str(&format!(
                        "  {name} = {}{}{}\n",
                        p.default,
                        p.unit
                            .as_deref()
                            .map(|u| format!(" {u}"))
                            .unwrap_or_default(),
                        p.description
                            .as_ref()
                            .map(|d| format!(" — {}", d.get(lang)))
                            .unwrap_or_default()
                    ));
                }
            }
        }
        out
    };
    // A kind by its Chinese name in a Chinese text (`个案 (case)`), by its code in English.
    let kind_name = |kind: &str| match (lang, s.kinds.get(kind)) {
        (Lang::Zh, Some(k)) if k.name_zh() != kind => format!("{} ({kind})", k.name_zh()),
        _ => kind.to_string(),
    };
    let severity = |sev: crate::standard::Severity| match (lang, sev) {
        (Lang::Zh, crate::standard::Severity::Critical) => "严重",
        (Lang::Zh, crate::standard::Severity::Major) => "重要",
        (Lang::Zh, crate::standard::Severity::Minor) => "一般",
        (Lang::Zh, crate::standard::Severity::Info) => "提示",
        (Lang::En, sev) => sev.as_str(),
    };
    if let Some(r) = s.rule(id) {
        let d = &r.def;
        let mut sources = vec![d.assert.as_str()];
        sources.extend(d.when.as_deref());
        let mut out = header(&d.id, &d.title, &r.file, r.line, &sources);
        out.push_str(&format!(
            "{}: {}\n",
            label("适用记录", "applies to"),
            kind_name(&d.applies_to)
        ));
        out.push_str(&format!(
            "{}: {}; {}: {}; {}: {}{}\n",
            label("严重程度", "severity"),
            severity(d.severity),
            label("分值", "points"),
            d.points,
            label("计分", "scoring"),
            crate::standard::reference::rule_scoring_in(d.scoring, lang),
            if d.veto {
                label("；一票否决", "; veto")
            } else {
                ""
            }
        ));
        out.push_str(&basis_and_rationale(
            d.basis.as_deref(),
            d.rationale.as_ref(),
            lang,
        ));
        return Some(out);
    }
    let i = s.indicator(id)?;
    let d = &i.def;
    let mut sources: Vec<&str> = d
        .where_
        .iter()
        .chain(d.value.iter())
        .map(String::as_str)
        .collect();
    if let crate::standard::Target::Expr(t) = &d.target {
        sources.push(t);
    }
    let mut out = header(&d.id, &d.title, &i.file, i.line, &sources);
    out.push_str(&format!(
        "{}: {}; {}: {}; {}: {} ({}); {}: {}\n",
        label("适用记录", "applies to"),
        kind_name(&d.applies_to),
        label("度量", "measure"),
        match (lang, d.measure) {
            (Lang::Zh, crate::standard::Measure::Rate) => "比率",
            (Lang::Zh, crate::standard::Measure::Count) => "计数",
            (Lang::Zh, crate::standard::Measure::Sum) => "合计",
            (Lang::Zh, crate::standard::Measure::Mean) => "平均",
            (Lang::Zh, crate::standard::Measure::Distinct) => "不同取值个数",
            (Lang::En, m) => m.as_str(),
        },
        label("目标", "target"),
        match &d.target {
            crate::standard::Target::Number(n) => n.to_string(),
            crate::standard::Target::Expr(e) if e.contains("submission.period.days") => {
                label("评估周期的天数", "the days of the period").to_string()
            }
            crate::standard::Target::Expr(_) => {
                label("按上列参数", "from the parameters above").to_string()
            }
        },
        match d.direction {
            crate::standard::Direction::Higher => label("越高越好", "higher is better"),
            crate::standard::Direction::Lower => label("越低越好", "lower is better"),
        },
        label("分值", "points"),
        d.points
    ));
    out.push_str(&format!(
        "{}: {}\n",
        label("计分", "scoring"),
        crate::standard::reference::indicator_scoring_in(&d.scoring, d.direction, lang)
    ));
    out.push_str(&basis_and_rationale(
        d.basis.as_deref(),
        d.rationale.as_ref(),
        lang,
    ));
    Some(out)
}

fn basis_and_rationale(
    basis: Option<&str>,
    rationale: Option<&crate::text::Text>,
    lang: Lang,
) -> String {
    let zh = lang == Lang::Zh;
    let mut out = format!(
        "{}: {}\n",
        if zh { "依据" } else { "basis" },
        basis.unwrap_or("—")
    );
    if let Some(r) = rationale {
        out.push_str(&format!(
            "{}: {}\n",
            if zh { "理由" } else { "rationale" },
            r.get(lang)
        ));
    }
    out
}

fn explain(id: &str, standard: Option<&str>, lang: Lang, dirs: &[PathBuf]) -> Result<i32> {
    let registry = run::registry(dirs)?;
    let candidates: Vec<String> = match standard {
        Some(s) => vec![s.to_string()],
        None => registry.ids(),
    };
    // Searching every standard, one that does not load is passed over (and named if the item is
    // not found elsewhere): a broken guide in a `--standards` folder does not hide the others.
    let searching = standard.is_none();
    let mut unloadable = Vec::new();
    for reference in candidates {
        let s = match load(&reference, dirs) {
            Ok(s) => s,
            Err(e) if searching => {
                unloadable.push(format!("{reference} ({e})"));
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(text) = explain_text(&s, id, lang) {
            print(&text)?;
            return Ok(0);
        }
    }
    let mut detail = format!("no rule or indicator '{id}' in the standards");
    if !unloadable.is_empty() {
        detail.push_str(&format!("; not searched: {}", unloadable.join("; ")));
    }
    Err(Error::new(ErrorKind::InvalidInput, detail))
}
