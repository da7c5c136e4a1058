//! Copies of the compliance folder (std::fs only) and the tampering done to them.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// A fresh copy of `src` in a new temporary directory (returned, and the copy's root).
pub fn copy_store(src: &Path) -> (TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("export");
    copy_dir(src, &root);
    (tmp, root)
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap_or_else(|e| panic!("mkdir {}: {e}", dst.display()));
    for entry in std::fs::read_dir(src).unwrap_or_else(|e| panic!("read_dir {}: {e}", src.display())) {
        let entry = entry.expect("dir entry");
        let to = dst.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap_or_else(|e| panic!("copy to {}: {e}", to.display()));
        }
    }
}

/// Every file below `root`, as `/`-separated paths relative to it, sorted.
pub fn relative_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).expect("below root");
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
}

/// Sealed log files (`{ws}/logs/.../*.jsonl`) of one event type below `root`.
pub fn log_files(root: &Path, event_type: &str) -> Vec<String> {
    let marker = format!("/logs/{event_type}/");
    relative_files(root)
        .into_iter()
        .filter(|p| p.contains(&marker) && p.ends_with(".jsonl"))
        .collect()
}

/// Digests (`{ws}/digests/*.json`) below `root`, oldest first.
pub fn digests(root: &Path) -> Vec<String> {
    relative_files(root)
        .into_iter()
        .filter(|p| p.contains("/digests/") && p.ends_with(".json"))
        .collect()
}

pub fn abs(root: &Path, rel: &str) -> PathBuf {
    root.join(rel)
}

/// Replaces the first occurrence of `from` by `to` (same length) in a file.
pub fn replace_once(path: &Path, from: &str, to: &str) {
    assert_eq!(from.len(), to.len(), "keep the size");
    let text = std::fs::read_to_string(path).expect("read");
    assert!(
        text.contains(from),
        "{} does not contain {from:?}",
        path.display()
    );
    std::fs::write(path, text.replacen(from, to, 1)).expect("write");
}

/// Changes exactly one byte, in the middle of the file, to another printable character.
pub fn flip_one_byte(path: &Path) {
    let mut bytes = std::fs::read(path).expect("read");
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
    std::fs::write(path, bytes).expect("write");
}

/// Swaps the contents of two files.
pub fn swap(a: &Path, b: &Path) {
    let (x, y) = (
        std::fs::read(a).expect("read a"),
        std::fs::read(b).expect("read b"),
    );
    assert_ne!(x, y, "swapping identical files would change nothing");
    std::fs::write(a, y).expect("write a");
    std::fs::write(b, x).expect("write b");
}
