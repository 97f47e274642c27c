#!/usr/bin/env python3
"""Rendering benchmark client for benches/rendering.sh: previews, and the summary.

  render_bench.py preview --server pacs --base URL [--auth KEY] --manifest CSV
                          [--size N] [--threads 4] [--pass cold] [--timeout 60]
      GET {base}/preview?objectUID={sop}[&size=N] once for every instance of the
      manifest (our server; URL base includes /o3-dpacs-wado).
  render_bench.py preview --server orthanc --orthanc URL --manifest CSV
                          [--accept image/jpeg] [--threads 4] [--pass cold]
      GET {orthanc}/instances/{id}/preview once for every instance of the manifest;
      the Orthanc ids are looked up in GET /instances?expand (SOPInstanceUID).
  render_bench.py summary RESULTS.jsonl [--md OUT.md]
      Prints (and writes) the ours-vs-Orthanc rendering table with ratios and targets.

Every pass requests each instance exactly once (in manifest order, spread over
--threads threads, one requests.Session per thread) and prints one JSON line:
previews/s over the wall time, latency p50/p95/max, statuses, content types, the
mean body size and the decoded size of the first image. Every request has a
timeout (--timeout seconds; connect 5 s); failures are counted, never retried.
"""
import argparse
import concurrent.futures as cf
import csv
import io
import json
import sys
import threading
import time

import requests


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else None


def manifest_sops(path):
    return [r["sop_uid"] for r in csv.DictReader(open(path))]


def orthanc_ids(base, sops, timeout):
    r = requests.get(base.rstrip("/") + "/instances", params={"expand": ""}, timeout=timeout)
    r.raise_for_status()
    by_sop = {i["MainDicomTags"].get("SOPInstanceUID"): i["ID"] for i in r.json()}
    missing = [s for s in sops if s not in by_sop]
    if missing:
        sys.exit(f"{len(missing)} of {len(sops)} instances not in Orthanc (first: {missing[0]})")
    return [by_sop[s] for s in sops]


def image_info(body):
    try:
        from PIL import Image
        im = Image.open(io.BytesIO(body))
        return f"{im.width}x{im.height} {im.format} {im.mode}"
    except Exception as e:  # noqa: BLE001 (reported, not fatal)
        return f"undecodable: {type(e).__name__}"


def preview(a):
    sops = manifest_sops(a.manifest)
    headers = {}
    if a.server == "orthanc":
        ids = orthanc_ids(a.orthanc, sops, a.timeout)
        urls = [f"{a.orthanc.rstrip('/')}/instances/{i}/preview" for i in ids]
    else:
        extra = f"&size={a.size}" if a.size else ""
        urls = [f"{a.base.rstrip('/')}/preview?objectUID={s}{extra}" for s in sops]
        if a.auth:
            headers["Authorization"] = a.auth
    if a.accept:
        headers["Accept"] = a.accept
    tl = threading.local()

    def get(url):
        s = getattr(tl, "s", None)
        if s is None:
            s = tl.s = requests.Session()
            s.headers.update(headers)
        t = time.perf_counter()
        try:
            r = s.get(url, timeout=(5, a.timeout))
            body, st, ct = r.content, r.status_code, r.headers.get("Content-Type", "")
        except requests.RequestException as e:
            body, st, ct = b"", f"exception {type(e).__name__}", ""
        return time.perf_counter() - t, st, ct, body, url

    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(a.threads) as ex:
        res = list(ex.map(get, urls))
    wall = time.perf_counter() - t0
    ok = [r for r in res if r[1] == 200]
    lat = [r[0] for r in res]
    bad = [r for r in res if r[1] != 200]
    out = dict(test="preview", server=a.server, **{"pass": a.pass_}, threads=a.threads,
               size=a.size or None, accept=a.accept or None, instances=len(urls), ok=len(ok),
               statuses=sorted({str(r[1]) for r in res}), content_types=sorted({r[2] for r in ok}),
               avg_bytes=int(sum(len(r[3]) for r in ok) / len(ok)) if ok else 0,
               image=image_info(ok[0][3]) if ok else None,
               wall_s=round(wall, 3), previews_per_s=round(len(ok) / wall, 1),
               p50_ms=round(pct(lat, 50) * 1000, 2), p95_ms=round(pct(lat, 95) * 1000, 2),
               max_ms=round(max(lat) * 1000, 2))
    if bad:
        out["first_failure"] = {"url": bad[0][4], "status": str(bad[0][1]),
                                "body": bad[0][3][:300].decode("utf-8", "replace")}
    if a.label:
        out["label"] = a.label
    print(json.dumps(out), flush=True)
    return 0 if not bad else 1


# ------------------------------------------------------------------ summary
# (row, selector, metric, kind, target). kind "tput": ratio ours/Orthanc; "lat": Orthanc/ours.
# target: None, ("ratio", x) = ratio >= x, ("max", x) = our value <= x.
def _pv(pass_, threads, special=False):
    return lambda r: (r.get("test") == "preview" and r.get("pass") == pass_ and r.get("threads") == threads
                      and bool(r.get("size") or r.get("accept")) == special)


