//! Patients, orders, reconcile, swap, studyInstances.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::*;

fn store(server: &Server, data: &Path, changes: &[&str]) -> (String, String, String) {
    let mut all = vec![
        "StudyInstanceUID=NEW",
        "SeriesInstanceUID=NEW",
        "SOPInstanceUID=NEW",
    ];
    all.extend_from_slice(changes);
    let bytes = variant(&data.join("real/CT_small.dcm"), &all);
    let a = stow(server, &TENANT_A, "MOD01", std::slice::from_ref(&bytes));
    assert_eq!(a.status, 200, "{}", a.text());
    let url = a.json()["00081199"]["Value"][0]["00081190"]["Value"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let p: Vec<&str> = url.split('/').collect();
    let n = p.len();
    (
        p[n - 5].to_owned(),
        p[n - 3].to_owned(),
        p[n - 1].to_owned(),
    )
}

fn study_patient(server: &Server, study: &str) -> Value {
    let a = get(
        &server.url(&format!(
            "/qido/{}/studies?StudyInstanceUID={study}",
            TENANT_A.ae
        )),
        TENANT_A.key,
    );
    assert_eq!(a.status, 200, "{study}: {}", a.text());
    a.json()[0].clone()
}

#[test]
fn patients_are_created_updated_and_merged() {
    let data = data_dir();
    for backend in backends() {
        let server = Server::start(backend);
        let create = json!({"patientID": "PID-123", "patientName": "DOE^JOHN", "patientBirthDate": "20211224",
                            "patientSex": "M", "idIssuer": "ISSUER", "userName": "user543"});
        let a = post_json(&server, "/patients/create", &TENANT_A, &create);
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.json()["patient"]["patientName"], "DOE^JOHN");
        assert_eq!(
            post_json(&server, "/patients/create", &TENANT_A, &create).assert_json_error(409),
            "patient_exists"
        );
        let mut other_issuer = create.clone();
        other_issuer["idIssuer"] = json!("OTHER");
        assert_eq!(
            post_json(&server, "/patients/create", &TENANT_A, &other_issuer).status,
            200
        );
        for field in ["patientID", "patientName", "userName"] {
            let mut bad = create.clone();
            bad.as_object_mut().unwrap().remove(field);
            let e = post_json(&server, "/patients/create", &TENANT_A, &bad);
            e.assert_json_error(400);
            assert!(e.text().contains(field), "{}", e.text());
        }
        let mut bad_date = create.clone();
        bad_date["patientBirthDate"] = json!("2021-12-24");
        post_json(&server, "/patients/create", &TENANT_A, &bad_date).assert_json_error(400);

        // Update: the patient's studies and orders follow.
        let (study, ..) = store(&server, &data, &["PatientID=PID-9", "PatientName=OLD^NAME"]);
        let order = json!({"ScheduledStationAETitle": "CT1", "ScheduledProcedureStepStartDate": "20221205",
            "ScheduledProcedureStepStartTime": "155430", "Modality": "CT", "ScheduledProcedureStepDescription": "d",
            "StudyInstanceUID": "1.2.752.24.5.1", "AccessionNumber": "AN1", "PatientName": "OLD^NAME", "PatientID": "PID-9"});
        assert_eq!(
            post_json(&server, "/orders/create", &TENANT_A, &order).status,
            200
        );
        let upd = json!({"patientID": "PID-9", "patientName": "NEW^NAME", "patientBirthDate": "19700101",
                         "patientSex": "F", "operatorName": "op", "userName": "u"});
        let a = post_json(&server, "/patients/update", &TENANT_A, &upd);
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(
            study_patient(&server, &study)["00100010"]["Value"][0]["Alphabetic"],
            "NEW^NAME"
        );
        // The order carries the new name (it is deleted and echoed back to check).
        let del = request(
            "DELETE",
            &server.url("/orders/delete?studyUid=1.2.752.24.5.1"),
            Some(TENANT_A.key),
            &[],
            None,
        );
        assert_eq!(del.status, 200, "{}", del.text());
        assert_eq!(del.json()["order"]["PatientName"], "NEW^NAME");
        let mut unknown = upd.clone();
        unknown["patientID"] = json!("NOBODY");
        post_json(&server, "/patients/update", &TENANT_A, &unknown).assert_json_error(404);

        // Merge: every study of the source goes to the (new) target.
        let (s1, ..) = store(&server, &data, &["PatientID=SRC-1"]);
        let (s2, ..) = store(&server, &data, &["PatientID=SRC-1"]);
        let merge = json!({"sourcePatientID": "SRC-1", "targetPatientID": "TGT-1", "patientName": "TEST^NAME",
                           "patientBirthDate": "19700101", "patientSex": "O", "operatorName": "operator 5", "userName": "john"});
        let a = post_json(&server, "/patients/merge", &TENANT_A, &merge);
        assert_eq!(a.status, 200, "{}", a.text());
        for s in [&s1, &s2] {
            assert_eq!(study_patient(&server, s)["00100020"]["Value"][0], "TGT-1");
        }
        let patients = get(
            &server.url(&format!("/qido/{}/patients?PatientID=SRC-1", TENANT_A.ae)),
            TENANT_A.key,
        );
        assert_eq!(patients.status, 204, "a merged patient is no longer listed");
        // The 409 cases of the source document.
        assert_eq!(
            post_json(&server, "/patients/merge", &TENANT_A, &merge).assert_json_error(409),
            "no_study_for_source"
        );
        let mut nobody = merge.clone();
        nobody["sourcePatientID"] = json!("NOBODY");
        assert_eq!(
            post_json(&server, "/patients/merge", &TENANT_A, &nobody).assert_json_error(409),
            "source_patient_not_found"
        );
        let mut multi = merge.clone();
        multi["sourcePatientID"] = json!("PID-123");
        assert_eq!(
            post_json(&server, "/patients/merge", &TENANT_A, &multi).assert_json_error(409),
            "multiple_source_patients"
        );
        let (_s3, ..) = store(&server, &data, &["PatientID=SRC-2"]);
        let mut multi_target = merge.clone();
        multi_target["sourcePatientID"] = json!("SRC-2");
        multi_target["targetPatientID"] = json!("PID-123");
        assert_eq!(
            post_json(&server, "/patients/merge", &TENANT_A, &multi_target).assert_json_error(409),
            "multiple_target_patients"
        );

        let kinds: Vec<String> = events_after(&server, &TENANT_A, 0)
            .iter()
            .map(|e| e["eventType"].as_str().unwrap().to_owned())
            .collect();
        for k in [
            "PATIENT_CREATED",
            "PATIENT_UPDATED",
            "ORDER_CREATED",
            "ORDER_DELETED",
            "PATIENTS_MERGED",
        ] {
            assert!(kinds.iter().any(|x| x == k), "no {k} event in {kinds:?}");
        }
    }
}

