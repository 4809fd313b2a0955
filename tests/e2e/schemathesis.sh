#!/usr/bin/env bash
# Property-based checks of the live API against its own OpenAPI document.
#
# Run with:
#   tests/e2e/schemathesis.sh                          # SQLite in a fresh temp dir
#   ATLAS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
#     tests/e2e/schemathesis.sh                        # ... and a throwaway PostgreSQL DB
#
# For each backend it starts atlas (loopback, port 0, fresh database), runs
# spec_checks.py (OpenAPI lint + edge-case probes), then schemathesis with the checks
# that together mean "no 5xx and nothing the document does not promise":
# not_a_server_error, status_code_conformance, content_type_conformance,
# response_schema_conformance, response_headers_conformance. Phases: examples,
# coverage, fuzzing and stateful (POST/PUT/DELETE included: the database is a
# throwaway). Then atlas must stop cleanly on SIGTERM and have logged no ERROR line.
#
# Environment (all optional):
#   ATLAS_TEST_DATABASE_URL  PostgreSQL server URL; a database is created there and
#                            dropped afterwards (scripts/pg-test-cluster exports one)
#   DATABASE_URL             run against this database instead of SQLite (it is
#                            written to and not cleaned; the probes expect seed data)
#   ATLAS_BIN                atlas binary (default: cargo build -p atlas)
#   ATLAS_E2E_SEED           schemathesis seed (default 20261125)
#   ATLAS_E2E_MAX_EXAMPLES   test cases per operation and phase (default 100)
#   ATLAS_E2E_TIMEOUT        wall-clock cap in seconds on schemathesis, shared by the
#                            backends (default 170; a run takes 20-30 s per backend)
#   ATLAS_E2E_REPORT_DIR     keep JUnit XML, a HAR of every request and atlas's log there
#   ATLAS_E2E_ALLOW_ERROR_LOGS=1  report atlas's ERROR log lines (background task
#                            failures a response cannot show) without failing
set -euo pipefail
source "$(dirname "$0")/lib.sh"
trap e2e_cleanup EXIT

seed=${ATLAS_E2E_SEED:-20261125}
max_examples=${ATLAS_E2E_MAX_EXAMPLES:-100}
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance

e2e_tmp
e2e_venv
e2e_atlas_bin
budget_end=$((SECONDS + ${ATLAS_E2E_TIMEOUT:-170}))

backends=()
if [[ -n ${DATABASE_URL:-} ]]; then backends+=(given); else backends+=(sqlite); fi
[[ -n ${ATLAS_TEST_DATABASE_URL:-} ]] && backends+=(postgres)

summary=()
failed=0
left=${#backends[@]}
for backend in "${backends[@]}"; do
  e2e_log "== $backend"
  start=$SECONDS
  cap=$(((budget_end - SECONDS) / left))
  ((cap >= 30)) || cap=30
  left=$((left - 1))
  dir=$E2E_TMP/$backend
  mkdir -p "$dir"
  case $backend in
    sqlite) e2e_start_atlas "$dir" ;;
    given) e2e_start_atlas "$dir" DATABASE_URL="$DATABASE_URL" ;;
    postgres)
      e2e_pg_create "$ATLAS_TEST_DATABASE_URL"
      e2e_start_atlas "$dir" DATABASE_URL="$E2E_PG_URL"
      ;;
  esac

  problems=()
  "$E2E_PY" "$E2E_DIR/spec_checks.py" "$ATLAS_API" || problems+=("spec_checks")

  reports=()
  if [[ -n ${ATLAS_E2E_REPORT_DIR:-} ]]; then
    mkdir -p "$ATLAS_E2E_REPORT_DIR"
    reports=(--report junit,har --report-dir "$ATLAS_E2E_REPORT_DIR"
      --report-junit-path "$ATLAS_E2E_REPORT_DIR/schemathesis-$backend.xml"
      --report-har-path "$ATLAS_E2E_REPORT_DIR/schemathesis-$backend.har.json")
  fi
  # One worker: with the seed, the same requests in the same order every run (and
  # schemathesis 4.32 hits internal KeyErrors in its coverage phase with 4 workers).
  # cwd is the scratch dir so nothing (a .hypothesis dir, reports) lands in the repo.
  st_status=0
  (cd "$dir" && timeout -k 10 "$cap" "$E2E_VENV/bin/st" run "$ATLAS_API/openapi.json" \
    --checks "$checks" \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$max_examples" --seed "$seed" --workers 1 \
    --generation-database none --suppress-health-check too_slow \
    --request-timeout 15 --no-color "${reports[@]}") >"$dir/st.out" 2>&1 || st_status=$?
  if ((st_status != 0)); then
    # Failures with their curl reproducers; lines cut, as internal errors dump whole sources.
    out=$(sed -n '/== \(FAILURES\|ERRORS\) ==/,$p' "$dir/st.out")
    [[ -n $out ]] || out=$(tail -n 60 "$dir/st.out")
    printf '%s\n' "$out" | cut -c1-400 | head -n 300 >&2
    if ((st_status == 124 || st_status == 137)); then
      problems+=("schemathesis hit the ${cap} s cap")
    else
      problems+=("schemathesis exit $st_status")
    fi
  else
    # Only the verdict: the per-phase table is in the report when one was asked for.
    sed -n '/== SUMMARY ==/,$p' "$dir/st.out" | grep -v '^\s*$' >&2
  fi
  cases=$(grep -oE '[0-9]+ generated' "$dir/st.out" | tail -1 | cut -d' ' -f1 || true)

  stop_status=0
  e2e_stop_atlas || stop_status=$?
  ((stop_status == 0)) || problems+=("atlas exited $stop_status on SIGTERM")
  errors=$(e2e_atlas_errors "$dir")
  if [[ -n $errors ]]; then
    printf '%s\n' "$errors" | cut -c1-600 | head -n 20 >&2
    n=$(printf '%s\n' "$errors" | wc -l)
    if [[ ${ATLAS_E2E_ALLOW_ERROR_LOGS:-} == 1 ]]; then
      e2e_log "warning: atlas logged $n ERROR line(s) (ATLAS_E2E_ALLOW_ERROR_LOGS=1)"
    else
      problems+=("atlas logged $n ERROR line(s)")
    fi
  fi
  [[ $backend == postgres ]] && e2e_pg_drop
  [[ -n ${ATLAS_E2E_REPORT_DIR:-} ]] && cp "$dir/atlas.log" "$ATLAS_E2E_REPORT_DIR/atlas-$backend.log"

  if ((${#problems[@]})); then
    failed=1
    printf -v why '%s, ' "${problems[@]}"
    summary+=("$backend FAIL (${cases:-?} cases, $((SECONDS - start)) s: ${why%, })")
  else
    summary+=("$backend ok (${cases:-?} cases, $((SECONDS - start)) s)")
  fi
done

verdict=PASS
((failed)) && verdict=FAIL
printf -v joined '%s; ' "${summary[@]}"
echo "e2e schemathesis: $verdict (seed $seed, max examples $max_examples): ${joined%; }"
exit "$failed"
