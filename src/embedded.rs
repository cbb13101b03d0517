//! The files shipped inside the binary (standards, schemas, calendars, templates).

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The contents of a shipped file, by its path relative to the package root.
pub fn get(path: &str) -> Option<&'static [u8]> {
    EMBEDDED
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, bytes)| *bytes)
}

/// The shipped files under a folder (`"standards/"`), in path order.
pub fn under(prefix: &'static str) -> impl Iterator<Item = (&'static str, &'static [u8])> {
    EMBEDDED
        .iter()
        .filter(move |(p, _)| p.starts_with(prefix))
        .map(|(p, b)| (*p, *b))
}

/// A shipped text file, as UTF-8.
pub fn text(path: &str) -> Option<&'static str> {
    get(path).and_then(|b| std::str::from_utf8(b).ok())
}
