"""Open atlas's Swagger UI in headless Chromium and check what a person would see.

Run with (docs_browser.sh starts atlas and passes these):

    python docs_browser.py --api http://127.0.0.1:PORT --chromium /usr/bin/chromium \
        --profile /tmp/fresh-dir --shots /tmp/shots

Drives Chromium over the DevTools protocol (the `websockets` package, nothing else)
and fails unless:
- every path, operation and tag of /openapi.json is rendered in the DOM, under the
  document's title;
- "Try it out" on GET /api/v1/countries/{code}, typing `prt`, shows Portugal (200);
- every request the page made went to a loopback host (data: and blob: URLs stay
  in the page), got a response below 400, and none failed or was left pending;
- the page threw no JavaScript exception and logged no console error.
Screenshots (the top of the page, the try-it-out result) go to --shots.
"""

import argparse
import asyncio
import base64
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import websockets

TRY_PATH = "/api/v1/countries/{code}"
TRY_CODE = "prt"  # not the prefilled example (`pt`), so typing has to work


class Cdp:
    """A DevTools connection: numbered calls awaited by id, events kept in order."""

    def __init__(self, ws):
        self.ws, self.next_id, self.pending, self.events = ws, 0, {}, []
        self.reader = asyncio.create_task(self._read())

    async def _read(self):
        try:
            async for raw in self.ws:
                self._dispatch(json.loads(raw))
        except websockets.ConnectionClosed:
            pass  # Browser.close, or Chromium died: pending calls time out

    def _dispatch(self, msg):
        if "id" in msg:
            fut = self.pending.pop(msg["id"], None)
            if fut and not fut.done():
                fut.set_result(msg)
        else:
            self.events.append(msg)

    async def call(self, method, params=None, session=None, timeout=15):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        fut = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = fut
        await self.ws.send(json.dumps(msg))
        reply = await asyncio.wait_for(fut, timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def until(self, predicate, timeout, what):
        """Poll an async predicate until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            value = await predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            await asyncio.sleep(0.1)


def launch(chromium, profile, log):
    """Start Chromium with a fresh profile; its PID is ours to stop."""
    args = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}",
        "--disable-dev-shm-usage", "--window-size=1280,1600", "--remote-debugging-port=0",
        # A request to anything but loopback fails instead of leaving the machine
        # (and is then reported: a failed request fails the check).
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        "about:blank",
    ]
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True)


def devtools_url(profile, proc, timeout=30):
    """Chromium writes its DevTools port and browser path to the profile when ready."""
    path = os.path.join(profile, "DevToolsActivePort")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode} before listening")
        try:
            port, browser = open(path).read().split("\n")[:2]
            if port and browser:
                return f"ws://127.0.0.1:{port}{browser}"
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"chromium wrote no {path} within {timeout} s")


def is_loopback(url):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    host = (parts.hostname or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


DOM_STATE = """(() => {
  const ops = [...document.querySelectorAll('.opblock')].map(o => ({
    method: (o.querySelector('.opblock-summary-method') || {}).textContent || '',
    path: (o.querySelector('.opblock-summary-path') || {}).dataset?.path || ''}));
  const tags = [...document.querySelectorAll('.opblock-tag')].map(t => t.dataset.tag);
  const title = (document.querySelector('.info .title') || {}).textContent || '';
  const errors = (document.querySelector('.errors-wrapper') || {}).textContent || '';
  return JSON.stringify({ops, tags, title, errors});
})()"""

# Returns the opblock's DOM id so later steps can find it again.
OPEN_OP = """((path) => {
  const el = [...document.querySelectorAll('.opblock.opblock-get')]
    .find(o => o.querySelector('.opblock-summary-path')?.dataset.path === path);
  if (!el) return '';
  if (!el.classList.contains('is-open'))
    (el.querySelector('.opblock-summary-control') || el.querySelector('.opblock-summary')).click();
  return el.id;
})(%s)"""


async def evaluate(cdp, session, expression):
    res = await cdp.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                         session)
    if "exceptionDetails" in res:
        raise RuntimeError(f"evaluate failed: {res['exceptionDetails']}")
    return res["result"].get("value")


async def screenshot(cdp, session, path):
    shot = await cdp.call("Page.captureScreenshot", {"format": "png"}, session, timeout=30)
    with open(path, "wb") as f:
        f.write(base64.b64decode(shot["data"]))


async def try_it_out(cdp, session, shots):
    """Expand GET /countries/{code}, Try it out, code=PT, Execute; the live response."""
    op_id = await cdp.until(lambda: evaluate(cdp, session, OPEN_OP % json.dumps(TRY_PATH)),
                            10, f"the GET {TRY_PATH} block")
    sel = f"document.getElementById({json.dumps(op_id)})"
    await cdp.until(lambda: evaluate(cdp, session, f"!!{sel}.querySelector('.try-out__btn')"),
                    10, "the Try it out button")
    await evaluate(cdp, session, f"{sel}.querySelector('.try-out__btn').click()")
    field = f"{sel}.querySelector('tr[data-param-name=\"code\"] input')"
    await cdp.until(lambda: evaluate(cdp, session, f"!!{field} && !{field}.disabled"),
                    10, "the code input")
    # Type like a person: focus, select what is prefilled, type over it.
    await evaluate(cdp, session, f"{field}.focus(); {field}.select()")
    await cdp.call("Input.insertText", {"text": TRY_CODE}, session)
    typed = await evaluate(cdp, session, f"{field}.value")
    # The field debounces its change (300 ms) but flushes it on blur, as a real click
    # on Execute would do; a scripted click does not move focus.
    await evaluate(cdp, session, f"{field}.blur()")
    await evaluate(cdp, session, f"{sel}.querySelector('.execute').click()")
    status = await cdp.until(
        lambda: evaluate(cdp, session,
                         f"({sel}.querySelector('.live-responses-table tbody .response-col_status') || {{}})"
                         f".textContent || ''"),
        15, "the live response")
    body = await evaluate(cdp, session,
                          f"({sel}.querySelector('.live-responses-table .microlight, "
                          f".live-responses-table pre') || {{}}).textContent || ''")
    await evaluate(cdp, session, f"{sel}.querySelector('.responses-wrapper').scrollIntoView()")
    await asyncio.sleep(0.3)
    await screenshot(cdp, session, os.path.join(shots, "docs-try-it-out.png"))
    return status.strip(), body, typed


async def run(args):
    spec = json.load(urllib.request.urlopen(f"{args.api}/openapi.json", timeout=15))
    want_ops = {(m.upper(), p) for p, item in spec["paths"].items() for m in item
                if m in ("get", "put", "post", "delete", "patch")}
    want_tags = {t for item in spec["paths"].values() for op in item.values()
                 if isinstance(op, dict) for t in op.get("tags", [])}
    problems = []
    log = open(os.path.join(args.shots, "chromium.log"), "wb")
    proc = launch(args.chromium, args.profile, log)
    closed = False
    try:
        url = devtools_url(args.profile, proc)
        async with websockets.connect(url, max_size=64 * 2**20, open_timeout=15) as ws:
            cdp = Cdp(ws)
            target = (await cdp.call("Target.createTarget", {"url": "about:blank"}))["targetId"]
            session = (await cdp.call("Target.attachToTarget",
                                      {"targetId": target, "flatten": True}))["sessionId"]
            for domain in ("Network", "Page", "Runtime", "Log"):
                await cdp.call(f"{domain}.enable", {}, session)
            # The service worker or HTTP cache must not hide a request from us.
            await cdp.call("Network.setCacheDisabled", {"cacheDisabled": True}, session)
            docs = f"{args.api}/docs/"
            nav = await cdp.call("Page.navigate", {"url": docs}, session)
            if nav.get("errorText"):
                raise RuntimeError(f"navigating to {docs}: {nav['errorText']}")
            await cdp.until(lambda: asyncio.sleep(0, any(
                e.get("method") == "Page.loadEventFired" for e in cdp.events)), 30, "the load event")

            async def rendered():
                state = json.loads(await evaluate(cdp, session, DOM_STATE))
                got = {(o["method"].upper(), o["path"]) for o in state["ops"]}
                return state if (want_ops <= got or state["errors"]) else None

            try:
                state = await cdp.until(rendered, 30, "every operation to render")
            except TimeoutError as e:
                state = json.loads(await evaluate(cdp, session, DOM_STATE))
                problems.append(str(e))
            await screenshot(cdp, session, os.path.join(args.shots, "docs.png"))
            got_ops = {(o["method"].upper(), o["path"]) for o in state["ops"]}
            for method, path in sorted(want_ops - got_ops):
                problems.append(f"operation {method} {path} is not rendered")
            for tag in sorted(want_tags - set(state["tags"])):
                problems.append(f"tag {tag!r} is not rendered")
            if spec["info"]["title"] not in state["title"]:
                problems.append(f"title {state['title']!r} lacks {spec['info']['title']!r}")
            if state["errors"].strip():
                problems.append(f"Swagger UI shows errors: {state['errors'].strip()[:300]}")

            try:
                status, body, typed = await try_it_out(cdp, session, args.shots)
                sent = [e["params"]["request"]["url"] for e in cdp.events
                        if e.get("method") == "Network.requestWillBeSent"
                        and "/api/v1/countries/" in e["params"]["request"]["url"]]
                if typed != TRY_CODE or not any(u.endswith("/" + TRY_CODE) for u in sent):
                    problems.append(f"try it out: typed {TRY_CODE!r}, field held {typed!r}, sent {sent}")
                if status != "200" or '"alpha2": "PT"' not in body:
                    problems.append(f"try it out GET /api/v1/countries/{TRY_CODE} showed {status!r}: "
                                    f"{body[:200]!r}")
            except TimeoutError as e:
                status = "none"
                problems.append(f"try it out: {e}")
                await screenshot(cdp, session, os.path.join(args.shots, "docs-try-it-out.png"))

            # Network idle: nothing in flight for half a second (at most 10 s).
            async def idle():
                before = len(cdp.events)
                await asyncio.sleep(0.5)
                return len(cdp.events) == before and not pending(cdp.events)
            try:
                await cdp.until(idle, 10, "the network to go idle")
            except TimeoutError as e:
                problems.append(str(e))
            try:
                await cdp.call("Browser.close", timeout=5)
                closed = True
            except Exception:  # noqa: BLE001 - closing is best effort; the PID is killed below
                pass
            cdp.reader.cancel()
    finally:
        try:
            proc.wait(timeout=5 if closed else 0.1)
        except subprocess.TimeoutExpired:
            # Started in its own session, so the group is Chromium and its helpers only.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()

    requests = report_network(cdp.events, problems)
    for e in cdp.events:
        p = e.get("params", {})
        if e.get("method") == "Runtime.exceptionThrown":
            problems.append(f"JavaScript exception: {p['exceptionDetails'].get('text')} "
                            f"{p['exceptionDetails'].get('exception', {}).get('description', '')[:200]}")
        elif e.get("method") == "Runtime.consoleAPICalled" and p.get("type") == "error":
            problems.append("console error: " + " ".join(str(a.get("value", a.get("description")))
                                                         for a in p.get("args", []))[:300])
        elif e.get("method") == "Log.entryAdded" and p["entry"]["level"] == "error":
            problems.append(f"browser log error: {p['entry']['text'][:300]} ({p['entry'].get('url', '')})")
    return problems, len(got_ops), len(set(state["tags"])), requests, status


def pending(events):
    started = {e["params"]["requestId"] for e in events if e.get("method") == "Network.requestWillBeSent"}
    done = {e["params"]["requestId"] for e in events
            if e.get("method") in ("Network.loadingFinished", "Network.loadingFailed")}
    return started - done


def report_network(events, problems):
    """Check every request; print one line each. Returns how many there were."""
    reqs = {}
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Network.requestWillBeSent":
            reqs.setdefault(p["requestId"], {})["url"] = p["request"]["url"]
            reqs[p["requestId"]]["method"] = p["request"]["method"]
        elif m == "Network.responseReceived":
            reqs.setdefault(p["requestId"], {})["status"] = p["response"]["status"]
        elif m == "Network.loadingFailed":
            reqs.setdefault(p["requestId"], {})["failed"] = (
                p.get("errorText", "") + (f" blocked:{p['blockedReason']}" if p.get("blockedReason") else ""))
        elif m == "Network.loadingFinished":
            reqs.setdefault(p["requestId"], {})["finished"] = True
    for r in reqs.values():
        url, status = r.get("url", "?"), r.get("status")
        print(f"  {r.get('method', '?'):6} {status or '-':>3} {url[:110]}", file=sys.stderr)
        if not is_loopback(url):
            problems.append(f"request to a non-loopback host: {url}")
        if r.get("failed"):
            problems.append(f"request failed ({r['failed']}): {url}")
        elif status is None and not url.startswith("data:"):
            problems.append(f"request got no response: {url}")
        elif status is not None and status >= 400:
            problems.append(f"request answered {status}: {url}")
        elif not r.get("finished") and not r.get("failed"):
            problems.append(f"request never finished: {url}")
    return len(reqs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--api", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--profile", required=True, help="a fresh, empty directory")
    ap.add_argument("--shots", required=True, help="where screenshots and chromium.log go")
    ap.add_argument("--timeout", type=float, default=90, help="for the whole check, seconds")
    args = ap.parse_args()
    args.api = args.api.rstrip("/")
    try:
        problems, ops, tags, requests, status = asyncio.run(asyncio.wait_for(run(args), args.timeout))
    except (TimeoutError, asyncio.TimeoutError) as e:
        print(f"docs_browser: FAIL: timed out ({e or args.timeout})", file=sys.stderr)
        sys.exit(1)
    for p in problems:
        print(f"  {p}", file=sys.stderr)
    verdict = "FAIL" if problems else "PASS"
    print(f"docs_browser: {verdict}: {ops} operations and {tags} tags rendered, {requests} requests "
          f"checked, try it out -> {status}; {len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
