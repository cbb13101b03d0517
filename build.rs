//! Embeds the shipped data folders (standards, schemas, calendars, templates) into the binary.
//!
//! Every file under those folders becomes an entry of `EMBEDDED` in `$OUT_DIR/embedded.rs`,
//! keyed by its path relative to the package root with forward slashes. The folders are
//! watched as a whole, so adding, changing or removing a file rebuilds.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

const FOLDERS: &[&str] = &["standards", "schemas", "calendars", "templates"];

fn main() {
    let root = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&root);
    let mut entries = Vec::new();
    for folder in FOLDERS {
        let dir = root.join(folder);
        println!("cargo:rerun-if-changed={}", dir.display());
        if !dir.is_dir() {
            continue;
        }
        for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
            let entry = entry.expect("walk an embedded folder");
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(root)
                .expect("path under the package root");
            let key = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            if key.split('/').any(|part| part.starts_with('.')) {
                continue;
            }
            entries.push((key, entry.path().to_path_buf()));
        }
    }
    let mut out = String::from("/// Files shipped inside the binary: (path, contents).\n");
    out.push_str("pub static EMBEDDED: &[(&str, &[u8])] = &[\n");
    for (key, path) in &entries {
        writeln!(
            out,
            "    ({key:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .expect("write to a string");
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    fs::write(dest, out).expect("write embedded.rs");
}
