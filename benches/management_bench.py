#!/usr/bin/env python3
"""Management API benchmark client (benches/management.sh drives it).

  management_bench.py deprecate --base URL --auth KEY --db DB --studies D --series S
  management_bench.py validate --base URL --auth KEY --db DB [--other-auth KEY2] --expect-studies N --expect-other M
  management_bench.py bench    --base URL --auth KEY --db DB --run R [--reps 200] [--warmup 20]
  management_bench.py explain  --db DB --outdir DIR
  management_bench.py summary  RESULTS.jsonl [--md FILE]

`bench` times `GET /studies/count` for each query shape of COUNT_SHAPES and
`GET /studyEvents` (100 events per page) for each shape of EVENT_SHAPES, over one
keep-alive requests.Session: `warmup` untimed requests, then `reps` timed ones (client
wall time from sending the request to having read the whole body). One JSON line per
shape on stdout: p50/p95/mean/min/max in ms, the count or event numbers returned, and
whether every answer was right. `validate` checks the generated data through the real
API against independent SQL (psql on 127.0.0.1:5432 as postgres, database DB):
every count shape, a QIDO-RS patient query, event pages and tenant isolation.
`deprecate` deprecates D studies and S series (of other studies having 2+ live series,
so that they stay counted) through POST /studies/deprecation and /series/deprecation:
real management changes (deprecation records, SERIES_/STUDY_DEPRECATED events, audit,
recomputed study sizes) on top of the generated rows, chosen by a hash of their UID.
`explain` runs EXPLAIN (ANALYZE, BUFFERS) of the SQL that crates/pacs-persistence/src/
count.rs generates (same text as diesel sends, literal values) for every count shape,
writing DIR/explain-<shape>.txt and one JSON line per shape (database execution time).
No target is hidden in here: TARGETS below are the issue's.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

import requests

TENANT = "default"
TARGETS = {"count": 50.0, "events": 10.0}  # p50 ms, issue 4

# Count query shapes: (name, params). Params are sent in this order; repeated keys OR.
YEAR = ("receivedAt", "20251101-20261101")   # the whole generated year
MONTH = ("receivedAt", "20260301-20260401")
SIZE = ("studySize", "1000-50000")           # 1000 KB .. 50000 KB
AETS = [("aet", "CT_SCANNER1"), ("aet", "MR_3T")]
XAETS = [("excludeAet", "UPLOAD_WEB"), ("excludeAet", "FEED_OLDPACS")]
STATIONS = [("stationName", "CT01"), ("stationName", "MR01")]
XSTATIONS = [("excludeStationName", "ER-CT")]
COUNT_SHAPES = [
    ("no filter", []),
    ("receivedAt 1 month", [MONTH]),
    ("receivedAt 1 year", [YEAR]),
    ("receivedAt open end (from 20260601)", [("receivedAt", "20260601-")]),
    ("studySize 1000-50000 KB", [SIZE]),
    ("aet x2", AETS),
    ("excludeAet x2", XAETS),
    ("stationName x2", STATIONS),
    ("excludeStationName", XSTATIONS),
    ("receivedAt 1 month + aet x2", [MONTH] + AETS),
    ("receivedAt 1 month + studySize", [MONTH, SIZE]),
    ("aet x2 + stationName x2", AETS + STATIONS),
    ("excludeAet x2 + excludeStationName", XAETS + XSTATIONS),
    ("all filters, receivedAt 1 month", [MONTH, SIZE] + AETS + XAETS + STATIONS + XSTATIONS),
    ("all filters, receivedAt 1 year", [YEAR, SIZE] + AETS + XAETS + STATIONS + XSTATIONS),
]
# studyEvents shapes: name -> how the offsetId of each request is chosen (limit 100)
EVENT_SHAPES = [
    "first page (offsetId=0)",
    "middle of the log (fixed offsetId)",
    "last full page (fixed offsetId)",
    "poller walk from the middle (offsetId = previous lastOffsetId)",
    "random offsetId over the whole log",
]
PAGE = 100


# ----------------------------------------------------------------- SQL (ground truth)
def psql(db, sql):
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qtAX", "-F", "\t", "-c", sql],
        check=True, capture_output=True, text=True, timeout=600)
    return [line.split("\t") for line in out.stdout.splitlines() if line != ""]


def lit(v):
    return "'" + str(v).replace("'", "''") + "'"


def arr(vals):
    return "ARRAY[" + ",".join(lit(v) for v in vals) + "]::text[]"


def day(s):
    return f"'{s[0:4]}-{s[4:6]}-{s[6:8]} 00:00:00'::timestamp"


def expected_count_sql(params, tenant=TENANT):
    """The count, written independently of count.rs: EXISTS on live series, KB by floor."""
    w = [f"s.tenant = {lit(tenant)}", "s.deprecation_fk IS NULL",
         "EXISTS (SELECT 1 FROM series x WHERE x.study_fk = s.id AND x.deprecation_fk IS NULL)"]
    multi = {}
    for k, v in params:
        if k == "receivedAt":
            a, b = v.split("-", 1)
            if a:
                w.append(f"s.received_at >= {day(a)}")
            if b:
                w.append(f"s.received_at < {day(b)}")
        elif k == "studySize":
            a, b = v.split("-", 1)
            if a:
                w.append(f"s.size_bytes / 1024 >= {int(a)}")
            if b:
                w.append(f"s.size_bytes / 1024 <= {int(b)}")
        else:
            multi.setdefault(k, []).append(v)
    for k, col, neg in (("aet", "calling_aet", False), ("excludeAet", "calling_aet", True),
                        ("stationName", "station_name", False), ("excludeStationName", "station_name", True)):
        if k in multi:
            e = (f"EXISTS (SELECT 1 FROM series x WHERE x.study_fk = s.id AND x.deprecation_fk IS NULL "
                 f"AND x.{col} = ANY({arr(multi[k])}))")
            w.append(("NOT " if neg else "") + e)
    return "SELECT count(*) FROM studies s WHERE " + " AND ".join(w)


def diesel_count_sql(params, tenant=TENANT):
    """The statement count.rs sends (as logged by PostgreSQL), with the values inlined."""
    conds = [f'("studies"."tenant" = {lit(tenant)})', '("studies"."deprecation_fk" IS NULL)',
             '("studies"."num_series" > 0)']
    multi = {}
    for k, v in params:
        if k == "receivedAt":
            a, b = v.split("-", 1)
            if a:
                conds.append(f'("studies"."received_at" >= {day(a)})')
            if b:
                conds.append(f'("studies"."received_at" < {day(b)})')
        elif k == "studySize":
            a, b = v.split("-", 1)
            conds.append(f'("studies"."size_bytes" >= {int(a or 0) * 1024})')
            if b:
                conds.append(f'("studies"."size_bytes" <= {(int(b) + 1) * 1024 - 1})')
        else:
            multi.setdefault(k, []).append(v)

    def sub(col, vals):
        return (f'("studies"."id" = ANY(SELECT "series"."study_fk" FROM "series" WHERE ((("series"."tenant" = {lit(tenant)}) '
                f'AND ("series"."deprecation_fk" IS NULL)) AND ("series"."{col}" = ANY({arr(vals)})))))')
    for k, col, neg in (("aet", "calling_aet", False), ("excludeAet", "calling_aet", True),
                        ("stationName", "station_name", False), ("excludeStationName", "station_name", True)):
        if k in multi:
            conds.append(("NOT (" + sub(col, multi[k]) + ")") if neg else sub(col, multi[k]))
    return 'SELECT COUNT(*) FROM "studies" WHERE ' + " AND ".join(conds)


def event_bounds(db, tenant=TENANT):
    """(first id, middle offset, offset of the last full page, max id, number of events) of the tenant."""
    n = int(psql(db, f"SELECT count(*) FROM study_events WHERE tenant = {lit(tenant)}")[0][0])
    ids = psql(db, f"""
        SELECT (SELECT min(id) FROM study_events WHERE tenant = {lit(tenant)}),
               (SELECT id FROM study_events WHERE tenant = {lit(tenant)} ORDER BY id OFFSET {n // 2} LIMIT 1),
               (SELECT id FROM study_events WHERE tenant = {lit(tenant)} ORDER BY id DESC OFFSET {PAGE} LIMIT 1),
               (SELECT max(id) FROM study_events WHERE tenant = {lit(tenant)})""")[0]
    return int(ids[0]), int(ids[1]), int(ids[2]), int(ids[3]), n


def sql_events(db, after, limit, tenant=TENANT):
    return psql(db, f"SELECT id, event_type, coalesce(study_uid, ''), coalesce(series_uid, '') FROM study_events "
                    f"WHERE tenant = {lit(tenant)} AND id > {int(after)} ORDER BY id LIMIT {int(limit)}")


# ----------------------------------------------------------------- HTTP
def session(auth):
    s = requests.Session()
    s.headers["Authorization"] = auth
    return s


def get_count(s, base, params):
    r = s.get(base + "/studies/count", params=params, timeout=120)
    r.raise_for_status()
    return r.json()["study_count"]


def get_events(s, base, offset, limit=PAGE):
    r = s.get(base + "/studyEvents", params={"offsetId": offset, "limit": limit}, timeout=120)
    r.raise_for_status()
    return r.json()


def pct(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def stats(ms):
    return {"p50_ms": round(statistics.median(ms), 3), "p95_ms": round(pct(ms, 0.95), 3),
            "mean_ms": round(statistics.fmean(ms), 3), "min_ms": round(min(ms), 3), "max_ms": round(max(ms), 3)}


def emit(obj):
    print(json.dumps(obj), flush=True)


# ----------------------------------------------------------------- deprecate
def deprecate(a):
    s = session(a.auth)
    studies = [u for (u,) in psql(a.db, f"""SELECT study_uid FROM studies WHERE tenant = {lit(TENANT)}
        AND deprecation_fk IS NULL ORDER BY md5(study_uid) LIMIT {int(a.studies)}""")]
    series = [u for (u,) in psql(a.db, f"""SELECT x.series_uid FROM series x JOIN studies s ON s.id = x.study_fk
        WHERE x.tenant = {lit(TENANT)} AND x.deprecation_fk IS NULL AND s.deprecation_fk IS NULL AND s.num_series >= 2
        AND s.study_uid <> ALL({arr(studies)}) AND x.series_uid = (SELECT min(y.series_uid) FROM series y
            WHERE y.study_fk = s.id AND y.deprecation_fk IS NULL)
        ORDER BY md5(x.series_uid) LIMIT {int(a.series)}""")]
    bad = 0
    t = time.perf_counter()
    for u in studies:
        r = s.post(a.base + "/studies/deprecation", json={"studyInstanceUid": u, "author": "bench", "reason": "benchmark data"}, timeout=60)
        bad += r.status_code != 200
    for u in series:
        r = s.post(a.base + "/series/deprecation", json={"seriesInstanceUid": u, "author": "bench", "reason": "benchmark data"}, timeout=60)
        bad += r.status_code != 200
    emit({"test": "deprecate", "studies": len(studies), "series": len(series), "failed": bad,
          "wall_s": round(time.perf_counter() - t, 2)})
    return 0 if bad == 0 and len(studies) == a.studies and len(series) == a.series else 1


# ----------------------------------------------------------------- validate
def validate(a):
    s = session(a.auth)
    problems = []

    def check(what, ok, detail):
        emit({"test": "validate", "check": what, "ok": bool(ok), "detail": detail})
        if not ok:
            problems.append(what)

    n = get_count(s, a.base, [])
    check("count, no filter = generated live studies", n == a.expect_studies, {"api": n, "expected": a.expect_studies})
    if a.other_auth:
        m = get_count(session(a.other_auth), a.base, [])
        check("count of tenant other (isolation)", m == a.expect_other, {"api": m, "expected": a.expect_other})
    for name, params in COUNT_SHAPES:
        api = get_count(s, a.base, params)
        exp = int(psql(a.db, expected_count_sql(params))[0][0])
        check(f"count: {name}", api == exp and 0 < api, {"api": api, "expected_sql": exp})
    # QIDO-RS on a generated patient with several studies
    pid, k = psql(a.db, f"""SELECT p.patient_id, count(*) FROM patients p JOIN studies s ON s.patient_fk = p.id
        WHERE p.tenant = {lit(TENANT)} AND s.deprecation_fk IS NULL AND s.num_series > 0
        GROUP BY p.patient_id HAVING count(*) >= 3 ORDER BY p.patient_id LIMIT 1""")[0]
    r = s.get(a.base + "/qido/PACS/studies", params={"PatientID": pid}, timeout=60)
    got = r.json() if r.status_code == 200 else []
    uids = sorted(x["0020000D"]["Value"][0] for x in got)
    exp_uids = sorted(u for (u,) in psql(a.db, f"""SELECT s.study_uid FROM studies s JOIN patients p ON p.id = s.patient_fk
        WHERE p.tenant = {lit(TENANT)} AND p.patient_id = {lit(pid)} AND s.deprecation_fk IS NULL AND s.num_series > 0"""))
    check("QIDO-RS studies?PatientID of a generated patient", r.status_code == 200 and uids == exp_uids,
          {"patient": pid, "status": r.status_code, "api": len(uids), "expected": int(k)})
    if uids:
        r = s.get(a.base + f"/qido/PACS/studies/{uids[0]}/instances", timeout=60)
        ni = len(r.json()) if r.status_code == 200 else -1
        exp_ni = int(psql(a.db, f"""SELECT count(*) FROM instances i JOIN series x ON x.id = i.series_fk JOIN studies s ON s.id = x.study_fk
            WHERE s.tenant = {lit(TENANT)} AND s.study_uid = {lit(uids[0])} AND i.deprecation_fk IS NULL""")[0][0])
        check("QIDO-RS instances of that study", ni == exp_ni, {"api": ni, "expected": exp_ni})
    # event pages: same ids, types and UIDs as the table, in order, hasMore / lastOffsetId right
    first, mid, last_page, max_id, total = event_bounds(a.db)
    for label, off in (("first", 0), ("middle", mid), ("last full", last_page), ("past the end", max_id)):
        page = get_events(s, a.base, off)
        api = [[str(e["id"]), e["eventType"], e["studyInstanceUid"] or "", e["seriesInstanceUid"] or ""] for e in page["events"]]
        exp = sql_events(a.db, off, PAGE)
        more = len(sql_events(a.db, off, PAGE + 1)) > PAGE
        ok = (api == exp and page["hasMore"] == more
              and page["lastOffsetId"] == (int(exp[-1][0]) if exp else off))
        check(f"studyEvents {label} page (offsetId={off})", ok,
              {"api_events": len(api), "expected": len(exp), "hasMore": page["hasMore"], "lastOffsetId": page["lastOffsetId"]})
    page = get_events(s, a.base, 0)
    ev = page["events"]
    ok = (ev and ev[0]["eventType"] == "STUDY_CREATED" and ev[1]["eventType"] == "INSTANCE_STORED"
          and set(ev[1]["details"]) == {"callingAet", "sopClassUid", "sopInstanceUid"})
    check("studyEvents: a study's STUDY_CREATED then its INSTANCE_STORED (with details)", ok, {"first": ev[:2]})
    # a poller walking 50 pages sees consecutive ids of the tenant, no gap, no repeat
    off, seen = mid, []
    for _ in range(50):
        p = get_events(s, a.base, off)
        seen += [e["id"] for e in p["events"]]
        off = p["lastOffsetId"]
    exp = [int(r[0]) for r in sql_events(a.db, mid, 50 * PAGE)]
    check("studyEvents: 50 pages walked by lastOffsetId = the table's ids", seen == exp, {"events": len(seen)})
    emit({"test": "validate-summary", "ok": not problems, "failed": problems,
          "events_of_tenant": total, "event_ids": [first, max_id]})
    return 0 if not problems else 1


# ----------------------------------------------------------------- bench
def timed(n, fn):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def bench(a):
    s = session(a.auth)
    rng = random.Random(a.seed)
    only = a.only.split(",") if a.only else ["count", "events"]
    if "count" in only:
        for name, params in COUNT_SHAPES:
            exp = get_count(s, a.base, params)
            wrong = [0]

            def one():
                if get_count(s, a.base, params) != exp:
                    wrong[0] += 1
            timed(a.warmup, one)
            ms = timed(a.reps, one)
            emit({"test": "count", "run": a.run, "shape": name, "query": params, "reps": a.reps,
                  "study_count": exp, "ok": wrong[0] == 0, "target_p50_ms": TARGETS["count"], **stats(ms)})
    if "events" in only:
        first, mid, last_page, max_id, total = event_bounds(a.db)
        for name in EVENT_SHAPES:
            state = {"off": mid, "bad": 0, "n": 0}

            def offset():
                if name.startswith("first"):
                    return 0
                if name.startswith("middle"):
                    return mid
                if name.startswith("last"):
                    return last_page
                if name.startswith("poller"):
                    return state["off"]
                return rng.randint(0, last_page)

            def one():
                off = offset()
                p = get_events(s, a.base, off)
                ev = p["events"]
                state["n"] += len(ev)
                if len(ev) != PAGE or ev[0]["id"] <= off or p["lastOffsetId"] != ev[-1]["id"]:
                    state["bad"] += 1
                state["off"] = p["lastOffsetId"]
            timed(a.warmup, one)
            state.update(off=mid, bad=0, n=0)   # the timed walk starts at the middle again
            ms = timed(a.reps, one)
            emit({"test": "events", "run": a.run, "shape": name, "reps": a.reps, "limit": PAGE,
                  "events_per_page": state["n"] / a.reps, "ok": state["bad"] == 0,
                  "log": {"tenant_events": total, "max_id": max_id, "middle_offset": mid, "last_page_offset": last_page},
                  "target_p50_ms": TARGETS["events"], **stats(ms)})
        # for information: the largest page
        timed(a.warmup, lambda: get_events(s, a.base, mid, 1000))
        ms = timed(a.reps, lambda: get_events(s, a.base, mid, 1000))
        emit({"test": "events", "run": a.run, "shape": "limit=1000, middle of the log (information)", "reps": a.reps,
              "limit": 1000, "ok": True, "target_p50_ms": None, **stats(ms)})
    return 0


# ----------------------------------------------------------------- explain
def slug(name):
    return "".join(c if c.isalnum() else "-" for c in name).strip("-").lower()


def prepared_count(params, tenant=TENANT):
    """(parameter types, values, SQL with $n): the statement and binds count.rs sends."""
    types, vals, conds = [], [], []

    def bind(t, v):
        types.append(t)
        vals.append(v)
        return f"${len(vals)}"
    conds.append(f'("studies"."tenant" = {bind("text", lit(tenant))})')
    conds.append('("studies"."deprecation_fk" IS NULL)')
    conds.append(f'("studies"."num_series" > {bind("bigint", "0")})')
    multi = {}
    for k, v in params:
        if k == "receivedAt":
            a, b = v.split("-", 1)
            if a:
                conds.append(f'("studies"."received_at" >= {bind("timestamp", day(a))})')
            if b:
                conds.append(f'("studies"."received_at" < {bind("timestamp", day(b))})')
        elif k == "studySize":
            a, b = v.split("-", 1)
            conds.append(f'("studies"."size_bytes" >= {bind("bigint", str(int(a or 0) * 1024))})')
            if b:
                conds.append(f'("studies"."size_bytes" <= {bind("bigint", str((int(b) + 1) * 1024 - 1))})')
        else:
            multi.setdefault(k, []).append(v)
    for k, col, neg in (("aet", "calling_aet", False), ("excludeAet", "calling_aet", True),
                        ("stationName", "station_name", False), ("excludeStationName", "station_name", True)):
        if k in multi:
            t = bind("text", lit(tenant))
            x = bind("text[]", arr(multi[k]))
            e = (f'("studies"."id" = ANY(SELECT "series"."study_fk" FROM "series" WHERE ((("series"."tenant" = {t}) '
                 f'AND ("series"."deprecation_fk" IS NULL)) AND ("series"."{col}" = ANY({x})))))')
            conds.append(f"NOT ({e})" if neg else e)
    return types, vals, 'SELECT COUNT(*) FROM "studies" WHERE ' + " AND ".join(conds)


def explain(a):
    """Per count shape: the plan with timing (file), and execution times (TIMING OFF, median of
    `reps`) of the prepared statement with a custom plan (the server sets plan_cache_mode =
    force_custom_plan on its connections) and, for reference, with the generic plan that
    PostgreSQL's default (auto) may switch to after 5 executions."""
    os.makedirs(a.outdir, exist_ok=True)
    for name, params in COUNT_SHAPES:
        types, vals, sql = prepared_count(params)
        ex = f"EXECUTE c({', '.join(vals)})"
        script = [f"PREPARE c({', '.join(types)}) AS {sql};", "SET plan_cache_mode = force_custom_plan;"]
        script += [ex + ";"] * 6
        script += ["EXPLAIN (ANALYZE, BUFFERS) " + ex + ";"]
        for mode in ("force_custom_plan", "force_generic_plan"):
            script += [f"SET plan_cache_mode = {mode};"] + [f"EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) {ex};"] * a.reps
        out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", a.db, "-v", "ON_ERROR_STOP=1", "-qtAX"],
                             input="\n".join(script) + "\n", check=True, capture_output=True, text=True, timeout=900).stdout
        lines = out.splitlines()
        times = [float(x.split(":")[1].split()[0]) for x in lines if x.startswith("Execution Time")]
        # 1 (the plan with timing) + reps per mode
        first, rest = times[0], times[1:]
        custom, generic = (rest[i * a.reps:(i + 1) * a.reps] for i in range(2))
        plan_end = next(i for i, x in enumerate(lines) if x.startswith("Execution Time"))
        plan = lines[:plan_end + 1]
        start = max(i for i, x in enumerate(plan) if x.startswith("Aggregate") or x.startswith("Finalize Aggregate"))
        plan = plan[start:]
        path = os.path.join(a.outdir, f"explain-{slug(name)}.txt")
        with open(path, "w") as f:
            f.write(f"-- {name}: {params}\n-- statement (as count.rs sends it, binds as PREPARE parameters):\n"
                    f"PREPARE c({', '.join(types)}) AS {sql};\n{ex};\n\n"
                    "-- EXPLAIN (ANALYZE, BUFFERS) of the 7th execution, plan_cache_mode = force_custom_plan "
                    "(as the server runs it):\n" + "\n".join(plan) + "\n")
        emit({"test": "explain", "shape": name, "custom_ms": round(statistics.median(custom), 2),
              "generic_ms": round(statistics.median(generic), 2), "with_timing_ms": first, "file": path})
    return 0


# ----------------------------------------------------------------- summary
def summary(a):
    rows = [json.loads(line) for line in open(a.results) if line.strip().startswith("{")]
    runs = sorted({r["run"] for r in rows if r.get("test") in ("count", "events")})
    ex = {r["shape"]: r for r in rows if r.get("test") == "explain"}
    val = [r for r in rows if r.get("test") == "validate-summary"]
    errs = [r for r in rows if r.get("test") == "error"]
    hdr = ["test"] + [f"run {n} p50 / p95 (ms)" for n in runs] + ["DB exec ms: custom plan (server) / generic plan", "target p50", "met?"]
    out = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    met = total = 0
    shapes = []
    for r in rows:
        if r.get("test") in ("count", "events") and (r["test"], r["shape"]) not in shapes:
            shapes.append((r["test"], r["shape"]))
    for test, shape in shapes:
        rs = {r["run"]: r for r in rows if r.get("test") == test and r.get("shape") == shape}
        any_r = next(iter(rs.values()))
        label = (f"count: {shape} ({any_r['study_count']} studies)" if test == "count"
                 else f"studyEvents: {shape}")
        cells = []
        for n in runs:
            r = rs.get(n)
            cells.append("—" if r is None else f"{r['p50_ms']:.2f} / {r['p95_ms']:.2f}" + ("" if r["ok"] else " (WRONG ANSWERS)"))
        tgt = any_r.get("target_p50_ms")
        if tgt is None:
            verdict, tcell = "—", "—"
        else:
            total += 1
            tcell = f"≤ {tgt:g} ms"
            oks = [rs[n]["p50_ms"] <= tgt and rs[n]["ok"] for n in runs if n in rs]
            if all(oks):
                verdict = "yes"
                met += 1
            elif any(oks):
                verdict = "**no** (" + ", ".join(f"run {n} {'yes' if rs[n]['p50_ms'] <= tgt else 'no'}" for n in runs if n in rs) + ")"
            else:
                verdict = "**no**"
        e = ex.get(shape) if test == "count" else None
        dbx = f"{e['custom_ms']:.1f} / {e['generic_ms']:.1f}" if e else "—"
        out.append(f"| {label} | " + " | ".join(cells) + f" | {dbx} | {tcell} | {verdict} |")
    out.append("")
    out.append(f"targets met (p50 in every run): {met} of {total}")
    if val:
        out.append("data validated through the API: " + ("yes" if val[-1]["ok"] else "NO: " + ", ".join(val[-1]["failed"])))
    if errs:
        out.append(f"errors: {len(errs)} (see results.jsonl)")
    text = "\n".join(out)
    print(text)
    if a.md:
        with open(a.md, "w") as f:
            f.write(text + "\n")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("deprecate")
    d.add_argument("--studies", type=int, default=200)
    d.add_argument("--series", type=int, default=300)
    v = sub.add_parser("validate")
    b = sub.add_parser("bench")
    for p in (d, v, b):
        p.add_argument("--base", required=True, help="http://127.0.0.1:PORT/o3-dpacs-wado")
        p.add_argument("--auth", required=True)
        p.add_argument("--db", required=True)
    v.add_argument("--other-auth", default="")
    v.add_argument("--expect-studies", type=int, required=True)
    v.add_argument("--expect-other", type=int, default=0)
    b.add_argument("--run", type=int, default=1)
    b.add_argument("--reps", type=int, default=200)
    b.add_argument("--warmup", type=int, default=20)
    b.add_argument("--seed", type=int, default=4)
    b.add_argument("--only", default="", help="count, events or both (default)")
    e = sub.add_parser("explain")
    e.add_argument("--db", required=True)
    e.add_argument("--outdir", required=True)
    e.add_argument("--reps", type=int, default=5)
    s = sub.add_parser("summary")
    s.add_argument("results")
    s.add_argument("--md", default="")
    a = ap.parse_args()
    return {"deprecate": deprecate, "validate": validate, "bench": bench, "explain": explain, "summary": summary}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
