//! Reading record files: YAML (one record, a list, or several documents), JSON and JSONL, each
//! record with the file and line it came from. A file that cannot be read yields errors with
//! their position, never a stop. Ledgers (CSV, Excel) plug in here as further formats.

mod json;
pub mod position;
mod yaml;

use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// One record as read, before its kind is settled and its schema checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The `kind` field when present.
    pub kind: Option<String>,
    pub value: Value,
    /// The path shown in reports (relative to the submission folder).
    pub file: String,
    pub line: u64,
}

impl Record {
    /// The record's `id` as text (numbers are read as their digits).
    pub fn id(&self) -> Option<String> {
        match self.value.get("id")? {
            Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// Why (part of) a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadError {
    pub message: crate::text::Text,
    pub line: u64,
    pub column: u64,
}

impl ReadError {
    /// A parser's own error, in its words, with a Chinese lead.
    pub fn parser(detail: String, line: u64, column: u64) -> ReadError {
        ReadError {
            message: crate::text::Text::bi(format!("文件无法解析：{detail}"), detail),
            line,
            column,
        }
    }
}

/// The formats records come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    Jsonl,
    /// A ledger format this build does not read yet.
    Ledger(&'static str),
}

impl Format {
    /// The format of a file by its extension; `None` for files that are not records
    /// (attachments, notes), which are passed over.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_string_lossy().to_lowercase();
        match ext.as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "csv" => Some(Format::Ledger("CSV")),
            "xlsx" | "xls" | "xlsm" | "ods" => Some(Format::Ledger("Excel")),
            _ => None,
        }
    }
}

/// The YAML reading options used everywhere: duplicate keys refused, YAML 1.2 booleans only
/// (`NO`, `yes` stay strings), numbers with leading zeros kept as strings, bounded aliases.
pub fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
    }
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lowercase hex SHA-256 of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A record file found in a submission, not read yet: records are read as they are evaluated.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path shown in reports (relative to the submission folder).
    pub path: String,
    /// Where it is read from.
    pub disk: std::path::PathBuf,
    pub format: Format,
}

/// Decodes one format's text into values with the line each starts on, and what could not be
/// read. Each record format is one reader; the engine reads every file through this seam.
pub trait Reader: Sync {
    /// Whether the format's records can be read a run of whole lines at a time (JSON Lines), so
    /// a large file streams through in chunks instead of being held whole.
    fn by_lines(&self) -> bool {
        false
    }

    /// The values of `text`, whose first line is line `first_line` of its file.
    fn decode(&self, text: &str, first_line: u64) -> (Vec<(Value, u64)>, Vec<ReadError>);

    /// The values and errors of `text` handed to `each` one at a time, in the order they are
    /// read. A format that reads record by record (JSON Lines) hands each on as soon as it is
    /// parsed, so that a record is judged while it is still in the processor's cache; the
    /// others decode the whole text first.
    fn decode_each(&self, text: &str, first_line: u64, each: &mut dyn FnMut(Decoded)) {
        let (values, errors) = self.decode(text, first_line);
        for (value, line) in values {
            each(Decoded::Value(value, line));
        }
        for e in errors {
            each(Decoded::Error(e));
        }
    }
}

/// One thing a reader read: a value with the line it starts on, or what could not be read.
pub enum Decoded {
    Value(Value, u64),
    Error(ReadError),
}

