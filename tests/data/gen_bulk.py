#!/usr/bin/env python3
"""Bulk test set: N studies of M series of K instances, made from real images.

    gen_bulk.py N M K OUT [--seed S] [--template A.dcm[,B.dcm...]]
                          [--patients P] [--aets A] [--jobs J]

Layout:
    OUT/<AET>/<study:06d>/<series:03d>/<instance:04d>.dcm
    OUT/manifest.csv   one row per instance, sorted by path:
                       path,aet,patient_id,accession,study_uid,series_uid,
                       sop_uid,modality,station,study_date
    OUT/DONE           one line: N=.. M=.. K=.. seed=.. patients=.. aets=.. template=..

Each instance is a template (default: pydicom's CT_small.dcm and MR_small.dcm,
taking turns per series; private tags dropped) with new UIDs and new
patient, study and series attributes:

    patient  p = study % P   (P defaults to ceil(2N/3))
             PatientID PID<p:07>, PatientName FAMILY^GIVEN^p (families include
             O'BRIEN, DE LA CRUZ and ÅSTRÖM, so the set is UTF-8, ISO_IR 192),
             birth date and sex derived from p
    study    sending AET MOD01..MOD<A> (study % A), accession, date, time, ID,
             description, referring physician, institution
    series   number, description, station (one of eight), frame of reference
    instance SOP Instance UID, Instance Number

The sending AET is also the top-level folder (for storescu -aet) and the file
meta SourceApplicationEntityTitle. UIDs are 2.25 UIDs of name-based UUIDs, so a
given seed and template always give the same bytes.

OUT is built under a temporary name beside it and renamed when complete; when
OUT/DONE already holds the same parameters nothing is done.
"""
import argparse
import csv
import datetime
import io
import os
import shutil
import signal
import sys
import time
import uuid
from multiprocessing import Pool

import pydicom
from pydicom.data import get_testdata_file

FAMILY = ["MUELLER", "SCHMIDT", "SCHNEIDER", "FISCHER", "WEBER", "MEYER", "WAGNER", "BECKER",
          "SCHULZ", "HOFFMANN", "KOCH", "RICHTER", "KLEIN", "WOLF", "NEUMANN", "ZIMMERMANN",
          "O'BRIEN", "DE LA CRUZ", "NGUYEN", "ÅSTRÖM"]
GIVEN = ["ANNA", "BEN", "CLARA", "DAVID", "EVA", "FELIX", "GRETA", "HUGO", "IDA", "JONAS",
         "KARLA", "LEON", "MIA", "NOAH", "OLGA", "PAUL", "RUTH", "SVEN", "TILDA", "URS"]
STATIONS = ["CT01", "CT02", "MR01", "MR02", "USROOM3", "XRAY-A", "XRAY-B", "ER-CT"]
INSTITUTIONS = ["General Hospital", "St. Mary Clinic", "University Medical Center",
                "Imaging Center North"]
REFERRING = ["HOUSE^GREGORY", "GREY^MEREDITH", "WHO^JOHN", "", "STRANGE^STEPHEN"]
STUDY_DESCRIPTIONS = ["CT CHEST W/O CONTRAST", "MR BRAIN", "CT ABDOMEN PELVIS", "MR KNEE LEFT",
                      "CT HEAD", "MR SPINE LUMBAR", "CT ANGIO", "FOLLOW-UP"]
SERIES_DESCRIPTIONS = ["AX 5mm", "COR 3mm", "SAG T1", "AX T2 FLAIR", "LOCALIZER", "DWI",
                       "ART PHASE", "DELAYED"]

FIRST_STUDY_DAY = datetime.date(2015, 1, 1)
FIRST_BIRTH_DAY = datetime.date(1930, 1, 1)


def make_uid(seed, *path):
    """A 2.25 UID from a name-based UUID of (seed, path)."""
    name = "pacs-test-data/bulk/" + seed + "/" + "/".join(str(p) for p in path)
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, name).int}"


