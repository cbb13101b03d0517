//! The command line: argument definitions and the commands, which call the library and print.
//! Data goes to standard output (or `-o`), messages to standard error. Exit status: 0 the
//! submission meets the bar, 1 it does not, 2 the tool could not do its job.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use yardstick::{
    explain_text, lint, overview as show, reference_markdown, Error, ErrorKind, FailOn, Format,
    Lang, Options, Result, Severity, Standard,
};

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

/// How a check's output is printed, and the bar it must meet.
#[derive(Debug, clap::Args)]
pub struct Bar {
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,
    /// Fail (exit 1) on a finding at or above this severity.
    #[arg(long, value_enum, default_value = "major")]
    pub fail_on: FailOnArg,
    /// Fail (exit 1) when the score is under this.
    #[arg(long, value_name = "N", value_parser = finite_number, allow_negative_numbers = true)]
    pub min_score: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a submission; the exit status says whether it meets the bar.
    Check {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        bar: Bar,
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
    /// Judge one shard of a large submission's record files, for `merge`.
    ///
    /// Writes the shard's partial result (JSON Lines): each record's verdict, never the record.
    /// See docs/scale.md.
    Partial {
        #[command(flatten)]
        common: Common,
        /// Which shard: the K-th of N contiguous runs of the record files in path order.
        #[arg(long, value_name = "K/N")]
        shard: yardstick::Shard,
        /// Write the partial result (JSON Lines) to this file.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
    },
    /// Merge the shards' partial results into the check of the whole submission.
    ///
    /// The same output and exit status as `check` over all of the submission.
    Merge {
        #[command(flatten)]
        common: Common,
        /// The partial results, one per shard, in any order.
        #[arg(long = "partial", value_name = "FILE", required = true, num_args = 1..)]
        partials: Vec<PathBuf>,
        #[command(flatten)]
        bar: Bar,
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
    print_with(|out| out.write_all(text.as_bytes()))
}

/// Writes to standard output through `write`.
fn print_with(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match write(&mut out).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(own_error(e).unwrap_or_else(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot write to standard output: {e}"),
            )
        })),
    }
}

/// The report's own error when rendering it failed while it was being written (a finding
/// that cannot be read back), rather than an error of the output.
fn own_error(e: std::io::Error) -> std::result::Result<Error, std::io::Error> {
    if !e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        return Err(e);
    }
    let kind = e.kind();
    match e.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(own)) => Ok(*own),
        _ => Err(kind.into()),
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
        Command::Check { common, bar } => {
            let report = yardstick::check(&common.paths, &options(&common, &cli.standards))?;
            verdict(&report, &bar)
        }
        Command::Merge {
            common,
            partials,
            bar,
        } => {
            let options = options(&common, &cli.standards);
            let report = yardstick::merge(&common.paths, &options, &partials)?;
            verdict(&report, &bar)
        }
        Command::Partial {
            common,
            shard,
            output,
        } => {
            let mut inputs = common.paths.clone();
            inputs.extend(common.profile.iter().cloned());
            inputs.extend(common.waivers.iter().cloned());
            inputs.extend(common.standard.iter().map(PathBuf::from));
            refuse_input(&output, &inputs)?;
            let shown = output.display().to_string();
            let file = std::fs::File::create(&output).map_err(|e| Error::io(&output, e))?;
            let mut out = std::io::BufWriter::new(file);
            yardstick::partial(
                &common.paths,
                &options(&common, &cli.standards),
                shard,
                &mut out,
                &shown,
            )?;
            Ok(0)
        }
        Command::Report {
            common,
            format,
            template,
            output,
        } => {
            let report = yardstick::check(&common.paths, &options(&common, &cli.standards))?;
            let color = output.is_none() && color_wanted();
            // The shipped formats are written as they are rendered. A user's template is
            // rendered whole first, so that an error in it prints no half report.
            let text = match &template {
                Some(path) => {
                    let (renderer, name) = yardstick::Renderer::new()?.with_user_template(path)?;
                    Some(renderer.render_template(&name, &report, color)?)
                }
                None => None,
            };
            let shipped = match format {
                ReportFormat::Json => Format::Json,
                ReportFormat::Text => Format::Text,
            };
            let write = |w: &mut dyn Write| match &text {
                Some(text) => w.write_all(text.as_bytes()),
                None => yardstick::render_to(&report, shipped, color, w),
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
                    write_output(&path, write, &inputs)?
                }
                None => print_with(write)?,
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
/// Prints a check's report and says whether the submission meets the bar (exit 0) or not (1).
fn verdict(report: &yardstick::Report, bar: &Bar) -> Result<i32> {
    match bar.format {
        CheckFormat::Json => {
            print_with(|w| yardstick::render_to(report, Format::Json, false, w))?;
        }
        CheckFormat::Text => {
            let color = color_wanted();
            print_with(|w| yardstick::render_to(report, Format::CheckText, color, w))?;
        }
    }
    let reasons = report.verdict(bar.fail_on.into(), bar.min_score);
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

/// Refuses an output path that is an input, or lies inside an input folder (where it would be
/// read as a record file by the next run).
fn refuse_input(path: &Path, inputs: &[PathBuf]) -> Result<()> {
    let target = match path.canonicalize() {
        Ok(t) => t,
        // A new file: where its folder really is.
        Err(_) => {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let dir = dir.canonicalize().map_err(|e| Error::io(&dir, e))?;
            dir.join(path.file_name().unwrap_or_default())
        }
    };
    for input in inputs {
        let Ok(input) = input.canonicalize() else {
            continue;
        };
        if target == input || (input.is_dir() && target.starts_with(&input)) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "refusing to write over an input file or into the submission folder",
            )
            .with_file(path.display().to_string()));
        }
    }
    Ok(())
}

fn write_output(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    inputs: &[PathBuf],
) -> Result<()> {
    refuse_input(path, inputs)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        write(&mut f)?;
        f.flush()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(own_error(e).unwrap_or_else(|e| Error::io(&tmp, e)));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

fn load(reference: &str, dirs: &[PathBuf]) -> Result<Standard> {
    let mut registry = yardstick::registry(dirs)?;
    yardstick::load_standard(&mut registry, reference, None)
}

fn standards(command: StandardsCommand, dirs: &[PathBuf]) -> Result<i32> {
    match command {
        StandardsCommand::List => {
            let registry = yardstick::registry(dirs)?;
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
                yardstick::registry(dirs)?.ids()
            } else {
                references
            };
            let mut worst = 0;
            for reference in references {
                let mut registry = yardstick::registry(dirs)?;
                let shown = reference.clone();
                let loaded = yardstick::load_standard(&mut registry, &reference, None);
                match loaded {
                    Err(e) => {
                        eprintln!("error: {e}");
                        print_snippet(&e);
                        worst = 2;
                    }
                    Ok(s) => {
                        let warnings = lint(&s);
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

fn explain(id: &str, standard: Option<&str>, lang: Lang, dirs: &[PathBuf]) -> Result<i32> {
    let registry = yardstick::registry(dirs)?;
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