struct YamlReader;
struct JsonReader;
struct JsonLinesReader;
struct LedgerReader(&'static str);

impl Reader for YamlReader {
    fn decode(&self, text: &str, _first_line: u64) -> (Vec<(Value, u64)>, Vec<ReadError>) {
        yaml::read(text)
    }
}

impl Reader for JsonReader {
    fn decode(&self, text: &str, _first_line: u64) -> (Vec<(Value, u64)>, Vec<ReadError>) {
        json::read(text)
    }
}

impl Reader for JsonLinesReader {
    fn by_lines(&self) -> bool {
        true
    }

    fn decode(&self, text: &str, first_line: u64) -> (Vec<(Value, u64)>, Vec<ReadError>) {
        let (mut values, mut errors) = (Vec::new(), Vec::new());
        json::each_line(text, first_line, &mut |d| match d {
            Decoded::Value(v, line) => values.push((v, line)),
            Decoded::Error(e) => errors.push(e),
        });
        (values, errors)
    }

    fn decode_each(&self, text: &str, first_line: u64, each: &mut dyn FnMut(Decoded)) {
        json::each_line(text, first_line, each);
    }
}

impl Reader for LedgerReader {
    fn decode(&self, _text: &str, _first_line: u64) -> (Vec<(Value, u64)>, Vec<ReadError>) {
        let name = self.0;
        (
            Vec::new(),
            vec![ReadError {
                message: crate::text::Text::bi(
                    format!("此版本尚不能读取 {name} 台账；请将记录导出为 YAML、JSON 或 JSONL"),
                    format!("{name} ledgers are not read by this version; export the records as YAML, JSON or JSONL"),
                ),
                line: 0,
                column: 0,
            }],
        )
    }
}

/// The reader of a format.
pub fn reader(format: Format) -> &'static dyn Reader {
    match format {
        Format::Yaml => &YamlReader,
        Format::Json => &JsonReader,
        Format::Jsonl => &JsonLinesReader,
        Format::Ledger("CSV") => &LedgerReader("CSV"),
        Format::Ledger(_) => &LedgerReader("Excel"),
    }
}

/// Why a file's bytes are not text: the line the first bad byte is on.
pub fn not_utf8(bytes: &[u8], e: &std::str::Utf8Error, first_line: u64) -> ReadError {
    let before = bytes.get(..e.valid_up_to()).unwrap_or_default();
    let line = first_line + before.iter().filter(|b| **b == b'\n').count() as u64;
    ReadError {
        message: crate::text::Text::bi("文件不是有效的 UTF-8 编码", "the file is not valid UTF-8"),
        line,
        column: 0,
    }
}

/// Why a file could not be read at all.
pub fn unreadable(e: &std::io::Error) -> ReadError {
    ReadError {
        message: crate::text::Text::bi(
            format!("文件无法读取：{e}"),
            format!("cannot read the file: {e}"),
        ),
        line: 0,
        column: 0,
    }
}

/// The records among decoded values (a mapping each); anything else is an error at its line,
/// and an empty document is passed over.
pub fn records_of(
    values: Vec<(Value, u64)>,
    shown: &str,
    errors: &mut Vec<ReadError>,
) -> Vec<Record> {
    let mut records = Vec::with_capacity(values.len());
    for (value, line) in values {
        records.extend(record_of(value, line, shown, errors));
    }
    records
}

/// The record a decoded value is (a mapping); anything else is an error at its line, and an
/// empty document is passed over.
pub fn record_of(
    value: Value,
    line: u64,
    shown: &str,
    errors: &mut Vec<ReadError>,
) -> Option<Record> {
    match value {
        Value::Object(_) => {
            let kind = value
                .get("kind")
                .and_then(Value::as_str)
                .map(str::to_string);
            Some(Record {
                kind,
                value,
                file: shown.to_string(),
                line,
            })
        }
        Value::Null => None,
        other => {
            errors.push(ReadError {
                message: crate::text::Text::bi(
                    "一条记录应为字段映射，此处不是",
                    format!(
                        "a record must be a mapping of fields, found {}",
                        kind_name(&other)
                    ),
                ),
                line,
                column: 0,
            });
            None
        }
    }
}

/// The records of a whole file's bytes, and what could not be read.
pub fn read_bytes(bytes: &[u8], shown: &str, format: Format) -> (Vec<Record>, Vec<ReadError>) {
    let reader = reader(format);
    if let Format::Ledger(_) = format {
        return (Vec::new(), reader.decode("", 1).1);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.strip_prefix('\u{feff}').unwrap_or(t),
        Err(e) => return (Vec::new(), vec![not_utf8(bytes, &e, 1)]),
    };
    let (values, mut errors) = reader.decode(text, 1);
    let records = records_of(values, shown, &mut errors);
    (records, errors)
}

