#!/usr/bin/env python3
"""Drives Python's dicomweb-client against the archive's one DICOMweb root,
with one base URL and the client's default media types, through every read
and store operation it offers; prints one JSON object of what it saw.

  one_root.py --url http://host:port/o3-dpacs-wado/dicomweb/PACSA --key KEY CT.dcm OVERLAY.dcm

Exits non-zero (with the traceback) when any operation fails.
"""
import argparse
import hashlib
import json

import pydicom
import requests
from dicomweb_client.api import DICOMwebClient


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("ct")
    ap.add_argument("overlay")
    a = ap.parse_args()
    s = requests.Session()
    s.headers["Authorization"] = a.key
    client = DICOMwebClient(url=a.url, session=s)
    out = {}
    out["empty_search"] = client.search_for_studies(search_filters={"PatientID": "nobody"})
    ct = pydicom.dcmread(a.ct)
    ov = pydicom.dcmread(a.overlay)
    client.store_instances([ct, ov])
    st, se, sop = ct.StudyInstanceUID, ct.SeriesInstanceUID, ct.SOPInstanceUID
    out["studies"] = len(client.search_for_studies())
    out["series"] = len(client.search_for_series(st))
    out["instances"] = len(client.search_for_instances(st, se))
    got = client.retrieve_instance(st, se, sop)
    out["instance_sop"] = got.SOPInstanceUID
    out["study_instances"] = len(client.retrieve_study(st))
    out["series_instances"] = len(client.retrieve_series(st, se))
    meta = client.retrieve_instance_metadata(st, se, sop)
    out["metadata_sop"] = meta["00080018"]["Value"][0]
    out["study_metadata"] = len(client.retrieve_study_metadata(st))
    out["series_metadata"] = len(client.retrieve_series_metadata(st, se))
    # The client's default media types for frames and bulk data.
    frames = client.retrieve_instance_frames(st, se, sop, frame_numbers=[1])
    out["frame_bytes"] = len(frames[0])
    out["pixel_sha1"] = hashlib.sha1(client.retrieve_bulkdata(meta["7FE00010"]["BulkDataURI"])[0]).hexdigest()
    ov_meta = client.retrieve_instance_metadata(ov.StudyInstanceUID, ov.SeriesInstanceUID, ov.SOPInstanceUID)
    overlay = client.retrieve_bulkdata(ov_meta["60003000"]["BulkDataURI"])[0]
    out["overlay_sha1"] = hashlib.sha1(overlay).hexdigest()
    rendered = client.retrieve_instance_rendered(st, se, sop, media_types=("image/png",))
    out["rendered_png"] = rendered[:8] == b"\x89PNG\r\n\x1a\n"
    jpeg = client.retrieve_instance_frames_rendered(st, se, sop, frame_numbers=[1])
    out["frame_rendered_jpeg"] = jpeg[:2] == b"\xff\xd8"
    series_rendered = client.retrieve_series_rendered(st, se)
    out["series_rendered"] = len(series_rendered) > 0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
