//! JSON record files (one record or a list) and JSONL (one record per line).

use serde_json::Value;

use super::ReadError;

fn error(e: &serde_json::Error, line_offset: u64) -> ReadError {
    ReadError::parser(
        e.to_string(),
        e.line() as u64 + line_offset,
        e.column() as u64,
    )
}

/// The line each element of a top-level JSON array starts on.
fn element_lines(text: &str) -> Vec<u64> {
    let mut lines = Vec::new();
    let (mut depth, mut line, mut in_str, mut escaped) = (0usize, 1u64, false, false);
    let mut expecting = false;
    for c in text.chars() {
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            if c == '\n' {
                line += 1;
            }
            continue;
        }
        if expecting && !c.is_whitespace() && c != ']' {
            lines.push(line);
            expecting = false;
        }
        match c {
            '\n' => line += 1,
            '"' => in_str = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 && c == '[' {
                    expecting = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expecting = true,
            _ => {}
        }
    }
    lines
}

/// One JSON document: a record or a list of records.
pub fn read(text: &str) -> (Vec<(Value, u64)>, Vec<ReadError>) {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => {
            let lines = element_lines(text);
            let out = items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (v, lines.get(i).copied().unwrap_or(1)))
                .collect();
            (out, Vec::new())
        }
        Ok(v) => {
            let line = 1 + text[..text.find(|c: char| !c.is_whitespace()).unwrap_or(0)]
                .matches('\n')
                .count() as u64;
            (vec![(v, line)], Vec::new())
        }
        Err(e) => (Vec::new(), vec![error(&e, 0)]),
    }
}

/// JSON Lines: each non-blank line one record; a bad line is an error and the rest still count.
pub fn read_lines(text: &str) -> (Vec<(Value, u64)>, Vec<ReadError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v) => out.push((v, i as u64 + 1)),
            Err(e) => errors.push(error(&e, i as u64)),
        }
    }
    (out, errors)
}