/// What kind of value this is, in words, for messages.
pub(crate) fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Read {
        records: Vec<Record>,
        errors: Vec<ReadError>,
    }

    fn read_str(name: &str, text: &str) -> Read {
        let (records, errors) =
            read_bytes(text.as_bytes(), name, Format::of(Path::new(name)).unwrap());
        Read { records, errors }
    }

    #[test]
    fn yaml_lists_and_documents_keep_each_records_line() {
        let r = read_str("cases.yaml", "- id: a\n  x: 1\n- id: b\n");
        assert_eq!(
            r.records
                .iter()
                .map(|r| (r.id().unwrap(), r.line))
                .collect::<Vec<_>>(),
            vec![("a".into(), 1), ("b".into(), 3)]
        );
        let r = read_str("cases.yaml", "id: a\n---\nid: b\nkind: case\n");
        assert_eq!(r.records.len(), 2);
        assert_eq!(r.records[1].line, 3);
        assert_eq!(r.records[1].kind.as_deref(), Some("case"));
    }

    #[test]
    fn yaml_keeps_no_and_yes_as_strings_and_refuses_duplicate_keys() {
        let r = read_str("a.yaml", "id: a\nflag: NO\nok: true\nphone: 0755123\n");
        assert_eq!(r.records[0].value["flag"], "NO");
        assert_eq!(r.records[0].value["ok"], true);
        assert_eq!(r.records[0].value["phone"], "0755123");
        let r = read_str("a.yaml", "id: a\nname: x\nname: y\n");
        assert!(r.records.is_empty());
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].line, 3, "{:?}", r.errors);
    }

    #[test]
    fn json_and_jsonl_report_the_bad_line_and_keep_the_good_ones() {
        let r = read_str(
            "requests.jsonl",
            "{\"id\": \"r1\"}\n{\"id\": \n{\"id\": \"r3\"}\n",
        );
        assert_eq!(r.records.len(), 2);
        assert_eq!(r.records[1].line, 3);
        assert_eq!(r.errors[0].line, 2);
        let r = read_str("a.json", "[{\"id\": 1},\n {\"id\": 2}]");
        assert_eq!(r.records.len(), 2);
        assert_eq!(r.records[1].id().as_deref(), Some("2"));
        let r = read_str("a.json", "{\"id\": 1,,}");
        assert_eq!((r.errors[0].line, r.errors[0].column), (1, 10));
    }

    #[test]
    fn json_duplicate_keys_are_refused_with_their_place() {
        let r = read_str(
            "cases.json",
            "{\"id\": \"a\",\n \"incidents\": [1],\n \"incidents\": []}",
        );
        assert!(r.records.is_empty());
        assert_eq!(r.errors[0].line, 3, "{:?}", r.errors);
        assert!(r.errors[0]
            .message
            .get(crate::text::Lang::En)
            .contains("duplicate key 'incidents'"));
        let r = read_str(
            "r.jsonl",
            "{\"id\": \"a\"}\n{\"id\": \"b\", \"id\": \"c\"}\n",
        );
        assert_eq!(r.records.len(), 1);
        assert_eq!(r.errors[0].line, 2);
    }

    /// JSON Lines hands on each line's value or error as it is read, in line order (a record is
    /// judged before the next line is parsed), and the same ones `decode` gathers.
    #[test]
    fn json_lines_hand_on_each_line_as_it_is_read_in_line_order() {
        let text = "{\"id\": \"a\"}\n{\"id\": \n\n5\n{\"id\": \"d\"}\n";
        let mut seen = Vec::new();
        reader(Format::Jsonl).decode_each(text, 10, &mut |d| {
            seen.push(match d {
                Decoded::Value(v, line) => (line, v.to_string()),
                Decoded::Error(e) => (e.line, "error".to_string()),
            });
        });
        assert_eq!(
            seen,
            vec![
                (10, r#"{"id":"a"}"#.to_string()),
                (11, "error".to_string()),
                (13, "5".to_string()),
                (14, r#"{"id":"d"}"#.to_string()),
            ]
        );
        let (values, errors) = reader(Format::Jsonl).decode(text, 10);
        assert_eq!(
            values.iter().map(|(_, line)| *line).collect::<Vec<_>>(),
            vec![10, 13, 14]
        );
        assert_eq!(errors.iter().map(|e| e.line).collect::<Vec<_>>(), vec![11]);
    }

    #[test]
    fn ledgers_are_reported_not_silently_skipped() {
        let r = read_str("activities.csv", "id,date\n");
        assert!(r.errors[0]
            .message
            .get(crate::text::Lang::En)
            .contains("CSV"));
        assert!(Format::of(Path::new("scan.pdf")).is_none());
    }
}
