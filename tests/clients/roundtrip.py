#!/usr/bin/env python3
"""Stores files with dicomweb-client (a real DICOMweb client) and retrieves each
back, reporting one JSON line per file.

  roundtrip.py --root http://host:port/o3-dpacs-wado --key KEY --aet PACSA \
               --calling MOD01 FILE...

For each file: the STOW status, and when stored, whether the instance came back
through WADO-RS byte-identical to what the client sent, and whether the client's
own retrieve_instance parses it.
"""
import argparse
import hashlib
import io
import json
import sys

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient


def encoded(ds):
    # What dicomweb-client sends for a dataset (see DICOMwebClient.store_instances).
    with io.BytesIO() as b:
        pydicom.dcmwrite(b, ds)
        return b.getvalue()


def split_multipart(body, content_type):
    boundary = [p.strip()[9:].strip('"') for p in content_type.split(";") if p.strip().startswith("boundary=")][0]
    delim = b"--" + boundary.encode()
    parts = []
    for chunk in body.split(delim)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.partition(b"\r\n\r\n")
        parts.append(content[:-2] if content.endswith(b"\r\n") else content)
    return parts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--aet", required=True)
    ap.add_argument("--calling", default="MOD01")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    s = requests.Session()
    s.headers["Authorization"] = a.key
    client = DICOMwebClient(
        url=a.root,
        session=s,
        qido_url_prefix=f"qido/{a.aet}",
        wado_url_prefix=f"wado-rs/{a.aet}",
        stow_url_prefix=f"stowRsListener/{a.calling}",
    )
    for f in a.files:
        out = {"file": f}
        try:
            ds = pydicom.dcmread(f, force=True)
            sent = encoded(ds)
        except Exception as e:  # pydicom cannot even read it: send the raw bytes
            ds, sent = None, open(f, "rb").read()
            out["pydicom_error"] = str(e)
        out["sent_sha1"] = hashlib.sha1(sent).hexdigest()
        try:
            if ds is not None:
                client.store_instances([ds])
            else:
                raise ValueError("unreadable")
            out["status"] = 200
        except requests.HTTPError as e:
            out["status"] = e.response.status_code
            try:
                out["body"] = e.response.json()
            except ValueError:
                out["body"] = e.response.text[:300]
            print(json.dumps(out), flush=True)
            continue
        except Exception as e:
            out["status"] = -1
            out["client_error"] = str(e)[:300]
            print(json.dumps(out), flush=True)
            continue
        study, series, sop = str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)
        out["sop"] = sop
        url = f"{a.root}/wado-rs/{a.aet}/studies/{study}/series/{series}/instances/{sop}"
        r = s.get(url, headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'})
        out["retrieve_status"] = r.status_code
        if r.status_code == 200:
            parts = split_multipart(r.content, r.headers["Content-Type"])
            out["parts"] = len(parts)
            if parts:
                out["retrieved_sha1"] = hashlib.sha1(parts[0]).hexdigest()
        try:
            got = client.retrieve_instance(study, series, sop)
            out["client_retrieve"] = str(got.SOPInstanceUID) == sop
        except Exception as e:
            out["client_retrieve"] = False
            out["client_retrieve_error"] = str(e)[:300]
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