#[test]
fn reconcile_and_swap_move_series_between_studies() {
    let data = data_dir();
    for backend in backends() {
        let server = Server::start(backend);
        let (source, source_series, _) = store(&server, &data, &["PatientID=P-1"]);
        let target = "1.950.94590.2";
        let body = json!({"sourceStudyInstanceUID": source, "targetStudyInstanceUID": target, "patientID": "RECON-123",
            "patientName": "PATIENT^NEW", "patientBirthDate": "19010101", "patientSex": "M", "accessionNumber": "AN201191249",
            "studyDescription": "Reconciled study", "studyDate": "20211229", "userName": "operator"});
        let before = last_event(&server, &TENANT_A);
        let a = post_json(&server, "/studies/reconcile", &TENANT_A, &body);
        assert_eq!(a.status, 200, "{}", a.text());
        let t = study_patient(&server, target);
        assert_eq!(t["00100020"]["Value"][0], "RECON-123");
        assert_eq!(t["00080050"]["Value"][0], "AN201191249");
        assert_eq!(t["00081030"]["Value"][0], "Reconciled study");
        assert_eq!(t["00201206"]["Value"][0], 1);
        let series = get(
            &server.url(&format!("/qido/{}/studies/{target}/series", TENANT_A.ae)),
            TENANT_A.key,
        )
        .json();
        assert_eq!(series[0]["0020000E"]["Value"][0], source_series);
        let gone = get(
            &server.url(&format!(
                "/qido/{}/studies?StudyInstanceUID={source}",
                TENANT_A.ae
            )),
            TENANT_A.key,
        );
        assert_eq!(
            gone.status, 204,
            "the emptied source study is no longer listed"
        );
        let kinds: Vec<String> = events_after(&server, &TENANT_A, before)
            .iter()
            .map(|e| e["eventType"].as_str().unwrap().to_owned())
            .collect();
        assert!(kinds.contains(&"STUDY_AVAILABLE".to_owned()), "{kinds:?}");
        // Retrieval under the target study says the target's values.
        let meta = get(
            &server.url(&format!(
                "/wado-rs/{}/studies/{target}/metadata",
                TENANT_A.ae
            )),
            TENANT_A.key,
        )
        .json();
        assert_eq!(meta[0]["0020000D"]["Value"][0], target);
        assert_eq!(meta[0]["00100020"]["Value"][0], "RECON-123");
        // Target exists with another patient: 409; unknown source: 404.
        let (other, ..) = store(&server, &data, &["PatientID=P-2"]);
        let mut mismatch = body.clone();
        mismatch["sourceStudyInstanceUID"] = json!(other);
        mismatch["patientID"] = json!("SOMEONE-ELSE");
        assert_eq!(
            post_json(&server, "/studies/reconcile", &TENANT_A, &mismatch).assert_json_error(409),
            "patient_mismatch"
        );
        let mut unknown = body.clone();
        unknown["sourceStudyInstanceUID"] = json!("1.2.3.4");
        post_json(&server, "/studies/reconcile", &TENANT_A, &unknown).assert_json_error(404);
        let mut bad = body.clone();
        bad.as_object_mut().unwrap().remove("patientID");
        post_json(&server, "/studies/reconcile", &TENANT_A, &bad).assert_json_error(400);

        // Swap: the two studies exchange their series.
        let (a_study, a_series, _) = store(&server, &data, &["PatientID=SW-A"]);
        let (b_study, b_series, _) = store(&server, &data, &["PatientID=SW-B"]);
        let swap = json!({"sourceStudyInstanceUID": a_study, "targetStudyInstanceUID": b_study, "userName": "Test"});
        assert_eq!(
            post_json(&server, "/studies/swap", &TENANT_A, &swap).status,
            200
        );
        let in_a = get(
            &server.url(&format!("/qido/{}/studies/{a_study}/series", TENANT_A.ae)),
            TENANT_A.key,
        )
        .json();
        let in_b = get(
            &server.url(&format!("/qido/{}/studies/{b_study}/series", TENANT_A.ae)),
            TENANT_A.key,
        )
        .json();
        assert_eq!(in_a[0]["0020000E"]["Value"][0], b_series);
        assert_eq!(in_b[0]["0020000E"]["Value"][0], a_series);
        let mut missing = swap.clone();
        missing["targetStudyInstanceUID"] = json!("1.2.3.4");
        post_json(&server, "/studies/swap", &TENANT_A, &missing).assert_json_error(404);
    }
}

