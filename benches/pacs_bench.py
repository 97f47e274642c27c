#!/usr/bin/env python3
"""Runs benches/bench_client.py for benches/core.sh and benches/rendering.sh.

  pacs_bench.py [--server NAME] [--auth KEY] [--stow-base URL] [--qido-base URL]
                [--wado-base URL] CMD ARGS...
      Runs bench_client.py CMD ARGS... (stow, stowc, qido, wado, single, frames) with
      - an Authorization header on every request (when --auth is given),
      - --base set per service: stow/stowc -> --stow-base, qido -> --qido-base,
        wado/single/frames -> --wado-base (bench_client appends /studies itself),
      - "server": NAME added to every JSON line.
  pacs_bench.py count --qido-base URL [--auth KEY] [--level studies]
      Prints {"count": N, "status": S} for GET {base}/{level}?limit=10000.
  pacs_bench.py summary RESULTS.jsonl [--md OUT.md]
      Prints (and writes) the ours-vs-Orthanc table with ratios and targets.

bench_client.py is the module beside this file (benches/bench_client.py).
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BASE_OPTION = {"stow": "stow_base", "stowc": "stow_base", "qido": "qido_base",
               "wado": "wado_base", "frames": "wado_base", "single": "wado_base"}


def run_client(argv):
    ap = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
    ap.add_argument("--server", default="")
    ap.add_argument("--auth", default="")
    ap.add_argument("--stow-base", default="")
    ap.add_argument("--qido-base", default="")
    ap.add_argument("--wado-base", default="")
    a, rest = ap.parse_known_args(argv)
    if not rest:
        sys.exit(__doc__)
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    import bench_client  # noqa: E402  (benches/bench_client.py)

    base = getattr(a, BASE_OPTION[rest[0]]) if rest[0] in BASE_OPTION else ""
    if base:
        rest += ["--base", base]
    fields = {"server": a.server} if a.server else {}
    headers = {"Authorization": a.auth} if a.auth else {}
    return bench_client.main(rest, fields=fields, headers=headers)


def count(argv):
    ap = argparse.ArgumentParser(prog="pacs_bench.py count")
    ap.add_argument("--qido-base", required=True)
    ap.add_argument("--auth", default="")
    ap.add_argument("--level", default="studies")
    a = ap.parse_args(argv)
    import requests
    h = {"Accept": "application/dicom+json"}
    if a.auth:
        h["Authorization"] = a.auth
    r = requests.get(f"{a.qido_base.rstrip('/')}/{a.level}", params={"limit": "10000"}, headers=h,
                     timeout=300)
    n = len(r.json()) if r.status_code == 200 else 0
    print(json.dumps({"count": n, "status": r.status_code}))


# ------------------------------------------------------------------ summary
# (row name, selector, metric, kind, target). kind "tput": ratio = ours/orthanc;
# kind "lat": ratio = orthanc/ours. target None = reported, no target.
def _q(name):
    return lambda r: r.get("test") == "qido-rs" and r.get("query") == name


ROWS = [
    ("STOW-RS 20 inst/req x 4 conc, 3000 x ~25 KB (inst/s)",
     lambda r: r.get("test") == "stow-rs" and r.get("label") == "stow-20x4", "inst_per_s", "tput", 3.0),
    ("STOW-RS 1 inst/req x 1 conn, 500 x ~25 KB (inst/s)",
     lambda r: r.get("test") == "stow-rs" and r.get("label") == "stow-1x1", "inst_per_s", "tput", 3.0),
    ("QIDO studies, 10k studies, PatientID exact (p50 ms)", _q("PatientID-exact"), "p50_ms", "lat", 9.0),
    ("QIDO studies, 10k studies, limit=100 (p50 ms)", _q("all-limit100"), "p50_ms", "lat", None),
    ("QIDO studies, 10k studies, StudyDate range, no limit (p50 ms)",
     _q("StudyDate-range-1y-nolimit"), "p50_ms", "lat", 15.0),
    ("WADO-RS series, 200 x CT 512x512, ~100 MiB (p50 ms)",
     lambda r: r.get("test") == "wado-rs" and r.get("what") == "series-retrieve"
     and "100 MiB" in r.get("label", ""), "p50_ms", "lat", 1.0),
    # reported, no target
    ("WADO-RS series metadata, 200 x CT (p50 ms)",
     lambda r: r.get("test") == "wado-rs" and r.get("what") == "series-metadata"
     and "100 MiB" in r.get("label", ""), "p50_ms", "lat", None),
    ("WADO-RS series, 10 x CT_small 128x128 (p50 ms)",
     lambda r: r.get("test") == "wado-rs" and r.get("what") == "series-retrieve"
     and "CT_small" in r.get("label", ""), "p50_ms", "lat", None),
    ("WADO-RS one instance at a time, keep-alive, CT_small (p50 ms)",
     lambda r: r.get("test") == "wado-rs-instance-keepalive", "p50_ms", "lat", None),
    ("QIDO load of 10k studies (inst/s; ours STOW 20x4, Orthanc C-STORE x4)",
     lambda r: r.get("label") == "qido-load" or r.get("test") == "c-store-qido-load", "inst_per_s",
     "tput", None),
]
OTHER_QIDO = ["all-limit100-offset5000", "AccessionNumber-exact", "StudyInstanceUID-exact",
              "PatientName-prefix*", "PatientName-fuzzy-lower", "StudyDate-range-1y",
              "ModalitiesInStudy-MR-limit100", "StudyDescription-*CHEST*", "PatientID+includefield"]
ROWS += [(f"QIDO studies, 10k studies, {q} (p50 ms)", _q(q), "p50_ms", "lat", None) for q in OTHER_QIDO]


def _own_problems(r):
    p = []
    if r.get("test") == "stow-rs":
        if r.get("failed"):
            p.append(f"failed={r['failed']}")
        bad = [s for s in r.get("statuses", []) if s not in (200, 202)]
        if bad:
            p.append(f"HTTP {bad}")
    if r.get("test") == "qido-rs" and not isinstance(r.get("results_last"), int):
        p.append(str(r.get("results_last")))
    if r.get("test") == "wado-rs" and r.get("status") != 200:
        p.append(f"HTTP {r.get('status')}")
    if r.get("test") == "wado-rs-instance-keepalive" and r.get("statuses") != [200]:
        p.append(f"HTTP {r.get('statuses')}")
    return p


def problems(ours, orth):
    """Why a row is not a valid comparison (empty list when fine)."""
    if ours is None:
        return ["ours: no result"]
    if orth is None:
        return ["Orthanc: no result"]
    p = [f"ours: {x}" for x in _own_problems(ours)] + [f"Orthanc: {x}" for x in _own_problems(orth)]
    if ours.get("test") == "qido-rs" and not p and ours.get("results_last") != orth.get("results_last"):
        p.append(f"ours returned {ours.get('results_last')} studies, Orthanc {orth.get('results_last')}")
    if (ours.get("test") == "wado-rs" and ours.get("what") == "series-retrieve" and not p
            and ours.get("bytes", 0) < 0.9 * orth.get("bytes", 0)):
        p.append(f"ours sent {ours.get('bytes')} bytes, Orthanc {orth.get('bytes')}")
    return p


def summary(argv):
    ap = argparse.ArgumentParser(prog="pacs_bench.py summary")
    ap.add_argument("results")
    ap.add_argument("--md", default="")
    a = ap.parse_args(argv)
    recs = []
    for line in open(a.results):
        line = line.strip()
        if line.startswith("{"):
            try:
                recs.append(json.loads(line))
            except ValueError:
                pass

    def last(server, sel):
        m = [r for r in recs if r.get("server") == server and sel(r)]
        return m[-1] if m else None

    out = ["| test | ours | Orthanc | ratio | target | met? |", "|---|---|---|---|---|---|"]
    verdicts = []
    for name, sel, metric, kind, target in ROWS:
        ours, orth = last("pacs", sel), last("orthanc", sel)
        if ours is None and orth is None:
            continue
        ov = ours.get(metric) if ours else None
        tv = orth.get(metric) if orth else None
        ratio = None
        if isinstance(ov, (int, float)) and isinstance(tv, (int, float)) and ov > 0 and tv > 0:
            ratio = ov / tv if kind == "tput" else tv / ov
        prob = problems(ours, orth)
        if target is None:
            met = "—" if not prob else "invalid: " + "; ".join(prob)
        elif ratio is None or prob:
            met = "**no** (" + "; ".join(prob or ["no ratio"]) + ")"
            verdicts.append(False)
        else:
            met = "yes" if ratio >= target else "**no**"
            verdicts.append(ratio >= target)
        fmt = lambda v: "—" if v is None else (f"{v:g}" if isinstance(v, (int, float)) else str(v))  # noqa: E731
        how = "ours/Orthanc" if kind == "tput" else "Orthanc/ours"
        out.append(f"| {name} | {fmt(ov)} | {fmt(tv)} | "
                   f"{'—' if ratio is None else f'{ratio:.2f}x'} ({how}) | "
                   f"{'—' if target is None else f'≥ {target:g}x'} | {met} |")
    errs = [r for r in recs if r.get("test") == "error"]
    out.append("")
    out.append(f"targets met: {sum(verdicts)} of {len(verdicts)}")
    for e in errs:
        out.append(f"error: {json.dumps(e)}")
    text = "\n".join(out)
    print(text)
    if a.md:
        with open(a.md, "w") as fh:
            fh.write(text + "\n")


def main():
    argv = sys.argv[1:]
    if argv and argv[0] == "summary":
        return summary(argv[1:])
    if argv and argv[0] == "count":
        return count(argv[1:])
    return run_client(argv)


if __name__ == "__main__":
    sys.exit(main())
