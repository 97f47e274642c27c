#!/usr/bin/env python3
"""What a KOS references: evidence (study/series/SOP) and content items.

  kos_refs.py FILE -> JSON {sop_class, title, evidence: [[series, sop_class, sop]...], content: [...], retrieve: {series: [ae, url]}}
"""
import json
import sys

import pydicom

ds = pydicom.dcmread(sys.argv[1])
evidence, retrieve = [], {}
for st in ds.get("CurrentRequestedProcedureEvidenceSequence", []):
    for se in st.get("ReferencedSeriesSequence", []):
        retrieve[se.SeriesInstanceUID] = [str(se.get("RetrieveAETitle", "")), str(se.get("RetrieveURL", ""))]
        for sop in se.get("ReferencedSOPSequence", []):
            evidence.append([str(se.SeriesInstanceUID), str(sop.ReferencedSOPClassUID), str(sop.ReferencedSOPInstanceUID)])
content = []
for item in ds.get("ContentSequence", []):
    for sop in item.get("ReferencedSOPSequence", []):
        content.append([str(item.ValueType), str(sop.ReferencedSOPClassUID), str(sop.ReferencedSOPInstanceUID)])
title = ds.ConceptNameCodeSequence[0]
print(json.dumps({
    "sop_class": str(ds.SOPClassUID), "sop": str(ds.SOPInstanceUID), "study": str(ds.StudyInstanceUID),
    "patient_id": str(ds.get("PatientID", "")), "title": [str(title.CodeValue), str(title.CodingSchemeDesignator), str(title.CodeMeaning)],
    "evidence": sorted(evidence), "content": sorted(content), "retrieve": retrieve, "modality": str(ds.Modality),
}))
