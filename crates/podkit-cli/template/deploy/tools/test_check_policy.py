#!/usr/bin/env python3
"""Break-tests for check_policy.py: each rule must fail on a manifest broken on purpose.

    test_check_policy.py SOURCE=RENDERED.yaml...   (the arguments check_policy.py takes)

First every rendering must pass as it is. Then each break below is applied to a
copy of every rendering it fits (in memory, no re-render), and the check must
report a violation of the rule the break targets, and that rule's name must be
in the message. A break that fits no rendering fails too: it would prove nothing.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import replace
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import check_policy as policy  # noqa: E402

Docs = list[dict]


# ------------------------------------------------------------------ finders


def server(docs: Docs) -> tuple[dict, dict] | None:
    return next(policy.server_deployments(docs), None)


def kind(docs: Docs, wanted: str) -> list[dict]:
    return [d for d in docs if d.get("kind") == wanted]


def admin_services(docs: Docs) -> list[dict]:
    names = policy.admin_service_ports(docs)
    return [d for d in kind(docs, "Service") if d["metadata"]["name"] in names]


def server_policies(docs: Docs) -> list[dict]:
    found = server(docs)
    if not found:
        return []
    labels = policy.pod_labels(found[0])
    return [d for d in kind(docs, "NetworkPolicy") if policy.selects(d["spec"].get("podSelector"), labels)]


def config_map_of(docs: Docs) -> dict | None:
    found = server(docs)
    if not found:
        return None
    names = [s["configMapRef"]["name"] for s in found[1].get("envFrom") or [] if "configMapRef" in s]
    return next((d for d in kind(docs, "ConfigMap") if d["metadata"]["name"] in names), None)


def service_containers(docs: Docs) -> list[dict]:
    return [
        c
        for d in docs
        if (spec := policy.pod_spec(d)) is not None
        for c in policy.containers(spec)
        if policy.is_service_image(c.get("image", ""))
    ]


# ------------------------------------------------------------------ breaks
# Each takes the documents (a private copy) and returns False when it does not
# apply to this rendering (no HPA in dev, no PrometheusRule by default, ...).


def set_probe(probe: str, **http: object) -> Callable[[Docs], bool]:
    def apply(docs: Docs) -> bool:
        found = server(docs)
        if not found or probe not in found[1]:
            return False
        found[1][probe]["httpGet"].update(http)
        return True
    return apply


def grace_period(seconds: int) -> Callable[[Docs], bool]:
    def apply(docs: Docs) -> bool:
        found = server(docs)
        if not found:
            return False
        found[0]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = seconds
        return True
    return apply


def shutdown_timeout_40s(docs: Docs) -> bool:
    config_map = config_map_of(docs)
    if config_map is None:
        return False
    config_map["data"][f"{policy.ENV_PREFIX}_SHUTDOWN__TIMEOUT"] = "40s"
    return True


def security(change: Callable[[dict, dict], None]) -> Callable[[Docs], bool]:
    def apply(docs: Docs) -> bool:
        found = server(docs)
        if not found:
            return False
        change(found[0]["spec"]["template"]["spec"], found[1])
        return True
    return apply


def drop_all_removed(pod: dict, container: dict) -> None:
    container["securityContext"]["capabilities"]["drop"] = ["NET_RAW"]


def run_as_root_allowed(pod: dict, container: dict) -> None:
    pod["securityContext"]["runAsNonRoot"] = False
    container["securityContext"].pop("runAsNonRoot", None)


def seccomp_unconfined(pod: dict, container: dict) -> None:
    pod["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    container["securityContext"].pop("seccompProfile", None)


def ingress_to_admin(docs: Docs) -> bool:
    ingresses, admins = kind(docs, "Ingress"), admin_services(docs)
    if not ingresses or not admins:
        return False
    admin = admins[0]
    port = admin["spec"]["ports"][0]
    for backend in policy.ingress_backends(ingresses[0]):
        backend["service"] = {"name": admin["metadata"]["name"], "port": {"number": port["port"]}}
    return True


def admin_service_type(service_type: str) -> Callable[[Docs], bool]:
    def apply(docs: Docs) -> bool:
        admins = admin_services(docs)
        for admin in admins:
            admin["spec"]["type"] = service_type
        return bool(admins)
    return apply


def admin_node_port(docs: Docs) -> bool:
    admins = admin_services(docs)
    for admin in admins:
        admin["spec"]["type"] = "NodePort"
        admin["spec"]["ports"][0]["nodePort"] = 30081
    return bool(admins)


def admin_port_on_main_service(docs: Docs) -> bool:
    mains = [d for d in kind(docs, "Service") if any(p.get("targetPort") == "http" for p in d["spec"]["ports"])]
    if not mains:
        return False
    mains[0]["spec"]["ports"].append({"name": "admin", "port": 8081, "targetPort": "admin", "protocol": "TCP"})
    return True


def egress_without(port: int, protocol: str | None) -> Callable[[Docs], bool]:
    """Remove `port` (one protocol, or all) from every egress rule of the server's policies."""
    def apply(docs: Docs) -> bool:
        changed = False
        for netpol in server_policies(docs):
            for rule in netpol["spec"].get("egress") or []:
                ports = rule.get("ports") or []
                kept = [p for p in ports if not (p.get("port") == port and protocol in (None, p.get("protocol", "TCP")))]
                if len(kept) != len(ports):
                    changed = True
                    rule["ports"] = kept
            netpol["spec"]["egress"] = [r for r in netpol["spec"].get("egress") or [] if r.get("ports") != []]
        return changed
    return apply


