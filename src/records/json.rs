//! JSON record files (one record or a list) and JSONL (one record per line).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::{Decoded, ReadError};

/// A JSON value read with duplicate keys refused (serde_json keeps the last one silently, so
/// `"incidents": [...], "incidents": []` would empty a field without a word).
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::Number(v.into())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::Number(v.into())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Strict, E> {
        Ok(Strict(
            Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }
    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Strict, D::Error> {
        Strict::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Strict(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // One search of the map for each key: the entry, vacant or taken.
            match out.entry(key) {
                serde_json::map::Entry::Vacant(slot) => {
                    let Strict(v) = map.next_value()?;
                    slot.insert(v);
                }
                serde_json::map::Entry::Occupied(taken) => {
                    return Err(de::Error::custom(format!(
                        "duplicate key '{}'",
                        taken.key()
                    )));
                }
            }
        }
        Ok(Strict(Value::Object(out)))
    }
}

/// Parses one JSON text, refusing duplicate keys.
fn parse(text: &str) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let Strict(v) = Strict::deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

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
    match parse(text) {
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
/// `first_line` is the file line `text` starts on (a chunk of a large file). Each value or error
/// is handed to `each` as its line is parsed.
pub fn each_line(text: &str, first_line: u64, each: &mut dyn FnMut(Decoded)) {
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = first_line - 1 + i as u64;
        each(match parse(line) {
            Ok(v) => Decoded::Value(v, at + 1),
            Err(e) => Decoded::Error(error(&e, at)),
        });
    }
}