#[test]
fn orders_are_created_once_and_deleted() {
    let server = Server::start(Backend::Sqlite);
    let order = json!({
        "ScheduledStationAETitle": "STATION-AET", "ScheduledProcedureStepStartDate": "20221205",
        "ScheduledProcedureStepStartTime": "155430", "Modality": "CT", "ScheduledPerformingPhysiciansName": "TEST",
        "ScheduledProcedureStepDescription": "Procedure step description", "ScheduledProcedureStepID": "1234",
        "RequestedProcedureDescription": "Procedure description", "RequestedProcedureID": "4567",
        "StudyInstanceUID": "1.2.752.24.5.2584605181.20150129083013.816906", "AccessionNumber": "AN123",
        "RequestingPhysician": "REQUESTING^PHYSICIAN", "ReferringPhysicianName": "REFERRING^PHYSICIAN", "AdmissionID": "789",
        "CurrentPatientLocation": "bar", "PatientName": "SURNAME^NAME", "PatientID": "NONE", "PatientBirthDate": "19860130",
        "PatientSex": "M", "ConfidentialityConstraintOnPatientDataDescription": "No constraint", "PatientState": "Some state",
        "PregnancyStatus": "Some status", "MedicalAlerts": "Some medical alert", "PlacerOrderNumberImagingServiceRequest": "2345566",
        "ServiceEpisodeID": "episode id", "ScheduledStationName": "STATION-NAME"
    });
    let post = |ct: &str, body: &Value| {
        request(
            "POST",
            &server.url("/orders/create"),
            Some(TENANT_A.key),
            &[("Content-Type", ct)],
            Some(body.to_string().into_bytes()),
        )
    };
    let a = post("text/json; charset=utf-8", &order);
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["order"]["ServiceEpisodeID"], "episode id");
    assert_eq!(
        post("application/json", &order).assert_json_error(409),
        "order_exists"
    );
    post("application/xml", &order).assert_json_error(415);
    for field in [
        "PatientID",
        "StudyInstanceUID",
        "PatientName",
        "ScheduledStationAETitle",
        "ScheduledProcedureStepDescription",
        "ScheduledProcedureStepStartDate",
        "ScheduledProcedureStepStartTime",
        "Modality",
        "AccessionNumber",
    ] {
        let mut bad = order.clone();
        bad.as_object_mut().unwrap().remove(field);
        bad["StudyInstanceUID"] = json!("1.2.3.99");
        if field == "StudyInstanceUID" {
            bad.as_object_mut().unwrap().remove(field);
        }
        let e = post("application/json", &bad);
        e.assert_json_error(400);
        assert!(e.text().contains(field), "{field}: {}", e.text());
    }
    let uid = "1.2.752.24.5.2584605181.20150129083013.816906";
    let del = |q: &str| {
        request(
            "DELETE",
            &server.url(&format!("/orders/delete{q}")),
            Some(TENANT_A.key),
            &[],
            None,
        )
    };
    assert_eq!(del(&format!("?studyUid={uid}")).status, 200);
    del(&format!("?studyUid={uid}")).assert_json_error(404);
    del("").assert_json_error(400);
    // Deleted: it can be created again.
    assert_eq!(post("application/json", &order).status, 200);
}

