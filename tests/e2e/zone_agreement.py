"""Agreement of atlas's polygon zone (GET /api/v1/time?lat=&lon=) with PyPI
timezonefinder, an independent implementation over the same
timezone-boundary-builder polygons, at seeded random points.

Run with (zone_agreement.sh does this, with a pinned venv and a fresh atlas):
    python tests/e2e/zone_agreement.py http://127.0.0.1:PORT [--points 1000] [--seed 15]

Rules:
- Zone names are compared after canonicalising both sides through tzdata's links
  (crates/atlas/src/zones/links.rs: Europe/Kiev == Europe/Kyiv).
- Where timezonefinder has no zone (None) and atlas answers the nautical zone of
  that longitude (Etc/GMT-N for 15*N degrees east, within 7.5 degrees), the point
  counts as agreeing, and the number of such points is reported.
- Anything else that differs is a disagreement and is printed.
Exits 1 below --min (default 0.99).
"""

import argparse
import http.client
import json
import math
import pathlib
import random
import re
import sys
import time
import urllib.parse

from timezonefinder import TimezoneFinder

LINKS_RS = pathlib.Path(__file__).resolve().parents[2] / "crates/atlas/src/zones/links.rs"


def links():
    pairs = re.findall(r'\("([^"]+)", "([^"]+)"\)', LINKS_RS.read_text())
    if len(pairs) < 100:
        sys.exit(f"could not read the link table from {LINKS_RS}")
    return dict(pairs)


def points(n, seed):
    """Half in Europe, half anywhere (uniform on the sphere, so sea included)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % 2 == 0:
            out.append((round(rng.uniform(35.0, 71.0), 5), round(rng.uniform(-11.0, 40.0), 5)))
        else:
            lat = math.degrees(math.asin(rng.uniform(-1.0, 1.0)))
            out.append((round(lat, 5), round(rng.uniform(-180.0, 180.0), 5)))
    return out


def nautical(lon):
    n = round(lon / 15.0)
    return "Etc/GMT" if n == 0 else f"Etc/GMT{'-' if n > 0 else '+'}{abs(n)}"


class Atlas:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)

    def zone(self, lat, lon):
        self.conn.request("GET", f"/api/v1/time?lat={lat}&lon={lon}")
        res = self.conn.getresponse()
        body = res.read()
        if res.status != 200:
            sys.exit(f"atlas answered {res.status} at ({lat}, {lon}): {body[:300]!r}")
        doc = json.loads(body)
        return doc["zone"]["zone"], doc["zone_source"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("api")
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--min", type=float, default=0.99)
    args = ap.parse_args()

    canon = links()
    c = lambda z: canon.get(z, z) if z else z
    tf = TimezoneFinder(in_memory=True)
    atlas = Atlas(args.api)
    start = time.monotonic()
    agree = sea_rule = fallback = 0
    disagreements = []
    pts = points(args.points, args.seed)
    for lat, lon in pts:
        theirs = tf.timezone_at(lng=lon, lat=lat)
        ours, source = atlas.zone(lat, lon)
        fallback += source != "boundary_polygons"
        if c(ours) == c(theirs):
            agree += 1
        elif theirs is None and ours == nautical(lon):
            agree += 1
            sea_rule += 1
        else:
            disagreements.append((lat, lon, ours, source, theirs))
    share = agree / len(pts)
    print(f"zone agreement: {agree}/{len(pts)} = {share:.2%} (seed {args.seed}; "
          f"{sea_rule} by the sea rule: timezonefinder None, atlas the nautical Etc zone; "
          f"{fallback} answers fell back to the nearest place) in {time.monotonic() - start:.1f} s")
    for lat, lon, ours, source, theirs in disagreements:
        print(f"  ({lat}, {lon}): atlas {ours} ({source}), timezonefinder {theirs}")
    if share < args.min:
        print(f"FAIL: below {args.min:.0%}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