def day(start, offset):
    return (start + datetime.timedelta(days=offset)).strftime("%Y%m%d")


class Plan:
    """Every attribute of the set, as a function of (study, series, instance)."""

    def __init__(self, n, m, k, seed, patients, aets):
        self.n, self.m, self.k = n, m, k
        self.seed, self.patients, self.aets = seed, patients, aets
        self.accession_prefix = sum(seed.encode()) % 100

    def aet(self, s):
        return f"MOD{s % self.aets + 1:02d}"

    def patient(self, s):
        p = s % self.patients
        return {
            "PatientID": f"PID{p:07d}",
            "PatientName": f"{FAMILY[p % len(FAMILY)]}^{GIVEN[p // len(FAMILY) % len(GIVEN)]}^{p}",
            "PatientBirthDate": day(FIRST_BIRTH_DAY, p * 7919 % 30000),
            "PatientSex": "M" if p % 2 == 0 else "F",
        }

    def study(self, s):
        return {
            "StudyInstanceUID": make_uid(self.seed, "study", s),
            "StudyDate": day(FIRST_STUDY_DAY, s * 37 % 3650),
            "StudyTime": f"{s * 7 % 24:02d}{s * 13 % 60:02d}{s * 17 % 60:02d}",
            "StudyID": f"S{s}",
            "AccessionNumber": f"ACC{self.accession_prefix:02d}{s:08d}",
            "StudyDescription": STUDY_DESCRIPTIONS[s % len(STUDY_DESCRIPTIONS)],
            "ReferringPhysicianName": REFERRING[s % len(REFERRING)],
            "InstitutionName": INSTITUTIONS[s % len(INSTITUTIONS)],
        }

    def series(self, s, m):
        return {
            "SeriesInstanceUID": make_uid(self.seed, "series", s, m),
            "SeriesNumber": m + 1,
            "SeriesDescription": SERIES_DESCRIPTIONS[m % len(SERIES_DESCRIPTIONS)],
            "StationName": STATIONS[(s + m) % len(STATIONS)],
            "FrameOfReferenceUID": make_uid(self.seed, "frame-of-reference", s, m),
        }

    def relpath(self, s, m, k):
        return f"{self.aet(s)}/{s:06d}/{m:03d}/{k:04d}.dcm"


def load_templates(spec):
    paths = [p for p in spec.split(",") if p] if spec else [
        get_testdata_file("CT_small.dcm"), get_testdata_file("MR_small.dcm")]
    templates = []
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.remove_private_tags()
        templates.append(ds)
    return templates


_worker = {}


def _init_worker(plan, template_spec, root):
    _worker.update(plan=plan, templates=load_templates(template_spec), root=root)


def _write_studies(studies):
    """Writes the given studies; returns their manifest rows."""
    plan, templates, root = _worker["plan"], _worker["templates"], _worker["root"]
    rows = []
    for s in studies:
        aet = plan.aet(s)
        patient, study = plan.patient(s), plan.study(s)
        for m in range(plan.m):
            ds = templates[(s + m) % len(templates)]
            series = plan.series(s, m)
            for keyword, value in (*patient.items(), *study.items(), *series.items()):
                setattr(ds, keyword, value)
            ds.SeriesDate = study["StudyDate"]
            ds.SpecificCharacterSet = "ISO_IR 192"
            ds.file_meta.SourceApplicationEntityTitle = aet
            folder = os.path.join(root, os.path.dirname(plan.relpath(s, m, 0)))
            os.makedirs(folder, exist_ok=True)
            for k in range(plan.k):
                sop = make_uid(plan.seed, "instance", s, m, k)
                ds.SOPInstanceUID = sop
                ds.file_meta.MediaStorageSOPInstanceUID = sop
                ds.InstanceNumber = k + 1
                rel = plan.relpath(s, m, k)
                buf = io.BytesIO()
                ds.save_as(buf, enforce_file_format=True)
                with open(os.path.join(root, rel), "wb") as fh:
                    fh.write(buf.getvalue())
                rows.append([rel, aet, patient["PatientID"], study["AccessionNumber"],
                             study["StudyInstanceUID"], series["SeriesInstanceUID"], sop,
                             str(ds.Modality), series["StationName"], study["StudyDate"]])
    return rows


