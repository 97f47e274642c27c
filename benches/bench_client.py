#!/usr/bin/env python3
"""Load generator for any DICOMweb server: STOW-RS, QIDO-RS and WADO-RS timings.

Used by benches/core.sh and benches/rendering.sh through benches/pacs_bench.py, which
adds our Authorization header and per-service base URLs; it runs alone as well, e.g.
against Orthanc's DICOMweb plugin (--base http://127.0.0.1:8042/dicom-web).

  bench_client.py stow   DIR [--batch 20] [--conc 4] [--limit 0]
      POST {base}/studies: every *.dcm under DIR (sorted by path; --limit N = the
      first N), --batch instances per multipart request, --conc requests in flight,
      each worker thread with its own keep-alive session.
  bench_client.py stowc  DIR [--batch 20] [--limit 100]
      The same upload through dicomweb-client's store_instances (one connection).
  bench_client.py qido   --manifest CSV [--reps 20]
      GET {base}/studies with a fixed set of twelve study-level queries whose values
      come from the manifest (gen_bulk.py's manifest.csv), --reps times each.
  bench_client.py wado   --study UID --series UID [--reps 5]
      GET the whole series (any transfer syntax) and its metadata, --reps times each.
  bench_client.py single --manifest CSV --series UID [--reps 5] [--accept MEDIA-TYPE]
      GET every instance of the series one at a time (.../instances/{sop}), all over ONE
      keep-alive connection, --reps rounds: what a viewer does. Reports the per-request
      latency from the second request on (the first one opens the connection).
  bench_client.py frames --study UID --series UID --sop UID --frames N [--reps 200]
                         [--accept MEDIA-TYPE]
      GET .../instances/{sop}/frames/{k} for random k in 1..N over one connection.

Every sub-command takes --base URL (default http://127.0.0.1:8042/dicom-web) and
--label TEXT (copied into every record). Results are JSON objects, one per line on
stdout; times are wall-clock seconds/milliseconds seen by the client, p50/p95 are
nearest-rank percentiles.

Records (the keys benches/pacs_bench.py and benches/render_bench.py read):
  stow   {"test":"stow-rs", instances, batch, conc, failed, statuses, wall_s, inst_per_s,
          mib_per_s, req_p50_ms, req_p95_ms}
  stowc  {"test":"stow-rs-dicomweb-client", instances, batch, wall_s, inst_per_s}
  qido   {"test":"qido-rs", query, studies_in_db, reps, results_last, p50_ms, p95_ms,
          mean_ms}   (results_last: studies in the last answer, or "HTTP <status>")
  wado   {"test":"wado-rs", what: series-retrieve|series-metadata, status, bytes, reps,
          p50_ms, best_ms, mib_per_s_p50}
  single {"test":"wado-rs-instance-keepalive", accept, instances, requests, statuses,
          first_ms, p50_ms, p95_ms, max_ms}
  frames {"test":"wado-rs-frames", accept, reps, statuses, avg_bytes, p50_ms, p95_ms,
          frames_per_s}

As a module: main(argv, fields={...}, headers={...}) adds `fields` to every record
and sends `headers` with every request.
"""
import argparse
import concurrent.futures
import csv
import json
import os
import random
import statistics
import sys
import threading
import time
import urllib.parse
import uuid

import requests

DEFAULT_BASE = "http://127.0.0.1:8042/dicom-web"
DEFAULT_FRAME_ACCEPT = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
SERIES_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'
DICOM_JSON = "application/dicom+json"
FAILED_SOP_SEQUENCE = "00081198"
MIB = 1024 * 1024


class Run:
    """What every sub-command shares: base URL, extra request headers, record fields."""

    def __init__(self, base, headers, fields):
        self.base = base.rstrip("/")
        self.headers = dict(headers or {})
        self.fields = dict(fields or {})

    def session(self):
        s = requests.Session()
        s.headers.update(self.headers)
        return s

    def report(self, test, **values):
        record = {"test": test, **values, **self.fields}
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


