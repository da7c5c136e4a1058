#!/usr/bin/env node
// Bundles the dashboard into DIR/index.html, DIR/app.js, DIR/app.css (fixed names: the server
// embeds exactly these and serves them at `/` and `/ui/{file}`). No network, no source maps,
// callable from any working directory (the steward crate's build.rs runs it).
//
//   node build.mjs --outdir DIR

import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const i = argv.indexOf("--outdir");
  if (i === -1 || !argv[i + 1]) {
    throw new Error("usage: node build.mjs --outdir DIR");
  }
  const dir = argv[i + 1];
  // Relative to the caller's cwd, as any command-line path.
  return { outdir: isAbsolute(dir) ? dir : resolve(process.cwd(), dir) };
}

async function main() {
  const { outdir } = parseArgs(process.argv.slice(2));
  mkdirSync(outdir, { recursive: true });
  // A stale source map or chunk from an older build must not linger next to the bundle.
  for (const stale of ["app.js.map", "app.css.map"]) rmSync(join(outdir, stale), { force: true });

  const result = await build({
    absWorkingDir: here,
    entryPoints: { app: join(here, "src/main.tsx") },
    bundle: true,
    minify: true,
    sourcemap: false,
    format: "esm",
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    jsx: "automatic",
    jsxImportSource: "preact",
    outdir,
    entryNames: "[name]",
    // The CSS imported by main.tsx becomes app.css next to app.js.
    loader: { ".css": "css" },
    define: { "process.env.NODE_ENV": '"production"' },
    legalComments: "none",
    logLevel: "warning",
    metafile: true,
  });
  if (result.errors.length > 0) throw new Error("esbuild reported errors");

  copyFileSync(join(here, "src/index.html"), join(outdir, "index.html"));

  let rawTotal = 0;
  let gzipTotal = 0;
  for (const name of ["index.html", "app.js", "app.css"]) {
    const bytes = readFileSync(join(outdir, name));
    const gz = gzipSync(bytes, { level: 9 }).length;
    rawTotal += bytes.length;
    gzipTotal += gz;
    process.stderr.write(`${name.padEnd(11)} ${kb(bytes.length).padStart(10)} raw ${kb(gz).padStart(10)} gzip\n`);
  }
  process.stderr.write(`${"total".padEnd(11)} ${kb(rawTotal).padStart(10)} raw ${kb(gzipTotal).padStart(10)} gzip\n`);
}

function kb(n) {
  return `${(n / 1024).toFixed(1)} KB`;
}

main().catch((err) => {
  process.stderr.write(`build.mjs: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
