//! What several integration tests share: the fixture submissions and their contract profiles.

use std::path::{Path, PathBuf};

/// Every fixture submission (`fixtures/<standard>/<name>/submission.yaml`), sorted, with the
/// contract profile shipped beside it (`fixtures/<standard>/<name>-contract.yaml`) when there is
/// one.
#[allow(dead_code)]
pub fn fixture_submissions() -> Vec<(PathBuf, Option<PathBuf>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out = Vec::new();
    for standard in std::fs::read_dir(&root).unwrap() {
        let standard = standard.unwrap().path();
        if !standard.is_dir() {
            continue;
        }
        for sub in std::fs::read_dir(&standard).unwrap() {
            let sub = sub.unwrap().path();
            if sub.join("submission.yaml").is_file() {
                let contract = sub.with_file_name(format!(
                    "{}-contract.yaml",
                    sub.file_name().unwrap().to_string_lossy()
                ));
                out.push((sub, contract.is_file().then_some(contract)));
            }
        }
    }
    out.sort();
    out
}

/// Copies a folder, its subfolders and files, to `to`.
#[allow(dead_code)]
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
