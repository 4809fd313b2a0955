#!/usr/bin/env python3
"""Policy checks over rendered manifests: do they mean what the kit promises?

    check_policy.py [--skip RULE]... SOURCE=RENDERED.yaml...

SOURCE says where the rendering came from, so the expected image is known:
`kustomize:DIR` (a kustomization directory) or `helm:VALUES.yaml[,KEY=VALUE...]`
(values.yaml of the chart next to it, then this file, then the overrides, as
`helm template -f VALUES --set KEY=VALUE` would). Exit 1 with one line per
violation, each naming its rule. The rules, each with a break-test in
test_check_policy.py:

  image-is-the-declared-image  every @@name@@ container runs the image the overlay
                               or values file declares (repository:tag), pulled
                               IfNotPresent
  image-tag-is-crate-version   that tag is the crate version in Cargo.toml
                               (what `make container` tags)
  liveness-process-only        liveness is an httpGet on a process-only endpoint
                               (/livez, /healthz), never the readiness path or a
                               dependency
  probes-on-admin-port         every probe of the server hits ADMIN_PORT
  grace-period-budget          terminationGracePeriodSeconds >= drain delay +
                               shutdown timeout + hooks x hook timeout + OTLP
                               flush + margin, from the rendered environment
  restricted-security-context  runAsNonRoot, no privilege escalation, drop ALL,
                               read-only root, seccomp RuntimeDefault, for every
                               container of every workload
  admin-port-internal          the admin port only on a ClusterIP Service of its
                               own (no nodePort), never an Ingress backend
  network-policy               the server's NetworkPolicy allows DNS (53 UDP and
                               TCP), database egress (with a database) and
                               scrapes from the monitoring namespace to the
                               admin port
  hpa-owns-replicas            no `replicas` on a Deployment an HPA scales, and
                               no memory target on that HPA
@@if db@@
  migrate-job-per-release      the migrate Job is named after the release's tag
                               or replaced by Helm (before-hook-creation)
@@end@@
  prometheus-rule-in-sync      a PrometheusRule carries exactly the groups of
                               deploy/prometheus/rules/@@name@@.rules.yaml

The numbers come from the code, not from here: podkit's config/server.rs
(shutdown defaults), its telemetry/otel/export.rs (SHUTDOWN_BUDGET) and the
shutdown hooks src/ registers (counted).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES_FILE = ROOT / "deploy/prometheus/rules/@@name@@.rules.yaml"
SERVICE = "@@name@@"
ENV_PREFIX = "@@ENV@@"
IMAGE_REPOSITORY = f"ghcr.io/example/{SERVICE}"

# docs/contract.md: process-only endpoints on the admin port. /readyz includes
# the dependencies; /startupz waits for start-up work.
LIVENESS_PATHS = {"/livez", "/healthz"}
READINESS_PATH = "/readyz"
ADMIN_PORT_DEFAULT = 8081
# podkit's ShutdownConfig::default() (src/config/server.rs).
SHUTDOWN_DEFAULTS = {"drain_delay": 5.0, "timeout": 25.0, "hook_timeout": 5.0}
# podkit's SHUTDOWN_BUDGET (src/telemetry/otel/export.rs).
OTLP_FLUSH_SECONDS = 3.0
# Room for the kubelet's SIGTERM delivery, stopping the admin listener and
# exiting; below this a busy node turns a clean stop into SIGKILL.
GRACE_MARGIN_SECONDS = 5.0
KUBERNETES_DEFAULT_GRACE = 30
MONITORING_NAMESPACE = "monitoring"
DATABASE_PORT = 5432

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"}

RULES = (
    "image-is-the-declared-image",
    "image-tag-is-crate-version",
    "liveness-process-only",
    "probes-on-admin-port",
    "grace-period-budget",
    "restricted-security-context",
    "admin-port-internal",
    "network-policy",
    "hpa-owns-replicas",
@@if db@@
    "migrate-job-per-release",
@@end@@
    "prometheus-rule-in-sync",
)


@dataclass(frozen=True)
class Violation:
    rule: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.where}: {self.message}"


@dataclass
class Source:
    """Where a rendering came from, and so which image it must run."""

    spec: str
    image: str  # repository:tag

    @property
    def tag(self) -> str:
        return self.image.rpartition(":")[2] if ":" in self.image else ""


# ------------------------------------------------------------------ sources


def load_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def crate_version(cargo_toml: Path = ROOT / "Cargo.toml") -> str:
    """The crate version: the first `version = "..."` of [package]."""
    text = cargo_toml.read_text(encoding="utf-8")
    section = text.split("[package]", 1)[-1]
    match = re.search(r'^version\s*=\s*"([^"]+)"', section, re.M)
    if not match:
        raise SystemExit(f"{cargo_toml}: no [package] version")
    return match.group(1)


def shutdown_hook_count(src: Path = ROOT / "src") -> int:
    """Shutdown hooks @@name@@ registers; they run one after another, each within
    hook_timeout. Counted from the source so a new hook raises the budget."""
    count = 0
    for path in src.rglob("*.rs") if src.is_dir() else ():
        count += len(re.findall(r"\.on_shutdown\(", path.read_text(encoding="utf-8")))
    return max(count, 1)


def kustomize_image(directory: Path) -> str:
    """The @@name@@ image a kustomization declares: its own `images:` entry for
    the repository, else (the base) what its Deployment names."""
    kustomization = load_yaml(directory / "kustomization.yaml") or {}
    for entry in kustomization.get("images") or []:
        # By name or by newName: an entry renaming some other name to the
        # repository declares an image as much as one retagging it does.
        if IMAGE_REPOSITORY in (entry.get("name"), entry.get("newName")):
            repository = entry.get("newName", entry["name"])
            return f"{repository}:{entry.get('newTag', '')}"
    for resource in kustomization.get("resources") or []:
        target = directory / resource
        if target.is_dir():
            return kustomize_image(target)
        if target.name == "deployment.yaml":
            deployment = load_yaml(target)
            return deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    raise SystemExit(f"{directory}: declares no {IMAGE_REPOSITORY} image")


def helm_image(values_file: Path, overrides: list[str]) -> str:
    chart = values_file.parent
    values = load_yaml(chart / "values.yaml")
    if values_file.name != "values.yaml":
        extra = load_yaml(values_file) or {}
        values["image"] = {**values["image"], **(extra.get("image") or {})}
    for override in overrides:
        key, _, value = override.partition("=")
        if key.startswith("image."):
            values["image"][key.split(".", 1)[1]] = value
    tag = values["image"].get("tag") or str(load_yaml(chart / "Chart.yaml")["appVersion"])
    return f"{values['image']['repository']}:{tag}"


def parse_source(spec: str) -> Source:
    kind, _, rest = spec.partition(":")
    if kind == "kustomize":
        return Source(spec, kustomize_image(Path(rest)))
    if kind == "helm":
        values, *overrides = rest.split(",")
        return Source(spec, helm_image(Path(values), overrides))
    raise SystemExit(f"unknown source {spec!r}: expected kustomize:DIR or helm:VALUES.yaml[,K=V...]")


# ------------------------------------------------------------------ helpers


def load_documents(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def name_of(doc: dict) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def pod_spec(doc: dict) -> dict | None:
    kind = doc.get("kind")
    if kind == "Pod":
        return doc.get("spec")
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if kind in WORKLOAD_KINDS:
        return doc["spec"]["template"]["spec"]
    return None


def pod_labels(doc: dict) -> dict:
    if doc.get("kind") == "Pod":
        return doc.get("metadata", {}).get("labels") or {}
    return doc["spec"]["template"].get("metadata", {}).get("labels") or {}


def containers(spec: dict) -> Iterator[dict]:
    yield from spec.get("initContainers") or []
    yield from spec.get("containers") or []


def is_service_image(image: str) -> bool:
    return image.rsplit(":", 1)[0].split("@")[0] == IMAGE_REPOSITORY


def server_deployments(docs: list[dict]) -> Iterator[tuple[dict, dict]]:
    """(Deployment, its @@name@@ container) for each @@name@@ server."""
    for doc in docs:
        if doc.get("kind") != "Deployment":
            continue
        for container in doc["spec"]["template"]["spec"].get("containers") or []:
            if container.get("name") == SERVICE:
                yield doc, container


def environment(docs: list[dict], container: dict) -> dict[str, str]:
    """The container's environment as the kubelet builds it: envFrom ConfigMaps
    in order, then env (Secrets are not read: nothing here is secret)."""
    config_maps = {d["metadata"]["name"]: d.get("data") or {} for d in docs if d.get("kind") == "ConfigMap"}
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        ref = source.get("configMapRef")
        if ref:
            env.update({k: str(v) for k, v in config_maps.get(ref["name"], {}).items()})
    for entry in container.get("env") or []:
        if "value" in entry:
            env[entry["name"]] = str(entry["value"])
    return env


DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(text: str) -> float:
    """`5s`, `500ms`, `1m30s` (the forms podkit's duration parser documents)."""
    text = text.strip()
    parts = DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        raise ValueError(f"cannot read duration {text!r}")
    return sum(float(n) * UNIT_SECONDS[u] for n, u in parts)


def container_port(container: dict, port: Any) -> int | None:
    if isinstance(port, int):
        return port
    for entry in container.get("ports") or []:
        if entry.get("name") == port:
            return int(entry["containerPort"])
    return int(port) if str(port).isdigit() else None


def admin_port(env: dict[str, str]) -> int:
    return int(env.get("ADMIN_PORT", ADMIN_PORT_DEFAULT))


def selects(selector: dict | None, labels: dict) -> bool:
    match = (selector or {}).get("matchLabels") or {}
    return all(labels.get(k) == v for k, v in match.items())


# ------------------------------------------------------------------ rules


def check_image(docs: list[dict], source: Source) -> Iterator[Violation]:
    seen = 0
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        for container in containers(spec):
            if not is_service_image(container.get("image", "")):
                continue
            seen += 1
            where = f"{name_of(doc)}/{container['name']}"
            if container["image"] != source.image:
                yield Violation("image-is-the-declared-image", where,
                                f"runs {container['image']}, but {source.spec} declares {source.image}")
            if container.get("imagePullPolicy") != "IfNotPresent":
                yield Violation("image-is-the-declared-image", where,
                                f"imagePullPolicy {container.get('imagePullPolicy')!r}, expected IfNotPresent")
    if not seen:
        yield Violation("image-is-the-declared-image", source.spec, f"no container runs {IMAGE_REPOSITORY}")


def check_crate_version(source: Source, version: str) -> Iterator[Violation]:
    if source.tag != version:
        yield Violation("image-tag-is-crate-version", source.spec,
                        f"declares tag {source.tag!r}; the crate version (Cargo.toml) is {version!r}, "
                        f"which `make container` tags")


def check_liveness(docs: list[dict]) -> Iterator[Violation]:
    for doc, container in server_deployments(docs):
        where = f"{name_of(doc)}/{container['name']}"
        probe = container.get("livenessProbe")
        if probe is None:
            yield Violation("liveness-process-only", where, "no livenessProbe: a wedged process is never restarted")
            continue
        path = (probe.get("httpGet") or {}).get("path")
        readiness = ((container.get("readinessProbe") or {}).get("httpGet") or {}).get("path")
        if path is None:
            yield Violation("liveness-process-only", where,
                            f"liveness is not an httpGet on {sorted(LIVENESS_PATHS)}")
        elif path in (READINESS_PATH, readiness):
            yield Violation("liveness-process-only", where,
                            f"liveness on the readiness path {path}: a database outage would restart every pod")
        elif path not in LIVENESS_PATHS:
            yield Violation("liveness-process-only", where,
                            f"liveness on {path}, not a process-only endpoint {sorted(LIVENESS_PATHS)}: "
                            "it may depend on something outside the process")


def check_probe_ports(docs: list[dict]) -> Iterator[Violation]:
    for doc, container in server_deployments(docs):
        want = admin_port(environment(docs, container))
        for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = container.get(kind)
            if probe is None:
                continue
            where = f"{name_of(doc)}/{container['name']}.{kind}"
            http = probe.get("httpGet")
            if http is None:
                yield Violation("probes-on-admin-port", where, "not an httpGet on the admin port")
                continue
            port = container_port(container, http.get("port"))
            if port != want:
                yield Violation("probes-on-admin-port", where,
                                f"probes port {http.get('port')!r} ({port}), not the admin port {want}: "
                                "API load or the request timeout could fail it")


def check_grace_period(docs: list[dict], hooks: int) -> Iterator[Violation]:
    for doc, container in server_deployments(docs):
        env = environment(docs, container)
        where = name_of(doc)
        budget = {}
        for key, default in SHUTDOWN_DEFAULTS.items():
            raw = env.get(f"{ENV_PREFIX}_SHUTDOWN__{key.upper()}")
            try:
                budget[key] = seconds(raw) if raw is not None else default
            except ValueError as error:
                yield Violation("grace-period-budget", where, str(error))
                budget[key] = default
        need = (budget["drain_delay"] + budget["timeout"] + hooks * budget["hook_timeout"]
                + OTLP_FLUSH_SECONDS + GRACE_MARGIN_SECONDS)
        grace = doc["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", KUBERNETES_DEFAULT_GRACE)
        if grace < need:
            yield Violation("grace-period-budget", where,
                            f"terminationGracePeriodSeconds {grace} < {need:g}: drain delay {budget['drain_delay']:g}s"
                            f" + timeout {budget['timeout']:g}s + {hooks} hook(s) x {budget['hook_timeout']:g}s"
                            f" + OTLP flush {OTLP_FLUSH_SECONDS:g}s + margin {GRACE_MARGIN_SECONDS:g}s")


def check_security_context(docs: list[dict]) -> Iterator[Violation]:
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        pod = spec.get("securityContext") or {}
        for container in containers(spec):
            ctx = container.get("securityContext") or {}
            where = f"{name_of(doc)}/{container['name']}"

            def bad(message: str) -> Violation:
                return Violation("restricted-security-context", where, message)

            if ctx.get("runAsNonRoot", pod.get("runAsNonRoot")) is not True:
                yield bad("runAsNonRoot is not true")
            if ctx.get("runAsUser", pod.get("runAsUser")) == 0:
                yield bad("runs as uid 0")
            if ctx.get("privileged"):
                yield bad("privileged")
            if ctx.get("allowPrivilegeEscalation") is not False:
                yield bad("allowPrivilegeEscalation is not false")
            capabilities = ctx.get("capabilities") or {}
            if "ALL" not in (capabilities.get("drop") or []):
                yield bad("capabilities.drop does not include ALL")
            if set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}:
                yield bad(f"adds capabilities {capabilities['add']}")
            if ctx.get("readOnlyRootFilesystem") is not True:
                yield bad("readOnlyRootFilesystem is not true")
            seccomp = (ctx.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
            if seccomp not in ("RuntimeDefault", "Localhost"):
                yield bad(f"seccompProfile {seccomp!r}, expected RuntimeDefault")


def admin_service_ports(docs: list[dict]) -> dict[str, set]:
    """Service name -> its ports (by name and number) that lead to the admin port."""
    admin_ports = {admin_port(environment(docs, c)) for _, c in server_deployments(docs)} or {ADMIN_PORT_DEFAULT}
    result: dict[str, set] = {}
    for doc in docs:
        if doc.get("kind") != "Service":
            continue
        for port in doc["spec"].get("ports") or []:
            target = port.get("targetPort", port.get("port"))
            if target == "admin" or target in admin_ports:
                result.setdefault(doc["metadata"]["name"], set()).update({port.get("name"), port["port"]})
    return result


def check_admin_port(docs: list[dict]) -> Iterator[Violation]:
    exposed = admin_service_ports(docs)
    for doc in docs:
        kind = doc.get("kind")
        if kind == "Service" and doc["metadata"]["name"] in exposed:
            where = name_of(doc)
            spec = doc["spec"]
            if spec.get("type", "ClusterIP") != "ClusterIP":
                yield Violation("admin-port-internal", where,
                                f"serves the admin port as type {spec['type']}: /metrics and /admin/* leave the cluster")
            for port in spec.get("ports") or []:
                if port.get("nodePort"):
                    yield Violation("admin-port-internal", where, f"port {port.get('name')} has nodePort {port['nodePort']}")
            others = [p.get("name") or p["port"] for p in spec.get("ports") or []
                      if p.get("name") not in exposed[doc["metadata"]["name"]]
                      and p["port"] not in exposed[doc["metadata"]["name"]]]
            if others:
                yield Violation("admin-port-internal", where,
                                f"shares the admin port with {others}: exposing the API would expose admin too")
        if kind == "Ingress":
            for backend in ingress_backends(doc):
                service = backend.get("service") or {}
                ports = exposed.get(service.get("name"), set())
                port = service.get("port") or {}
                if port.get("name") in ports or port.get("number") in ports:
                    yield Violation("admin-port-internal", name_of(doc),
                                    f"routes to the admin port ({service['name']}:{port.get('name') or port.get('number')})")


def ingress_backends(doc: dict) -> Iterator[dict]:
    spec = doc.get("spec") or {}
    if spec.get("defaultBackend"):
        yield spec["defaultBackend"]
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            yield path.get("backend") or {}


def rule_allows(rule: dict, port: int, protocol: str, names: Iterable[str] = ()) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        value = entry.get("port")
        if value is None or value == port or value in names:
            return True
        end = entry.get("endPort")
        if isinstance(value, int) and end and value <= port <= end:
            return True
    return False


def check_network_policy(docs: list[dict]) -> Iterator[Violation]:
    for deployment, container in server_deployments(docs):
        labels = pod_labels(deployment)
        policies = [d for d in docs if d.get("kind") == "NetworkPolicy" and selects(d["spec"].get("podSelector"), labels)]
        where = name_of(deployment)
        if not policies:
            yield Violation("network-policy", where, "no NetworkPolicy selects the server pods")
            continue
        egress = [r for p in policies if "Egress" in (p["spec"].get("policyTypes") or []) for r in p["spec"].get("egress") or []]
        restricted = any("Egress" in (p["spec"].get("policyTypes") or []) for p in policies)
        if restricted:
            for protocol in ("UDP", "TCP"):
                if not any(rule_allows(r, 53, protocol) for r in egress):
                    yield Violation("network-policy", where, f"no egress to DNS (53/{protocol}): every lookup fails")
@@if db@@
            if not any(rule_allows(r, DATABASE_PORT, "TCP") for r in egress):
                yield Violation("network-policy", where, f"no egress to the database ({DATABASE_PORT}/TCP)")
@@end@@
        admin = admin_port(environment(docs, container))
        names = [p["name"] for p in container.get("ports") or [] if p.get("containerPort") == admin and p.get("name")]
        ingress = [r for p in policies if "Ingress" in (p["spec"].get("policyTypes") or []) for r in p["spec"].get("ingress") or []]
        scrape = [
            r for r in ingress
            if rule_allows(r, admin, "TCP", names)
            and any(((peer.get("namespaceSelector") or {}).get("matchLabels") or {}).get("kubernetes.io/metadata.name")
                    == MONITORING_NAMESPACE for peer in r.get("from") or [])
        ]
        if not scrape:
            yield Violation("network-policy", where,
                            f"no ingress from namespace {MONITORING_NAMESPACE!r} to the admin port {admin}: nothing can scrape /metrics")


def check_hpa(docs: list[dict]) -> Iterator[Violation]:
    for hpa in (d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"):
        target = hpa["spec"]["scaleTargetRef"]
        for doc in docs:
            if doc.get("kind") == target["kind"] and doc["metadata"]["name"] == target["name"] and "replicas" in doc["spec"]:
                yield Violation("hpa-owns-replicas", name_of(doc),
                                f"sets replicas: {doc['spec']['replicas']} although {name_of(hpa)} owns the count; "
                                "every apply would cut the autoscaled count back")
        for metric in hpa["spec"].get("metrics") or []:
            if metric.get("type") == "Resource" and metric["resource"]["name"] == "memory":
                yield Violation("hpa-owns-replicas", name_of(hpa),
                                "scales on memory: RSS does not fall after a scale-up, so it sits at maxReplicas")


def check_migrate_job(docs: list[dict], source: Source) -> Iterator[Violation]:
    for doc in docs:
        if doc.get("kind") != "Job" or (doc["metadata"].get("labels") or {}).get("app.kubernetes.io/component") != "migrate":
            continue
        annotations = doc["metadata"].get("annotations") or {}
        replaced = "before-hook-creation" in annotations.get("helm.sh/hook-delete-policy", "")
        if not (replaced or doc["metadata"]["name"].endswith(f"-{source.tag}")):
            yield Violation("migrate-job-per-release", name_of(doc),
                            f"is neither named after the release (…-{source.tag}) nor a Helm hook deleted "
                            "before-hook-creation: the next release's apply hits the immutable old Job")


def check_prometheus_rule(docs: list[dict]) -> Iterator[Violation]:
    for doc in docs:
        if doc.get("kind") != "PrometheusRule":
            continue
        expected = load_yaml(RULES_FILE)["groups"]
        if doc["spec"].get("groups") != expected:
            yield Violation("prometheus-rule-in-sync", name_of(doc),
                            f"groups differ from {RULES_FILE.relative_to(ROOT)}, which promtool tests")


def check(docs: list[dict], source: Source, *, version: str, hooks: int,
          skip: Iterable[str] = ()) -> list[Violation]:
    found: list[Violation] = []
    found += check_image(docs, source)
    found += check_crate_version(source, version)
    found += check_liveness(docs)
    found += check_probe_ports(docs)
    found += check_grace_period(docs, hooks)
    found += check_security_context(docs)
    found += check_admin_port(docs)
    found += check_network_policy(docs)
    found += check_hpa(docs)
    found += check_migrate_job(docs, source)
    found += check_prometheus_rule(docs)
    if not any(True for _ in server_deployments(docs)):
        found.append(Violation("image-is-the-declared-image", source.spec, f"no Deployment with a `{SERVICE}` container"))
    return [v for v in found if v.rule not in set(skip)]


def parse_args(argv: list[str]) -> tuple[list[tuple[Source, Path]], list[str]]:
    skip: list[str] = []
    pairs: list[tuple[Source, Path]] = []
    args = iter(argv)
    for arg in args:
        if arg == "--skip":
            rule = next(args)
            if rule not in RULES:
                raise SystemExit(f"--skip {rule}: unknown rule; rules: {', '.join(RULES)}")
            skip.append(rule)
        elif "=" in arg:
            spec, _, rendered = arg.rpartition("=")
            pairs.append((parse_source(spec), Path(rendered)))
        else:
            raise SystemExit(__doc__)
    if not pairs:
        raise SystemExit(__doc__)
    return pairs, skip


def main(argv: list[str]) -> int:
    pairs, skip = parse_args(argv)
    version, hooks = crate_version(), shutdown_hook_count()
    failed = 0
    for source, rendered in pairs:
        violations = check(load_documents(rendered), source, version=version, hooks=hooks, skip=skip)
        for violation in violations:
            print(f"{rendered.name}: {violation}")
        if not violations:
            print(f"{rendered.name}: {len(RULES) - len(skip)} rules hold ({source.image})")
        failed += bool(violations)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
