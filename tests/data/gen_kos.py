#!/usr/bin/env python3
"""Reference Key Object Selection document, written by highdicom.

    gen_kos.py OUT.dcm INSTANCE.dcm [INSTANCE.dcm ...]

The instances must share one study: the KOS becomes a new series of it
(Modality KO, series number 900), titled (113000, DCM, "Of Interest"), with
one IMAGE/COMPOSITE reference per instance and the evidence sequence highdicom
builds. Its Series and SOP Instance UIDs are derived from the referenced SOP
Instance UIDs and its dates and times are the study's, so the same input gives
the same file. The tests compare the
manifests our server makes with these.

OUT.dcm is written under a temporary name and renamed; an existing OUT.dcm is
left as it is.
"""
import os
import sys
import uuid


def derived_uid(kind, sops):
    name = "pacs-test-data/kos/" + kind + "/" + "\\".join(sops)
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, name).int}"


def main(argv):
    if len(argv) < 3 or argv[1].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    out, inputs = argv[1], argv[2:]
    if os.path.exists(out):
        print(f"[gen_kos] exists: {out}")
        return 0
    # Imported only when there is work: highdicom takes a while to load.
    import highdicom as hd
    import pydicom
    from pydicom.sr.codedict import codes

    evidence = [pydicom.dcmread(path) for path in inputs]
    studies = {str(ds.StudyInstanceUID) for ds in evidence}
    if len(studies) != 1:
        print(f"[gen_kos] the instances span {len(studies)} studies; one is needed", file=sys.stderr)
        return 1
    sops = [str(ds.SOPInstanceUID) for ds in evidence]
    # highdicom stamps the current date and time; the study's own keep the
    # file the same from run to run.
    when_date = str(evidence[0].get("StudyDate") or "20240101")
    when_time = str(evidence[0].get("StudyTime") or "120000")

    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
            name="TESTDATA^KOS"),
    )
    selection = hd.ko.KeyObjectSelection(
        document_title=codes.DCM.OfInterest,
        referenced_objects=evidence,
        observer_person_context=observer,
        description="Key images chosen by the PACS test data generator",
    )
    document = hd.ko.KeyObjectSelectionDocument(
        evidence=evidence,
        content=selection,
        series_instance_uid=derived_uid("series", sops),
        series_number=900,
        sop_instance_uid=derived_uid("instance", sops),
        instance_number=1,
        manufacturer="PACS test data",
        institution_name="PACS test data",
        content_date=when_date,
        content_time=when_time,
        series_date=when_date,
        series_time=when_time,
    )
    document.InstanceCreationDate = when_date
    document.InstanceCreationTime = when_time
    for item in document.get("ContributingEquipmentSequence", []):
        if "ContributionDateTime" in item:
            item.ContributionDateTime = when_date + when_time
    tmp = f"{out}.part-{os.getpid()}"
    try:
        document.save_as(tmp, enforce_file_format=True)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"[gen_kos] {out}: {len(evidence)} reference(s) into study {studies.pop()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