def ms(seconds, digits):
    return round(seconds * 1000.0, digits)


def nearest_rank(samples, percent):
    ordered = sorted(samples)
    k = int(round((len(ordered) - 1) * percent / 100.0))
    return ordered[max(0, min(k, len(ordered) - 1))]


def dicom_files(top, limit=0):
    found = []
    for here, _dirs, names in os.walk(top):
        found.extend(os.path.join(here, n) for n in names if n.endswith(".dcm"))
    found.sort()
    return found[:limit] if limit > 0 else found


# ------------------------------------------------------------------ STOW-RS
def multipart_body(paths):
    boundary = "pacs-bench-" + uuid.uuid4().hex
    chunks = []
    for p in paths:
        with open(p, "rb") as fh:
            payload = fh.read()
        chunks += [f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode(), payload, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    ctype = f'multipart/related; type="application/dicom"; boundary={boundary}'
    return b"".join(chunks), ctype


def failed_in(response, sent):
    """Instances of one request the server did not store."""
    if response.status_code not in (200, 202):
        return sent
    try:
        answer = response.json()
    except ValueError:
        return 0
    if not isinstance(answer, dict):
        return 0
    # Orthanc answers a repeated instance with an empty FailedSOPSequence: count entries.
    return len((answer.get(FAILED_SOP_SEQUENCE) or {}).get("Value") or [])


def cmd_stow(run, a):
    paths = dicom_files(a.dir, a.limit)
    groups = [paths[i:i + a.batch] for i in range(0, len(paths), a.batch)]
    target = run.base + "/studies"
    local = threading.local()

    def post(group):
        if not hasattr(local, "http"):
            local.http = run.session()
        body, ctype = multipart_body(group)
        started = time.perf_counter()
        resp = local.http.post(target, data=body, headers={"Content-Type": ctype, "Accept": DICOM_JSON})
        elapsed = time.perf_counter() - started
        return {"size": len(body), "secs": elapsed, "failed": failed_in(resp, len(group)),
                "status": resp.status_code}

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.conc) as pool:
        done = list(pool.map(post, groups))
    wall = time.perf_counter() - t0
    secs = [d["secs"] for d in done] or [0.0]
    sent = sum(d["size"] for d in done)
    run.report("stow-rs", instances=len(paths), batch=a.batch, conc=a.conc,
               failed=sum(d["failed"] for d in done),
               statuses=sorted({d["status"] for d in done}), wall_s=round(wall, 3),
               inst_per_s=round(len(paths) / wall, 1) if wall > 0 else 0.0,
               mib_per_s=round(sent / MIB / wall, 2) if wall > 0 else 0.0,
               req_p50_ms=ms(nearest_rank(secs, 50), 1), req_p95_ms=ms(nearest_rank(secs, 95), 1))


def cmd_stowc(run, a):
    import pydicom
    from dicomweb_client.api import DICOMwebClient

    paths = dicom_files(a.dir, a.limit)
    datasets = [pydicom.dcmread(p) for p in paths]
    dw = DICOMwebClient(url=run.base, headers=run.headers or None)
    t0 = time.perf_counter()
    for i in range(0, len(datasets), a.batch):
        dw.store_instances(datasets[i:i + a.batch])
    wall = time.perf_counter() - t0
    run.report("stow-rs-dicomweb-client", instances=len(paths), batch=a.batch, wall_s=round(wall, 3),
               inst_per_s=round(len(paths) / wall, 1) if wall > 0 else 0.0)


