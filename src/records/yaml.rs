//! YAML record files: one record, a list of records, or several documents.

use serde_json::Value;
use serde_saphyr::Spanned;

use super::{yaml_options, ReadError};

fn error(e: &serde_saphyr::Error) -> ReadError {
    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    ReadError::parser(e.without_snippet().to_string(), line, column)
}

/// The values of a YAML text with the line each starts on.
pub fn read(text: &str) -> (Vec<(Value, u64)>, Vec<ReadError>) {
    let docs: Vec<Spanned<Value>> =
        match serde_saphyr::from_multiple_with_options(text, yaml_options()) {
            Ok(d) => d,
            Err(e) => return (Vec::new(), vec![error(&e)]),
        };
    let mut out = Vec::new();
    if docs.len() == 1 && docs[0].value.is_array() {
        // A list of records: read again item by item to keep each one's line.
        match serde_saphyr::from_str_with_options::<Vec<Spanned<Value>>>(text, yaml_options()) {
            Ok(items) => out.extend(items.into_iter().map(|i| (i.value, i.referenced.line()))),
            Err(e) => return (Vec::new(), vec![error(&e)]),
        }
    } else {
        for doc in docs {
            let line = doc.referenced.line();
            match doc.value {
                Value::Array(items) => out.extend(items.into_iter().map(|v| (v, line))),
                v => out.push((v, line)),
            }
        }
    }
    (out, Vec::new())
}