def _pid_alive(pid):
    """True while pid runs (a zombie left unreaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        return True


def _remove_stale_parts(out):
    """Temporary trees of runs that were killed before they could clean up."""
    parent, base = os.path.split(out)
    prefix = f".{base}.part-"
    for name in os.listdir(parent):
        pid = name[len(prefix):].split(".")[0]
        if name.startswith(prefix) and pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", metavar="N", type=int, help="studies")
    ap.add_argument("m", metavar="M", type=int, help="series per study")
    ap.add_argument("k", metavar="K", type=int, help="instances per series")
    ap.add_argument("out", metavar="OUT")
    ap.add_argument("--seed", default="1", help="any string (default 1)")
    ap.add_argument("--template", default="",
                    help="comma-separated DICOM files used in turn per series")
    ap.add_argument("--patients", type=int, default=0, help="distinct patients (default ceil(2N/3))")
    ap.add_argument("--aets", type=int, default=4, help="distinct sending AETs (default 4)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    if min(a.n, a.m, a.k, a.aets) < 1:
        ap.error("N, M, K and --aets must be positive")
    patients = a.patients or max(1, -(-2 * a.n // 3))
    out = os.path.abspath(a.out)
    params = (f"N={a.n} M={a.m} K={a.k} seed={a.seed} patients={patients} aets={a.aets} "
              f"template={a.template or 'CT_small.dcm,MR_small.dcm'}\n")
    total = a.n * a.m * a.k

    done = os.path.join(out, "DONE")
    if os.path.exists(done):
        with open(done, encoding="utf-8") as fh:
            if fh.read() == params:
                print(f"[gen_bulk] up to date: {out} ({total} instances)")
                return 0
        print(f"[gen_bulk] {out} was made with other parameters: making it again")

    os.makedirs(os.path.dirname(out), exist_ok=True)
    _remove_stale_parts(out)
    tmp = os.path.join(os.path.dirname(out), f".{os.path.basename(out)}.part-{os.getpid()}")
    started = time.monotonic()
    try:
        os.makedirs(tmp)
        plan = Plan(a.n, a.m, a.k, a.seed, patients, a.aets)
        jobs = max(1, min(a.jobs, a.n))
        # Interleaved shares keep the workers about equally busy.
        shares = [list(range(j, a.n, jobs)) for j in range(jobs)]
        if jobs == 1:
            _init_worker(plan, a.template, tmp)
            parts = [_write_studies(shares[0])]
        else:
            with Pool(jobs, _init_worker, (plan, a.template, tmp)) as pool:
                parts = pool.map(_write_studies, shares)
        rows = sorted((row for part in parts for row in part), key=lambda r: r[0])
        with open(os.path.join(tmp, "manifest.csv"), "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["path", "aet", "patient_id", "accession", "study_uid", "series_uid",
                        "sop_uid", "modality", "station", "study_date"])
            w.writerows(rows)
        with open(os.path.join(tmp, "DONE"), "w", encoding="utf-8") as fh:
            fh.write(params)
        if os.path.lexists(out):
            old = f"{tmp}.old"
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    secs = time.monotonic() - started
    print(f"[gen_bulk] {out}: {len(rows)} instances ({a.n} studies x {a.m} series x {a.k}) "
          f"in {secs:.1f}s ({len(rows) / max(secs, 1e-6):.0f}/s)")
    return 0


if __name__ == "__main__":
    # SIGTERM as an exception, so the temporary output is removed on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
