"""Static checks of atlas's OpenAPI document, then edge-case probes of the live API.

Run with (schemathesis.sh does this against each backend):

    python3 tests/e2e/spec_checks.py http://127.0.0.1:PORT

The lint fails on contract bugs that schemathesis does not report: a parameter in the
wrong place (a query parameter documented `in: path` is never sent, so it is never
tested), duplicate operationIds (Swagger UI deep links and client generators break),
an error response that is not `application/problem+json`.

The probes are requests a fuzzer reaches only by luck (NUL bytes, invalid UTF-8,
nesting bombs, preconditions). Each must get its expected status, a status the
document lists for the operation, and for errors an RFC 9457 body whose `status`
matches. They run first, on the freshly seeded database: they expect PT and EUR.
Standard library only.
"""

import json
import re
import sys
import urllib.error
import urllib.request

PROBLEM = "application/problem+json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def lint(doc):
    """Contract bugs in the document, as messages; empty when clean."""
    errors, op_ids = [], {}
    declared_tags = {t["name"] for t in doc.get("tags", [])}
    for path, item in doc["paths"].items():
        template = set(re.findall(r"\{([^}]+)\}", path))
        for method, op in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            params = op.get("parameters", []) + item.get("parameters", [])
            in_path = {p["name"] for p in params if p["in"] == "path"}
            for name in sorted(in_path - template):
                errors.append(f"{where}: parameter {name!r} is documented `in: path` but the path has no "
                              f"{{{name}}}; an IntoParams struct read from the query needs "
                              f"#[into_params(parameter_in = Query)]")
            for name in sorted(template - in_path):
                errors.append(f"{where}: path segment {{{name}}} has no `in: path` parameter")
            op_id = op.get("operationId")
            if not op_id:
                errors.append(f"{where}: no operationId")
            elif op_id in op_ids:
                errors.append(f"{where}: operationId {op_id!r} is also used by {op_ids[op_id]}; "
                              f"set `operation_id = \"...\"` in #[utoipa::path]")
            else:
                op_ids[op_id] = where
            if not op.get("tags"):
                errors.append(f"{where}: no tag")
            for tag in op.get("tags", []):
                if declared_tags and tag not in declared_tags:
                    errors.append(f"{where}: tag {tag!r} is not declared in the document's `tags` "
                                  f"(startup.rs ApiDoc), so the docs show it without a description")
            statuses = op.get("responses", {})
            if not any(s.startswith(("2", "3")) for s in statuses):
                errors.append(f"{where}: no success response documented")
            for status, resp in statuses.items():
                if status[0] in "45" and set(resp.get("content", {})) != {PROBLEM}:
                    errors.append(f"{where}: {status} is documented as {sorted(resp.get('content', {}))}, "
                                  f"not {PROBLEM}")
    return errors


def find_operation(doc, method, path):
    """The documented responses of the operation serving METHOD PATH, or None."""
    for greedy in (False, True):
        for template, item in doc["paths"].items():
            segment = ".+" if greedy else "[^/]+"
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", segment, re.escape(template)) + "$"
            if re.match(rx, path) and method.lower() in item:
                return item[method.lower()]["responses"]
    return None


def request(base, method, path, body=None, headers=None):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=15) as res:
            return res.status, res.headers.get("content-type", ""), res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()


JSON = {"content-type": "application/json"}


def country(**over):
    body = {"alpha2": "XQ", "alpha3": "XQQ", "numeric": "999", "name": "Probe Land",
            "currencies": ["EUR"], "timezones": ["Europe/Lisbon"]}
    body.update(over)
    return json.dumps(body)