def scrape_removed(docs: Docs) -> bool:
    changed = False
    for netpol in server_policies(docs):
        for rule in netpol["spec"].get("ingress") or []:
            peers = rule.get("from") or []
            kept = [p for p in peers if "namespaceSelector" not in p
                    or (p["namespaceSelector"].get("matchLabels") or {}).get("kubernetes.io/metadata.name") != policy.MONITORING_NAMESPACE]
            if len(kept) != len(peers):
                changed = True
                rule["from"] = kept
        netpol["spec"]["ingress"] = [r for r in netpol["spec"].get("ingress") or [] if r.get("from") != []]
    return changed


def overlay_tag_ignored(docs: Docs) -> bool:
    """A rename in the base that makes the overlays' tags match nothing."""
    containers = service_containers(docs)
    for container in containers:
        container["image"] = f"{policy.IMAGE_REPOSITORY}:1.0.0-from-the-base"
    return bool(containers)


def pull_always(docs: Docs) -> bool:
    containers = service_containers(docs)
    for container in containers:
        container["imagePullPolicy"] = "Always"
    return bool(containers)


def replicas_beside_hpa(docs: Docs) -> bool:
    found = server(docs)
    if not found or not kind(docs, "HorizontalPodAutoscaler"):
        return False
    found[0]["spec"]["replicas"] = 3
    return True


