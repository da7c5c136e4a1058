//! Builds the dashboard (ui/, with Node.js: `npm ci` once, then esbuild through ui/build.mjs)
//! into OUT_DIR and generates the table of embedded files, each with a gzip copy and an ETag.
//!
//! `STEWARD_WEB_DIST=DIR` embeds an already built bundle instead (index.html, app.js, app.css),
//! for machines that build Steward without Node.js.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};

const FILES: [(&str, &str); 3] = [
    ("index.html", "text/html; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("app.css", "text/css; charset=utf-8"),
];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let ui = manifest.join("ui");
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    println!("cargo:rerun-if-env-changed=STEWARD_WEB_DIST");
    for watched in [
        "src",
        "build.mjs",
        "package.json",
        "package-lock.json",
        "tsconfig.json",
    ] {
        println!("cargo:rerun-if-changed={}", ui.join(watched).display());
    }
    let dist = match env::var_os("STEWARD_WEB_DIST") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let dist = out.join("ui");
            build_bundle(&ui, &dist);
            dist
        }
    };
    embed(&dist, &out);
}

fn build_bundle(ui: &Path, dist: &Path) {
    if needs_install(ui) {
        run(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(ui),
            "npm ci (installs the dashboard's pinned packages into crates/web/ui/node_modules)",
        );
    }
    run(
        Command::new("node")
            .arg(ui.join("build.mjs"))
            .arg("--outdir")
            .arg(dist)
            .current_dir(ui),
        "node build.mjs (bundles the dashboard)",
    );
}

/// `npm ci` is needed when node_modules is missing or older than the lock file.
fn needs_install(ui: &Path) -> bool {
    let modified = |p: PathBuf| fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        modified(ui.join("node_modules/.package-lock.json")),
        modified(ui.join("package-lock.json")),
    ) {
        (Some(installed), Some(lock)) => installed < lock,
        _ => true,
    }
}

fn run(cmd: &mut Command, what: &str) {
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("building Steward's dashboard: {what} failed ({s})"),
        Err(e) => panic!(
            "building Steward's dashboard: could not start {what}: {e}.\n\
             The dashboard is built with Node.js 20+ and npm (Debian: apt-get install nodejs npm).\n\
             To build without Node.js, set STEWARD_WEB_DIST to a directory holding a built bundle."
        ),
    }
}

fn embed(dist: &Path, out: &Path) {
    let mut table = String::from("pub static FILES: &[Asset] = &[\n");
    for (name, content_type) in FILES {
        let path = dist.join(name);
        let bytes =
            fs::read(&path).unwrap_or_else(|e| panic!("the dashboard bundle lacks {}: {e}", path.display()));
        let gz_path = out.join(format!("{name}.gz"));
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&bytes).expect("in memory");
        fs::write(&gz_path, gz.finish().expect("in memory")).expect("OUT_DIR is writable");
        let etag = hex::encode(&Sha256::digest(&bytes)[..12]);
        let copy = out.join(name);
        if copy != path {
            fs::write(&copy, &bytes).expect("OUT_DIR is writable");
        }
        table.push_str(&format!(
            "    Asset {{ name: {name:?}, content_type: {content_type:?}, etag: \"\\\"{etag}\\\"\", \
             bytes: include_bytes!({copy:?}), gzip: include_bytes!({gz_path:?}) }},\n"
        ));
    }
    table.push_str("];\n");
    fs::write(out.join("assets.rs"), table).expect("OUT_DIR is writable");
}