# ------------------------------------------------------------------ QIDO-RS
def study_queries(studies, rng):
    """(name, parameter factory) pairs; the names are what the summaries select on."""
    def some():
        return rng.choice(studies)

    middle = str(min(5000, len(studies) // 2))
    one_year = "20180101-20181231"
    return [
        ("all-limit100", lambda: {"limit": "100"}),
        ("all-limit100-offset5000", lambda: {"limit": "100", "offset": middle}),
        ("PatientID-exact", lambda: {"PatientID": some()["patient_id"]}),
        ("AccessionNumber-exact", lambda: {"AccessionNumber": some()["accession"]}),
        ("StudyInstanceUID-exact", lambda: {"StudyInstanceUID": some()["study_uid"]}),
        ("PatientName-prefix*", lambda: {"PatientName": "SCHMIDT*", "limit": "100"}),
        ("PatientName-fuzzy-lower", lambda: {"PatientName": "schmidt*", "limit": "100"}),
        ("StudyDate-range-1y", lambda: {"StudyDate": one_year, "limit": "100"}),
        ("StudyDate-range-1y-nolimit", lambda: {"StudyDate": one_year}),
        ("ModalitiesInStudy-MR-limit100", lambda: {"ModalitiesInStudy": "MR", "limit": "100"}),
        ("StudyDescription-*CHEST*", lambda: {"StudyDescription": "*CHEST*", "limit": "100"}),
        ("PatientID+includefield", lambda: {"PatientID": some()["patient_id"],
                                            "includefield": "00081030,00080061,00201206,00201208"}),
    ]


def cmd_qido(run, a):
    first_row = {}
    with open(a.manifest, newline="") as fh:
        for row in csv.DictReader(fh):
            first_row.setdefault(row["study_uid"], row)
    studies = list(first_row.values())
    rng = random.Random(20261125)
    http = run.session()
    target = run.base + "/studies"
    for name, params in study_queries(studies, rng):
        secs, found = [], None
        for _ in range(a.reps):
            # '*', ',' and '^' stay literal: Orthanc 1.10's DICOMweb plugin does not
            # percent-decode them (%2A) in QIDO values.
            query = urllib.parse.urlencode(params(), safe="*,^")
            started = time.perf_counter()
            resp = http.get(f"{target}?{query}", headers={"Accept": DICOM_JSON})
            secs.append(time.perf_counter() - started)
            if resp.status_code == 204:
                found = 0
            elif resp.status_code == 200:
                found = len(resp.json())
            else:
                found = f"HTTP {resp.status_code}"
        run.report("qido-rs", query=name, studies_in_db=len(studies), reps=a.reps, results_last=found,
                   p50_ms=ms(nearest_rank(secs, 50), 2), p95_ms=ms(nearest_rank(secs, 95), 2),
                   mean_ms=ms(statistics.mean(secs), 2))


# ------------------------------------------------------------------ WADO-RS
def cmd_wado(run, a):
    http = run.session()
    series = f"{run.base}/studies/{a.study}/series/{a.series}"
    for what, url, accept in (("series-retrieve", series, SERIES_ACCEPT),
                              ("series-metadata", series + "/metadata", DICOM_JSON)):
        secs, size, status = [], 0, None
        for _ in range(a.reps):
            started = time.perf_counter()
            with http.get(url, headers={"Accept": accept}, stream=True) as resp:
                status = resp.status_code
                size = sum(len(piece) for piece in resp.iter_content(MIB))
            secs.append(time.perf_counter() - started)
            if status != 200:
                break
        p50 = nearest_rank(secs, 50)
        run.report("wado-rs", what=what, status=status, bytes=size, reps=len(secs),
                   p50_ms=ms(p50, 1), best_ms=ms(min(secs), 1),
                   mib_per_s_p50=round(size / MIB / p50, 1) if p50 > 0 else 0.0)


def cmd_single(run, a):
    with open(a.manifest, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["series_uid"] == a.series]
    if not rows:
        sys.exit(f"no instance of series {a.series} in {a.manifest}")
    http = run.session()
    secs, statuses = [], set()
    for _ in range(a.reps):
        for r in rows:
            url = (f"{run.base}/studies/{r['study_uid']}/series/{r['series_uid']}"
                   f"/instances/{r['sop_uid']}")
            started = time.perf_counter()
            resp = http.get(url, headers={"Accept": a.accept})
            _ = resp.content
            secs.append(time.perf_counter() - started)
            statuses.add(resp.status_code)
    later = secs[1:] or secs
    run.report("wado-rs-instance-keepalive", accept=a.accept, instances=len(rows),
               requests=len(secs), statuses=sorted(statuses), first_ms=ms(secs[0], 2),
               p50_ms=ms(nearest_rank(later, 50), 2), p95_ms=ms(nearest_rank(later, 95), 2),
               max_ms=ms(max(later), 2))


def cmd_frames(run, a):
    http = run.session()
    rng = random.Random(768)
    prefix = f"{run.base}/studies/{a.study}/series/{a.series}/instances/{a.sop}/frames/"
    secs, sizes, statuses = [], [], set()
    t0 = time.perf_counter()
    for _ in range(a.reps):
        number = rng.randint(1, a.frames)
        started = time.perf_counter()
        resp = http.get(prefix + str(number), headers={"Accept": a.accept})
        body = resp.content
        secs.append(time.perf_counter() - started)
        sizes.append(len(body))
        statuses.add(resp.status_code)
    wall = time.perf_counter() - t0
    run.report("wado-rs-frames", accept=a.accept, reps=a.reps, statuses=sorted(statuses),
               avg_bytes=int(statistics.mean(sizes)), p50_ms=ms(nearest_rank(secs, 50), 2),
               p95_ms=ms(nearest_rank(secs, 95), 2),
               frames_per_s=round(a.reps / wall, 1) if wall > 0 else 0.0)


# ------------------------------------------------------------------ command line
def parser():
    ap = argparse.ArgumentParser(prog="bench_client.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="CMD")

    def command(name, func, helptext):
        p = sub.add_parser(name, help=helptext)
        p.set_defaults(func=func)
        p.add_argument("--base", default=DEFAULT_BASE, help="DICOMweb root (default %(default)s)")
        p.add_argument("--label", default="", help="free text copied into every record")
        return p

    p = command("stow", cmd_stow, "STOW-RS with a hand-built multipart body")
    p.add_argument("dir")
    p.add_argument("--batch", type=int, default=20, help="instances per request")
    p.add_argument("--conc", type=int, default=4, help="requests in flight")
    p.add_argument("--limit", type=int, default=0, help="first N files only (0 = all)")

    p = command("stowc", cmd_stowc, "STOW-RS through dicomweb-client")
    p.add_argument("dir")
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--limit", type=int, default=100)

    p = command("qido", cmd_qido, "QIDO-RS study queries")
    p.add_argument("--manifest", required=True, help="manifest.csv of gen_bulk.py")
    p.add_argument("--reps", type=int, default=20)

    p = command("wado", cmd_wado, "WADO-RS series retrieve and metadata")
    p.add_argument("--study", required=True)
    p.add_argument("--series", required=True)
    p.add_argument("--reps", type=int, default=5)

    p = command("single", cmd_single, "WADO-RS instances one by one on one connection")
    p.add_argument("--manifest", required=True, help="manifest.csv of gen_bulk.py")
    p.add_argument("--series", required=True)
    p.add_argument("--reps", type=int, default=5, help="rounds over the series")
    p.add_argument("--accept", default=SERIES_ACCEPT)

    p = command("frames", cmd_frames, "WADO-RS random frames of one instance")
    p.add_argument("--study", required=True)
    p.add_argument("--series", required=True)
    p.add_argument("--sop", required=True)
    p.add_argument("--frames", type=int, required=True, help="number of frames of the instance")
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--accept", default=DEFAULT_FRAME_ACCEPT)
    return ap


def main(argv=None, fields=None, headers=None):
    a = parser().parse_args(argv)
    extra = dict(fields or {})
    if a.label:
        extra["label"] = a.label
    a.func(Run(a.base, headers, extra), a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
