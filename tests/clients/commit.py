#!/usr/bin/env python3
"""Storage Commitment Push Model SCU (pynetdicom): asks the archive to commit
SOP instances, then waits for its N-EVENT-REPORT on the same association.

  commit.py HOST PORT CALLING CALLED CLASS_UID:INSTANCE_UID...

Prints one JSON line: the N-ACTION status, the event type, the committed
instance UIDs and the failed ones with their Failure Reason.
"""
import json
import sys
import threading

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import StorageCommitmentPushModel

WELL_KNOWN_INSTANCE = "1.2.840.10008.1.20.1.1"


def main():
    host, port, calling, called = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    refs = [a.split(":", 1) for a in sys.argv[5:]]
    out = {}
    done = threading.Event()

    def on_report(event):
        info = event.event_information
        out["event_type"] = event.event_type
        out["transaction"] = str(info.TransactionUID)
        out["committed"] = [str(i.ReferencedSOPInstanceUID) for i in info.get("ReferencedSOPSequence", [])]
        out["failed"] = [[str(i.ReferencedSOPInstanceUID), int(i.FailureReason)]
                         for i in info.get("FailedSOPSequence", [])]
        done.set()
        return 0x0000, None

    ae = AE(ae_title=calling)
    ae.add_requested_context(StorageCommitmentPushModel)
    assoc = ae.associate(host, port, ae_title=called, evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
    if not assoc.is_established:
        print(json.dumps({"error": "association not established"}))
        return
    ds = Dataset()
    ds.TransactionUID = generate_uid()
    items = []
    for cls, uid in refs:
        item = Dataset()
        item.ReferencedSOPClassUID = cls
        item.ReferencedSOPInstanceUID = uid
        items.append(item)
    ds.ReferencedSOPSequence = items
    status, _ = assoc.send_n_action(ds, 1, StorageCommitmentPushModel, WELL_KNOWN_INSTANCE)
    out["action_status"] = int(status.Status) if status else None
    done.wait(10)
    out["sent_transaction"] = str(ds.TransactionUID)
    assoc.release()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
