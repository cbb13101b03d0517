//! The library's one error type: a kind, a detail, and where it happened.

use std::fmt;

/// What went wrong, broadly. The command line maps every kind to exit status 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A file could not be read or written.
    Io,
    /// A standard was asked for that does not exist.
    UnknownStandard,
    /// A standard (or one it extends) is malformed or inconsistent.
    InvalidStandard,
    /// A profile is malformed or names what the standard does not have.
    InvalidProfile,
    /// The arguments or the submission layout do not allow a run.
    InvalidInput,
    /// A report template could not be compiled or rendered.
    Template,
}

impl ErrorKind {
    fn label(self) -> &'static str {
        match self {
            ErrorKind::Io => "i/o error",
            ErrorKind::UnknownStandard => "unknown standard",
            ErrorKind::InvalidStandard => "invalid standard",
            ErrorKind::InvalidProfile => "invalid profile",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Template => "template error",
        }
    }
}

/// An error with its location: the file, the line and column when known, and the id of the
/// item (rule, indicator, section, parameter) it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct Error {
    kind: ErrorKind,
    detail: String,
    file: Option<String>,
    line: Option<u64>,
    column: Option<u64>,
    item: Option<String>,
}

impl Error {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Error {
            kind,
            detail: detail.into(),
            file: None,
            line: None,
            column: None,
            item: None,
        }
    }

    pub fn with_file(mut self, file: impl Into<String>) -> Self {
        self.file = Some(file.into());
        self
    }

    pub fn with_position(mut self, line: u64, column: u64) -> Self {
        if line > 0 {
            self.line = Some(line);
            self.column = (column > 0).then_some(column);
        }
        self
    }

    pub fn with_item(mut self, item: impl Into<String>) -> Self {
        self.item = Some(item.into());
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn detail(&self) -> &str {
        &self.detail
    }
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }
    pub fn line(&self) -> Option<u64> {
        self.line
    }
    pub fn item(&self) -> Option<&str> {
        self.item.as_deref()
    }

    /// The error with the line of the file it points at, marked (for a terminal). `None` when
    /// it has no file and line, or the file cannot be read.
    pub fn snippet(&self) -> Option<String> {
        let (file, line) = (self.file.as_deref()?, self.line? as usize);
        let source = std::fs::read_to_string(file)
            .ok()
            .or_else(|| crate::embedded::text(file).map(str::to_string))?;
        let start = source
            .split_inclusive('\n')
            .take(line.saturating_sub(1))
            .map(str::len)
            .sum::<usize>();
        let text = source.get(start..)?.lines().next()?;
        let skip = self.column.map_or(0, |c| c.saturating_sub(1) as usize);
        let from = start + text.char_indices().nth(skip).map_or(0, |(i, _)| i);
        let to = (start + text.trim_end().len())
            .max(from + 1)
            .min(source.len());
        let title = format!("{}: {}", self.kind.label(), self.detail);
        let mut snippet = annotate_snippets::Snippet::source(source.as_str()).path(file);
        let label = self.item.as_deref().unwrap_or("here");
        snippet = snippet.annotation(
            annotate_snippets::AnnotationKind::Primary
                .span(from..to)
                .label(label),
        );
        let report = &[annotate_snippets::Level::ERROR
            .primary_title(title)
            .element(snippet)];
        Some(annotate_snippets::Renderer::plain().render(report))
    }

    /// An input or output error on a file.
    pub fn io(file: &std::path::Path, err: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, err.to_string()).with_file(file.display().to_string())
    }
}

impl Error {
    fn render(&self) -> String {
        let mut out = String::new();
        let _ = self.write_to(&mut out);
        out
    }

    fn write_to(&self, f: &mut impl fmt::Write) -> fmt::Result {
        write!(f, "{}", self.kind.label())?;
        if let Some(file) = &self.file {
            write!(f, " in {file}")?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(column) = self.column {
                    write!(f, ":{column}")?;
                }
            }
        }
        if let Some(item) = &self.item {
            write!(f, " at {item}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_marks_the_line_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, "id: s\nrules:\n  - id: X-Y-01\n").unwrap();
        let err = Error::new(ErrorKind::InvalidStandard, "assert does not compile")
            .with_file(path.display().to_string())
            .with_position(3, 5)
            .with_item("X-Y-01");
        let shown = err.snippet().unwrap();
        assert!(shown.contains("assert does not compile"), "{shown}");
        assert!(shown.contains("3 |   - id: X-Y-01"), "{shown}");
        assert!(shown.contains("^^^"), "{shown}");
        assert!(Error::new(ErrorKind::Io, "x").snippet().is_none());
    }

    #[test]
    fn display_names_file_position_and_item() {
        let err = Error::new(ErrorKind::InvalidStandard, "expression does not compile")
            .with_file("standards/x.yaml")
            .with_position(12, 7)
            .with_item("EC-SAF-01");
        assert_eq!(
            err.to_string(),
            "invalid standard in standards/x.yaml:12:7 at EC-SAF-01: expression does not compile"
        );
    }
}