def _fr(accept_jpeg):
    return lambda r: (r.get("test") == "wado-rs-frames"
                      and ("image/jpeg" in r.get("accept", "")) == accept_jpeg)


ROWS = [
    ("Preview, 200 x CT 512x512, first render (cold), 4 threads (previews/s)",
     _pv("cold", 4), "previews_per_s", "tput", ("ratio", 2.0)),
    ("Preview, cold, 1 thread (p50 ms)", _pv("cold", 1), "p50_ms", "lat", None),
    ("Preview, repeated (warm), 4 threads (previews/s)", _pv("warm", 4), "previews_per_s", "tput", None),
    ("Preview, warm, 1 thread (p50 ms)", _pv("warm", 1), "p50_ms", "lat", None),
    ("Preview 512 px JPEG in both (ours size=512, Orthanc Accept: image/jpeg), cold, 4 threads (previews/s)",
     _pv("cold", 4, True), "previews_per_s", "tput", None),
    ("WSI random frame, 768-frame level, stored bytes (p50 ms)", _fr(False), "p50_ms", "lat", ("max", 2.0)),
    ("WSI random frame, stored bytes (p95 ms)", _fr(False), "p95_ms", "lat", None),
    ("WSI random frames, 1 connection (frames/s)", _fr(False), "frames_per_s", "tput", None),
    ("WSI random frame, Accept image/jpeg (p50 ms)", _fr(True), "p50_ms", "lat", None),
]


def _own_problems(r):
    p = []
    if r.get("test") == "preview":
        if r.get("ok") != r.get("instances"):
            p.append(f"{r.get('ok')} of {r.get('instances')} ok, statuses {r.get('statuses')}")
        if "undecodable" in str(r.get("image")):
            p.append(f"image {r.get('image')}")
    if r.get("test") == "wado-rs-frames" and r.get("statuses") != [200]:
        p.append(f"HTTP {r.get('statuses')}")
    return p


def problems(ours, orth):
    if ours is None:
        return ["ours: no result"]
    if orth is None:
        return ["Orthanc: no result"]
    p = [f"ours: {x}" for x in _own_problems(ours)] + [f"Orthanc: {x}" for x in _own_problems(orth)]
    if ours.get("test") == "wado-rs-frames" and not p:
        ob, tb = ours.get("avg_bytes", 0), orth.get("avg_bytes", 0)
        if tb and abs(ob - tb) > 0.1 * tb:
            p.append(f"ours sent {ob} bytes/frame, Orthanc {tb}")
    return p


def summary(argv):
    ap = argparse.ArgumentParser(prog="render_bench.py summary")
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

    fmt = lambda v: "—" if v is None else (f"{v:g}" if isinstance(v, (int, float)) else str(v))  # noqa: E731
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
            tgt = "—"
        else:
            how, x = target
            tgt = f"≥ {x:g}x" if how == "ratio" else f"≤ {x:g} ms (ours)"
            val = ratio if how == "ratio" else ov
            ok = isinstance(val, (int, float)) and (val >= x if how == "ratio" else val <= x)
            own = [q for q in prob if how == "ratio" or q.startswith("ours")]
            if val is None or own:
                met = "**no** (" + "; ".join(own or ["no value"]) + ")"
                ok = False
            else:
                met = "yes" if ok else "**no**"
            verdicts.append(ok)
        how = "ours/Orthanc" if kind == "tput" else "Orthanc/ours"
        out.append(f"| {name} | {fmt(ov)} | {fmt(tv)} | "
                   f"{'—' if ratio is None else f'{ratio:.2f}x'} ({how}) | {tgt} | {met} |")
    out.append("")
    out.append(f"targets met: {sum(verdicts)} of {len(verdicts)}")
    for e in (r for r in recs if r.get("test") == "error"):
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
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp = ap.add_subparsers(dest="cmd", required=True)
    p = sp.add_parser("preview")
    p.add_argument("--server", choices=["pacs", "orthanc"], required=True)
    p.add_argument("--base", default="", help="ours: http://127.0.0.1:PORT/o3-dpacs-wado")
    p.add_argument("--auth", default="")
    p.add_argument("--orthanc", default="http://127.0.0.1:8042")
    p.add_argument("--manifest", required=True)
    p.add_argument("--size", type=int, default=0, help="ours: &size=N (default: none, 256 px box)")
    p.add_argument("--accept", default="", help="Accept header (Orthanc: image/jpeg for JPEG)")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--pass", dest="pass_", default="cold", help="label: cold | warm")
    p.add_argument("--timeout", type=float, default=60.0, help="read timeout per request, seconds")
    p.add_argument("--label", default="")
    a = ap.parse_args(argv)
    if a.server == "pacs" and not a.base:
        ap.error("--base is required for --server pacs")
    return preview(a)


if __name__ == "__main__":
    sys.exit(main())
