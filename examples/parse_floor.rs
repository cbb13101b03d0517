//! The benchmark's floor (bench/run.sh): reads the same record files `yardstick check` reads,
//! parses every record into a `serde_json::Value` with the same parsers (serde_json, serde-saphyr)
//! and counts them, and does nothing else: no schema, no rule, no report, one thread. Whatever a
//! check costs above this is the engine's own work.
//!
//! ```sh
//! cargo build --release --example parse_floor
//! target/release/examples/parse_floor bench/data/100000/jsonl/cases.jsonl   # one record a line
//! target/release/examples/parse_floor bench/data/100000/json/cases.json     # one JSON array
//! target/release/examples/parse_floor bench/data/100000/yaml                # a folder of .yaml files
//! ```
//!
//! With `--tokens`, a JSON Lines record is only tokenised (read into `serde::de::IgnoredAny`),
//! building nothing: the cost of reading JSON at all with serde_json, below which no design
//! that uses it can go (docs/performance.md, "What the ten-second target asks of each record").
//!
//! A folder is walked for `*.yaml`, `*.yml`, `*.json` and `*.jsonl` files except
//! `submission.yaml`; a YAML file may hold one record, a list of records or several documents.
//! It deliberately does not use the yardstick library, whose API changes with the engine.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::ExitCode;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

type Error = Box<dyn std::error::Error>;

/// Counts the records of a JSON document: the elements of an array, each parsed into a `Value`
/// and dropped, so that a large array streams through without being held whole; or one record.
struct CountRecords;

impl<'de> Visitor<'de> for CountRecords {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a record or an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut n = 0;
        while let Some(record) = seq.next_element::<Value>()? {
            std::hint::black_box(&record);
            n += 1;
        }
        Ok(n)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<u64, A::Error> {
        let record = Value::deserialize(MapAccessDeserializer::new(map))?;
        std::hint::black_box(&record);
        Ok(1)
    }
}

/// One record a line; blank lines skipped. `tokens`: only tokenised, nothing built.
fn jsonl(path: &Path, tokens: bool) -> Result<u64, Error> {
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(n);
        }
        if line.trim().is_empty() {
            continue;
        }
        if tokens {
            let _: serde::de::IgnoredAny = serde_json::from_str(&line)?;
        } else {
            let record: Value = serde_json::from_str(&line)?;
            std::hint::black_box(&record);
        }
        n += 1;
    }
}

/// A JSON file: an array of records (streamed), or one record.
fn json(path: &Path) -> Result<u64, Error> {
    let reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let n = (&mut de).deserialize_any(CountRecords)?;
    de.end()?;
    Ok(n)
}

/// A YAML file: one record, a list of records, or several documents (as yardstick reads them:
/// YAML 1.2 booleans only, numbers with leading zeros kept as text).
fn yaml(path: &Path) -> Result<u64, Error> {
    let text = std::fs::read_to_string(path)?;
    let options = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
    };
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(&text, options)?;
    Ok(docs
        .iter()
        .map(|d| match d {
            Value::Array(items) => items.len() as u64,
            _ => 1,
        })
        .sum())
}

fn file(path: &Path, tokens: bool) -> Result<u64, Error> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jsonl" | "ndjson" => jsonl(path, tokens),
        _ if tokens => Err("--tokens reads JSON Lines files only".into()),
        "json" => json(path),
        "yaml" | "yml" => yaml(path),
        _ => Ok(0),
    }
}

fn count(path: &Path, tokens: bool) -> Result<u64, Error> {
    if !path.is_dir() {
        return file(path, tokens);
    }
    let mut n = 0;
    for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file() && name != "submission.yaml" && !name.starts_with('.') {
            n += file(entry.path(), tokens)
                .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        }
    }
    Ok(n)
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let tokens = args.iter().any(|a| a == "--tokens");
    args.retain(|a| a != "--tokens");
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!(
            "usage: parse_floor [--tokens] PATH...   (a .jsonl, .json or .yaml file, or a folder of them)"
        );
        return ExitCode::from(2);
    }
    let mut total = 0;
    for arg in &args {
        match count(Path::new(arg), tokens) {
            Ok(n) => total += n,
            Err(e) => {
                eprintln!("parse_floor: {arg}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    println!("{total}");
    ExitCode::SUCCESS
}
