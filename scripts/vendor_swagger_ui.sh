#!/usr/bin/env bash
# Vendor Swagger UI for the offline /docs page: only the bundle and the stylesheet
# from the npm package swagger-ui-dist (Apache-2.0), gzip-compressed, plus its
# licence files. The binary embeds these; no CDN is ever contacted.
#
#   scripts/vendor_swagger_ui.sh [version]
set -euo pipefail
version=${1:-5.35.0}
out=$(cd "$(dirname "$0")/.." && pwd)/crates/atlas/data/swagger
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm install --silent --no-audit --no-fund "swagger-ui-dist@$version" >/dev/null)
src=$tmp/node_modules/swagger-ui-dist
mkdir -p "$out"
for f in swagger-ui-bundle.js swagger-ui.css; do
  gzip -9 -n -c "$src/$f" >"$out/$f.gz"
done
cp "$src/LICENSE" "$out/LICENSE"
cp "$src/NOTICE" "$out/NOTICE"
cp "$src/swagger-ui-bundle.js.LICENSE.txt" "$out/THIRD-PARTY-LICENSES.txt"
echo "$version" >"$out/VERSION"
ls -la "$out"
