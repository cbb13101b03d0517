//! Where a field of a record sits in its file: the line of a JSON pointer inside the record
//! that starts on a given line, for YAML and JSON files (JSON read as the YAML it also is).
//!
//! Records are parsed once, into values; positions are wanted only for the few fields a finding
//! points at, so a file is walked again for its events only when one of its records has such a
//! finding, and only up to the records concerned.

use std::collections::{BTreeMap, HashMap};

use serde_saphyr::granit_parser::{Event, Parser, Span};

/// The events of a YAML text, with the line each starts on; stops at the first scan error.
struct Events<'a> {
    parser: Parser<'a, serde_saphyr::granit_parser::StrInput<'a>>,
}

impl<'a> Events<'a> {
    fn next(&mut self) -> Option<(Event<'a>, u64)> {
        match self.parser.next_event()? {
            Ok((event, span)) => Some((event, line(&span))),
            Err(_) => None,
        }
    }
}

fn line(span: &Span) -> u64 {
    span.start.line() as u64
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Reads one node whose first event is given. With `out`, records the line of every node
/// below it by pointer (a mapping entry at its key's line).
fn node<'a>(
    events: &mut Events<'a>,
    first: Event<'a>,
    pointer: &str,
    out: &mut Option<&mut HashMap<String, u64>>,
    depth: usize,
) -> Option<()> {
    if depth > 256 {
        return None;
    }
    match first {
        Event::MappingStart(..) => loop {
            let (key_event, key_line) = events.next()?;
            let key = match key_event {
                Event::MappingEnd => return Some(()),
                Event::Scalar(text, ..) => text.into_owned(),
                // A complex key: read it and give its entry no pointer.
                other => {
                    node(events, other, pointer, &mut None, depth + 1)?;
                    String::new()
                }
            };
            let child = format!("{pointer}/{}", escape(&key));
            if let Some(map) = out.as_deref_mut() {
                map.entry(child.clone()).or_insert(key_line);
            }
            let (value, _) = events.next()?;
            node(events, value, &child, out, depth + 1)?;
        },
        Event::SequenceStart(..) => {
            let mut i = 0usize;
            loop {
                let (item, item_line) = events.next()?;
                if matches!(item, Event::SequenceEnd) {
                    return Some(());
                }
                let child = format!("{pointer}/{i}");
                if let Some(map) = out.as_deref_mut() {
                    map.entry(child.clone()).or_insert(item_line);
                }
                node(events, item, &child, out, depth + 1)?;
                i += 1;
            }
        }
        // Anchors (off by default) precede their node's content; a scalar or alias is one event.
        _ => Some(()),
    }
}

/// The lines of the fields of the records that start on `record_lines`, by record line and
/// JSON pointer. Records are the documents of the text, or the items of a document that is a
/// list, as the readers take them.
pub fn field_lines(text: &str, record_lines: &[u64]) -> BTreeMap<u64, HashMap<String, u64>> {
    let mut found: BTreeMap<u64, HashMap<String, u64>> = BTreeMap::new();
    let mut events = Events {
        parser: Parser::new_from_str(text),
    };
    fn take<'a>(
        events: &mut Events<'a>,
        first: Event<'a>,
        start: u64,
        record_lines: &[u64],
        found: &mut BTreeMap<u64, HashMap<String, u64>>,
    ) -> Option<()> {
        if record_lines.contains(&start) && !found.contains_key(&start) {
            let mut map = HashMap::new();
            node(events, first, "", &mut Some(&mut map), 0)?;
            found.insert(start, map);
            Some(())
        } else {
            node(events, first, "", &mut None, 0)
        }
    }
    while let Some((event, start)) = events.next() {
        match event {
            Event::SequenceStart(..) => {
                // A document that is a list: each item is a record.
                while let Some((item, item_line)) = events.next() {
                    if matches!(item, Event::SequenceEnd) {
                        break;
                    }
                    if take(&mut events, item, item_line, record_lines, &mut found).is_none() {
                        return found;
                    }
                }
            }
            // A document that is one record (read whole by the guard; stop on a broken text).
            Event::MappingStart(..)
                if take(&mut events, event, start, record_lines, &mut found).is_none() =>
            {
                return found;
            }
            _ => {}
        }
    }
    found
}

/// The line of the field at `pointer`, or of its nearest ancestor that the record has (a missing
/// field is shown at the object that lacks it); `None` when the record holds none of it.
pub fn line_of(lines: &HashMap<String, u64>, pointer: &str) -> Option<u64> {
    let mut p = pointer;
    loop {
        if let Some(l) = lines.get(p) {
            return Some(*l);
        }
        p = &p[..p.rfind('/')?];
        if p.is_empty() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_lines_of_fields_in_block_and_flow_yaml() {
        let text = "- id: a\n  intake:\n    date: 2025-01-01\n  sessions:\n    - {date: 2025-02-01, note: x}\n    - date: 2025-03-01\n      note: y\n- id: b\n  closure: {date: 2025-05-01}\n";
        let found = field_lines(text, &[1, 8]);
        let a = &found[&1];
        assert_eq!(a["/intake"], 2);
        assert_eq!(a["/intake/date"], 3);
        assert_eq!(a["/sessions/0/note"], 5);
        assert_eq!(a["/sessions/1/note"], 7);
        assert_eq!(line_of(a, "/intake/consent"), Some(2));
        assert_eq!(line_of(a, "/assessment/date"), None);
        assert_eq!(found[&8]["/closure/date"], 9);
    }

    #[test]
    fn reads_json_and_several_documents() {
        let json =
            "[\n  {\"id\": \"a\",\n   \"x\": {\"y\": 1}},\n  {\"id\": \"b\",\n   \"z\": 2}\n]\n";
        let found = field_lines(json, &[2, 4]);
        assert_eq!(found[&2]["/x/y"], 3);
        assert_eq!(found[&4]["/z"], 5);
        let docs = "id: a\nk: 1\n---\nid: b\nk: 2\n";
        let found = field_lines(docs, &[4]);
        assert_eq!(found[&4]["/k"], 5);
        assert!(!found.contains_key(&1));
    }

    #[test]
    fn a_broken_text_gives_what_it_could_read() {
        let found = field_lines("- id: a\n  k: [1,\n", &[1]);
        assert!(found.is_empty() || found[&1].contains_key("/id"));
    }
}