#[test]
fn study_instances_has_exactly_the_keys_of_the_source_document() {
    let data = data_dir();
    let server = Server::start(Backend::Sqlite);
    let (study, series, sop) = store(&server, &data, &[]);
    let a = get(
        &server.url(&format!("/studyInstances?studyUid={study}")),
        TENANT_A.key,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let list = a.json();
    let item = list[0].as_object().unwrap();
    let mut keys: Vec<&str> = item.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        vec![
            "acquisitionTime",
            "bodyPartExamined",
            "codeMeaning",
            "contentDate",
            "contentTime",
            "imageLaterality",
            "imageType",
            "laterality",
            "modality",
            "numberOfFrames",
            "protocolName",
            "seriesDescription",
            "seriesInstanceUid",
            "seriesNumber",
            "sopClassUid",
            "sopInstanceUid",
            "studyDescription",
            "studyInstanceUid",
            "viewPosition"
        ]
    );
    assert_eq!(item["sopInstanceUid"], sop);
    assert_eq!(item["seriesInstanceUid"], series);
    assert_eq!(item["modality"], "CT");
    assert_eq!(item["imageType"], "ORIGINAL\\PRIMARY\\AXIAL");
    assert_eq!(item["codeMeaning"], Value::Null);
    get(
        &server.url("/studyInstances?studyUid=1.2.3.4"),
        TENANT_A.key,
    )
    .assert_json_error(404);
    get(&server.url("/studyInstances"), TENANT_A.key).assert_json_error(400);
    get(&server.url("/studyInstances?studyUid=1.02"), TENANT_A.key).assert_json_error(400);
    assert_eq!(
        get(
            &server.url(&format!("/studyInstances?studyUid={study}")),
            TENANT_B.key
        )
        .status,
        404
    );
}

/// A Person Name beyond PS3.5's limits is refused by every API that writes
/// one, and by STOW when Explicit VR could not hold it; nothing changes.
#[test]
fn over_long_patient_names_are_refused_everywhere() {
    let data = data_dir();
    let server = Server::start(Backend::Sqlite);
    let (study, ..) = store(&server, &data, &["PatientID=LONG-1", "PatientName=KEEP^ME"]);
    let before = last_event(&server, &TENANT_A);
    let files = server.stored_files();
    let huge = "A".repeat(70_000);
    let long_group = "B".repeat(65);
    for name in [huge.as_str(), long_group.as_str(), "A=B=C=D"] {
        let requests = [
            (
                "/patients/create",
                json!({"patientID": "LONG-2", "patientName": name, "userName": "u"}),
            ),
            (
                "/patients/update",
                json!({"patientID": "LONG-1", "patientName": name, "userName": "u"}),
            ),
            (
                "/studies/move",
                json!({"studyInstanceUid": study, "targetPatientID": "LONG-3", "patientName": name, "userName": "u"}),
            ),
        ];
        for (path, body) in requests {
            let a = post_json(&server, path, &TENANT_A, &body);
            a.assert_json_error(400);
            let message = a.json()["message"].as_str().unwrap().to_owned();
            assert!(message.contains("patientName"), "{path}: {message}");
        }
    }
    let order = json!({"ScheduledStationAETitle": "CT1", "ScheduledProcedureStepStartDate": "20221205",
        "ScheduledProcedureStepStartTime": "155430", "Modality": "CT", "StudyInstanceUID": "1.2.752.24.5.9",
        "AccessionNumber": "AN9", "PatientName": huge, "PatientID": "LONG-4"});
    post_json(&server, "/orders/create", &TENANT_A, &order).assert_json_error(400);

    // STOW: a 70,000-character PatientName in an Implicit VR file.
    let bytes = variant(
        &data.join("real/MR_small_implicit.dcm"),
        &[
            "StudyInstanceUID=NEW",
            "SeriesInstanceUID=NEW",
            "SOPInstanceUID=NEW",
            &format!("PatientName={huge}"),
        ],
    );
    let a = stow(&server, &TENANT_A, "MOD01", &[bytes]);
    assert_eq!(a.status, 400, "{}", a.text());
    assert!(a.text().contains("PatientName"), "{}", a.text());

    assert_eq!(last_event(&server, &TENANT_A), before, "no event");
    assert_eq!(server.stored_files(), files, "no file");
    assert_eq!(
        study_patient(&server, &study)["00100010"]["Value"][0]["Alphabetic"],
        "KEEP^ME"
    );
    assert!(qido(&server, &TENANT_A, "/patients?PatientID=LONG-2").is_empty());
}