# (method, path, body, headers, expected status[, a pointer expected among `errors`])
PROBES = [
    # Regression: a NUL in `q` reached PostgreSQL, which rejects it in text: 500.
    ("GET", "/api/v1/countries?q=%00", None, None, 422),
    ("GET", "/api/v1/countries?q=a%00b&currency=EUR", None, None, 422),
    ("GET", "/api/v1/currencies?q=%00", None, None, 422),
    ("GET", "/api/v1/countries?q=" + "x" * 101, None, None, 422),
    ("GET", "/api/v1/countries?q=%25_%5C", None, None, 200),
    ("GET", "/api/v1/countries?limit=0", None, None, 422),
    ("GET", "/api/v1/countries?limit=4294967296", None, None, 400),
    ("GET", "/api/v1/currencies?cursor=%00", None, None, 422),
    ("GET", "/api/v1/countries/%00", None, None, 422),
    ("GET", "/api/v1/countries/p%C3%A9", None, None, 422),
    ("GET", "/api/v1/countries/pt", None, None, 200),
    ("GET", "/api/v1/countries/PT", None, {"if-none-match": "*"}, 304),
    ("GET", "/api/v1/countries/prt/time", None, None, 200),
    ("GET", "/api/v1/currencies/%00/countries", None, None, 422),
    ("GET", "/api/v1/currencies/eur/countries", None, None, 200),
    ("GET", "/api/v1/timezones/europe/lisbon", None, None, 200),
    ("GET", "/api/v1/timezones/Europe%2FLisbon", None, None, 200),
    ("GET", "/api/v1/timezones/%00", None, None, 404),
    ("GET", "/api/v1/timezones/..%2F..%2Fetc%2Fpasswd", None, None, 404),
    ("POST", "/api/v1/countries", country(name="a\u0000b"), JSON, 422),
    ("POST", "/api/v1/countries", country(official_name="\u0000"), JSON, 422),
    ("POST", "/api/v1/countries", country(timezones=["\u0000"]), JSON, 422),
    ("POST", "/api/v1/countries", country(currencies=["E\u0000R"]), JSON, 422),
    ("POST", "/api/v1/countries", country(currencies=["QQQ"]), JSON, 422, "/currencies"),
    # Regression: type errors pointed at `#/currencies[1]`, validators at `#/currencies/1`.
    # Now one RFC 6901 syntax; a body that does not decode is 400, invalid values 422.
    ("POST", "/api/v1/countries", country(currencies=["EUR", 5]), JSON, 400, "/currencies/1"),
    ("POST", "/api/v1/countries", country(alpha2="PT"), JSON, 409),
    ("POST", "/api/v1/countries", country(extra=1), JSON, 400, "/extra"),
    ("POST", "/api/v1/countries", "[" * 100_000 + "]" * 100_000, JSON, 400),
    ("POST", "/api/v1/countries", "null", JSON, 400),
    ("POST", "/api/v1/countries", "{", JSON, 400),
    ("POST", "/api/v1/countries", country(), {"content-type": "text/plain"}, 400),
    ("POST", "/api/v1/currencies", '{"code":"XQZ","numeric":"999","name":"N","minor_units":300}', JSON, 422),
    ("PUT", "/api/v1/countries/PT", country(alpha2="PT", alpha3="PRT", numeric="620"),
     {**JSON, "if-match": '"stale"'}, 412),
    ("PUT", "/api/v1/countries/ZZ", country(alpha2="ZZ", alpha3="ZZZ"), JSON, 404),
    ("DELETE", "/api/v1/currencies/EUR", None, None, 409),
    ("DELETE", "/api/v1/countries/%00", None, None, 422),
]


def probe(base, doc):
    """Failures of the probes, as messages."""
    failures = []
    for method, path, body, headers, want, *pointer in PROBES:
        status, ctype, raw = request(base, method, path, body, headers)
        where = f"{method} {path[:80]}"
        if status != want:
            failures.append(f"{where}: {status}, expected {want}: {raw[:300]!r}")
            continue
        responses = find_operation(doc, method, path.split("?")[0])
        if responses is None:
            failures.append(f"{where}: no operation in the document serves it")
        elif str(status) not in responses:
            failures.append(f"{where}: {status} is not documented (documented: {sorted(responses)})")
        if status >= 400:
            try:
                problem = json.loads(raw)
            except ValueError:
                problem = None
            if not ctype.startswith(PROBLEM) or not isinstance(problem, dict) or problem.get("status") != status:
                failures.append(f"{where}: error body is not a {PROBLEM} document with status {status}: "
                                f"{ctype} {raw[:200]!r}")
            elif pointer and pointer[0] not in [e.get("pointer") for e in problem.get("errors", [])]:
                failures.append(f"{where}: no field error at {pointer[0]}: {problem.get('errors')}")
    return failures


def main():
    base = sys.argv[1].rstrip("/")
    with urllib.request.urlopen(base + "/openapi.json", timeout=15) as res:
        doc = json.load(res)
    problems = [f"spec: {e}" for e in lint(doc)]
    problems += [f"probe: {e}" for e in probe(base, doc)]
    for p in problems:
        print(f"  {p}", file=sys.stderr)
    print(f"spec_checks: {len(PROBES)} probes, {len(problems)} problem(s)", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