def hpa_on_memory(docs: Docs) -> bool:
    hpas = kind(docs, "HorizontalPodAutoscaler")
    for hpa in hpas:
        hpa["spec"]["metrics"].append({"type": "Resource", "resource": {
            "name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}})
    return bool(hpas)


def migrate_job_fixed_name(docs: Docs) -> bool:
    jobs = [j for j in kind(docs, "Job") if j["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "migrate"]
    for job in jobs:
        job["metadata"]["name"] = f"{policy.SERVICE}-migrate"
        (job["metadata"].get("annotations") or {}).pop("helm.sh/hook-delete-policy", None)
    return bool(jobs)


def prometheus_rule_drifted(docs: Docs) -> bool:
    rules = kind(docs, "PrometheusRule")
    for rule in rules:
        rule["spec"]["groups"][-1]["rules"].pop()
    return bool(rules)


# (rule, what the break does, the break). `source` breaks change what the
# overlay declares instead of what rendered.
BREAKS: list[tuple[str, str, Callable[[Docs], bool]]] = [
    ("liveness-process-only", "liveness -> /readyz", set_probe("livenessProbe", path="/readyz")),
    ("liveness-process-only", "liveness -> a dependency (/admin/db)", set_probe("livenessProbe", path="/admin/db")),
    ("probes-on-admin-port", "readiness on the API port (name http)", set_probe("readinessProbe", port="http")),
    ("probes-on-admin-port", "startup on the API port (number 8080)", set_probe("startupProbe", port=8080)),
    ("probes-on-admin-port", "liveness on the API port", set_probe("livenessProbe", port="http")),
    ("grace-period-budget", "terminationGracePeriodSeconds 10", grace_period(10)),
    ("grace-period-budget", "@@ENV@@_SHUTDOWN__TIMEOUT 40s, grace period unchanged", shutdown_timeout_40s),
    ("restricted-security-context", "allowPrivilegeEscalation: true",
     security(lambda p, c: c["securityContext"].update(allowPrivilegeEscalation=True))),
    ("restricted-security-context", "capabilities.drop without ALL", security(drop_all_removed)),
    ("restricted-security-context", "readOnlyRootFilesystem: false",
     security(lambda p, c: c["securityContext"].update(readOnlyRootFilesystem=False))),
    ("restricted-security-context", "runAsNonRoot: false", security(run_as_root_allowed)),
    ("restricted-security-context", "seccomp Unconfined", security(seccomp_unconfined)),
    ("restricted-security-context", "privileged: true",
     security(lambda p, c: c["securityContext"].update(privileged=True))),
    ("admin-port-internal", "Ingress -> admin port", ingress_to_admin),
    ("admin-port-internal", "admin Service as NodePort (with nodePort)", admin_node_port),
    ("admin-port-internal", "admin Service as LoadBalancer", admin_service_type("LoadBalancer")),
    ("admin-port-internal", "admin port back on the API Service", admin_port_on_main_service),
    ("network-policy", "DNS egress removed", egress_without(53, None)),
    ("network-policy", "DNS over TCP removed", egress_without(53, "TCP")),
@@if db@@
    ("network-policy", "database egress removed", egress_without(policy.DATABASE_PORT, None)),
@@end@@
    ("network-policy", "scrape from monitoring removed", scrape_removed),
    ("image-is-the-declared-image", "overlay image tag ignored", overlay_tag_ignored),
    ("image-is-the-declared-image", "imagePullPolicy Always", pull_always),
    ("hpa-owns-replicas", "replicas: 3 beside the HPA", replicas_beside_hpa),
    ("hpa-owns-replicas", "memory target on the HPA", hpa_on_memory),
@@if db@@
    ("migrate-job-per-release", "fixed Job name, no hook delete policy", migrate_job_fixed_name),
@@end@@
    ("prometheus-rule-in-sync", "a rule dropped from the PrometheusRule", prometheus_rule_drifted),
]


def main(argv: list[str]) -> int:
    pairs, _ = policy.parse_args(argv)
    version, hooks = policy.crate_version(), policy.shutdown_hook_count()
    renderings = [(source, rendered.name, policy.load_documents(rendered)) for source, rendered in pairs]
    failures: list[str] = []

    def run(docs: Docs, source: policy.Source) -> list[policy.Violation]:
        return policy.check(docs, source, version=version, hooks=hooks)

    for source, name, docs in renderings:
        for violation in run(docs, source):
            failures.append(f"unbroken {name} fails already: {violation}")
    if failures:
        print("\n".join(failures))
        return 1

    def expect(rule: str, what: str, violations: list[policy.Violation], name: str) -> bool:
        hits = [v for v in violations if v.rule == rule and f"[{rule}]" in str(v)]
        if not hits:
            failures.append(f"{rule}: '{what}' on {name} went unnoticed"
                            + (f" (only {sorted({v.rule for v in violations})})" if violations else ""))
        return bool(hits)

    for rule, what, brk in BREAKS:
        applied = caught = 0
        for source, name, docs in renderings:
            broken = copy.deepcopy(docs)
            if not brk(broken):
                continue
            applied += 1
            caught += expect(rule, what, run(broken, source), name)
        if not applied:
            failures.append(f"{rule}: '{what}' fits none of the renderings, so it proves nothing")
        print(f"{'ok  ' if applied and caught == applied else 'FAIL'} {rule}: {what} ({caught}/{applied} renderings)")

    # The overlay, not the rendering, changes: a tag other than the crate
    # version must be reported even when every container runs it.
    for source, name, docs in renderings[:1]:
        other = replace(source, image=f"{policy.IMAGE_REPOSITORY}:9.9.9")
        broken = copy.deepcopy(docs)
        for container in service_containers(broken):
            container["image"] = other.image
        violations = run(broken, other)
        ok = expect("image-tag-is-crate-version", "overlay declares 9.9.9", violations, name)
        print(f"{'ok  ' if ok else 'FAIL'} image-tag-is-crate-version: overlay declares 9.9.9 ({int(ok)}/1 renderings)")

    rules_tested = {rule for rule, _, _ in BREAKS} | {"image-tag-is-crate-version"}
    for rule in sorted(set(policy.RULES) - rules_tested):
        failures.append(f"{rule}: no break-test")
    for failure in failures:
        print(f"FAIL {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
