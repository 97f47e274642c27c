//! Previews, WADO-URI JPEG, WADO-RS frames, rendered and thumbnail resources,
//! checked against pydicom (+ numpy, Pillow) renderings of the same files.

use std::path::Path;

use serde_json::Value;

use crate::support::*;

/// Files with their own SOP Instance UIDs, across modalities and syntaxes.
const FILES: &[&str] = &[
    "CT_small.dcm",                  // CT, explicit LE, 16-bit, window
    "MR_small_jpeg_ls_lossless.dcm", // JPEG-LS
    "RG1_UNCR.dcm",                  // MONOCHROME1, native
    "RG3_J2KI.dcm",                  // MONOCHROME1, JPEG 2000
    "US1_UNCR.dcm",                  // RGB
    "examples_palette.dcm",          // PALETTE COLOR
    "examples_ybr_color.dcm",        // YBR, JPEG baseline, 30 frames
    "JPEG-LL.dcm",                   // JPEG lossless
    "JPEG2000.dcm",                  // JPEG 2000
    "emri_small_RLE.dcm",            // RLE, 10 frames
    "image_dfl.dcm",                 // deflated
    "ExplVR_BigEnd.dcm",             // explicit big endian
    "gdcm-US-ALOKA-16.dcm",          // 16-bit US
    "SC_rgb_rle.dcm",                // RGB RLE
];

fn uids(path: &Path) -> (String, String, String) {
    let v: Value = serde_json::from_str(&python("dump.py", &[path.to_str().unwrap()])).unwrap();
    let s = |k: &str| v[k].as_str().unwrap().to_owned();
    (
        s("StudyInstanceUID"),
        s("SeriesInstanceUID"),
        s("SOPInstanceUID"),
    )
}

fn stats_of_jpeg(bytes: &[u8]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.jpg");
    std::fs::write(&f, bytes).unwrap();
    serde_json::from_str(&python(
        "render_reference.py",
        &["--jpeg", f.to_str().unwrap()],
    ))
    .unwrap()
}

fn reference(path: &Path, extra: &[&str]) -> Value {
    let mut args = vec![path.to_str().unwrap()];
    args.extend_from_slice(extra);
    serde_json::from_str(&python("render_reference.py", &args)).unwrap()
}

fn store_files(server: &Server, data: &Path, files: &[&str]) {
    let parts: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(data.join("real").join(f)).unwrap())
        .collect();
    let a = stow(server, &TENANT_A, "MOD01", &parts);
    assert_eq!(a.status, 200, "{}", a.text());
}

#[test]
fn previews_match_a_pydicom_rendering() {
    let data = data_dir();
    let server = Server::start(Backend::Sqlite);
    store_files(&server, &data, FILES);
    for f in FILES {
        let path = data.join("real").join(f);
        let (_, _, sop) = uids(&path);
        let a = get(
            &server.url(&format!("/preview?objectUID={sop}")),
            TENANT_A.key,
        );
        assert_eq!(a.status, 200, "{f}: {}", a.text());
        assert_eq!(a.header("content-type"), Some("image/jpeg"));
        let ours = stats_of_jpeg(&a.body);
        let want = reference(&path, &["256"]);
        for dim in ["width", "height"] {
            let (o, w) = (ours[dim].as_i64().unwrap(), want[dim].as_i64().unwrap());
            assert!((o - w).abs() <= 1, "{f}: {dim} {o} vs {w}");
        }
        // Mean brightness within 8 of 255 (JPEG, resampling and rounding differ).
        let (o, w) = (
            ours["mean"].as_f64().unwrap(),
            want["mean"].as_f64().unwrap(),
        );
        assert!((o - w).abs() <= 8.0, "{f}: mean {o:.1} vs pydicom {w:.1}");
        if f.starts_with("RG") {
            // MONOCHROME1 is inverted: the uninverted image would be far off.
            assert!(
                (o - (255.0 - w)).abs() > 30.0,
                "{f}: looks uninverted ({o:.1})"
            );
        }
    }
}

#[test]
fn preview_picks_and_refuses_as_documented() {
    let data = data_dir();
    let server = Server::start(Backend::Sqlite);
    // Two instances of one series; the one with the lowest Instance Number is the preview.
    let series = "2.25.31337001";
    let ct = data.join("real/CT_small.dcm");
    let bright = variant(
        &ct,
        &[
            "SOPInstanceUID=NEW",
            &format!("SeriesInstanceUID={series}"),
            "InstanceNumber=5",
            "WindowCenter=-500",
        ],
    );
    let dark = variant(
        &ct,
        &[
            "SOPInstanceUID=NEW",
            &format!("SeriesInstanceUID={series}"),
            "InstanceNumber=2",
            "WindowCenter=800",
        ],
    );
    assert_eq!(
        stow(&server, &TENANT_A, "MOD01", &[bright, dark.clone()]).status,
        200
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dark.dcm"), &dark).unwrap();
    let (_, _, dark_sop) = uids(&dir.path().join("dark.dcm"));
    let by_series = get(
        &server.url(&format!("/preview?seriesUID={series}")),
        TENANT_A.key,
    );
    let by_object = get(
        &server.url(&format!("/preview?objectUID={dark_sop}")),
        TENANT_A.key,
    );
    assert_eq!(by_series.status, 200);
    assert_eq!(
        by_series.body, by_object.body,
        "the series preview is its lowest Instance Number"
    );
    let small = get(
        &server.url(&format!("/preview?objectUID={dark_sop}&size=64")),
        TENANT_A.key,
    );
    assert!(stats_of_jpeg(&small.body)["width"].as_i64().unwrap() <= 64);

    get(&server.url("/preview"), TENANT_A.key).assert_json_error(400);
    get(
        &server.url(&format!("/preview?objectUID={dark_sop}&seriesUID={series}")),
        TENANT_A.key,
    )
    .assert_json_error(400);
    get(&server.url("/preview?objectUID=1.2.3.4"), TENANT_A.key).assert_json_error(404);
    get(
        &server.url(&format!("/preview?objectUID={dark_sop}&size=0")),
        TENANT_A.key,
    )
    .assert_json_error(400);
    store_files(&server, &data, &["test-SR.dcm", "JPGExtended.dcm"]);
    let (_, _, sr) = uids(&data.join("real/test-SR.dcm"));
    get(
        &server.url(&format!("/preview?objectUID={sr}")),
        TENANT_A.key,
    )
    .assert_json_error(404);
    // 12-bit JPEG Extended cannot be decoded: a clear 4xx, not a 500.
    let (_, _, ext) = uids(&data.join("real/JPGExtended.dcm"));
    assert_eq!(
        get(
            &server.url(&format!("/preview?objectUID={ext}")),
            TENANT_A.key
        )
        .assert_json_error(422),
        "cannot_render"
    );
    // Another tenant sees nothing.
    assert_eq!(
        get(
            &server.url(&format!("/preview?objectUID={dark_sop}")),
            TENANT_B.key
        )
        .status,
        404
    );
}

#[test]
fn a_whole_slide_series_previews_from_its_smallest_level() {
    let data = data_dir();
    let server = Server::start(Backend::Sqlite);
    let levels = files_under(&data.join("wsi/dicom-small"));
    let levels: Vec<_> = levels
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    let parts: Vec<Vec<u8>> = levels.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert_eq!(stow(&server, &TENANT_A, "SCANNER", &parts).status, 200);
    let (_, series, _) = uids(&levels[0]);
    // The smallest level: the least total pixel matrix.
    let area = |p: &std::path::PathBuf| {
        let v: Value = serde_json::from_str(&python("dump.py", &[p.to_str().unwrap()])).unwrap();
        v["TotalPixelMatrixRows"].as_u64().unwrap() * v["TotalPixelMatrixColumns"].as_u64().unwrap()
    };
    let smallest = levels.iter().min_by_key(|p| area(p)).unwrap();
    let (_, _, smallest_sop) = uids(smallest);
    let a = get(
        &server.url(&format!("/preview?seriesUID={series}")),
        TENANT_A.key,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let b = get(
        &server.url(&format!("/preview?objectUID={smallest_sop}")),
        TENANT_A.key,
    );
    assert_eq!(a.body, b.body, "the slide preview is its smallest level");
}

#[test]
fn wado_uri_renders_jpeg_with_its_parameters() {
    let data = data_dir();
    let server = Server::start(Backend::Sqlite);
    store_files(&server, &data, &["CT_small.dcm", "emri_small_RLE.dcm"]);
    let path = data.join("real/CT_small.dcm");
    let (st, se, sop) = uids(&path);
    let base = format!("/wado?requestType=WADO&studyUID={st}&seriesUID={se}&objectUID={sop}");
    let plain = get(&server.url(&base), TENANT_A.key);
    assert_eq!(plain.status, 200, "{}", plain.text());
    assert_eq!(plain.header("content-type"), Some("image/jpeg"));
    let small = get(
        &server.url(&format!("{base}&contentType=image/jpeg&rows=64&columns=64")),
        TENANT_A.key,
    );
    let s = stats_of_jpeg(&small.body);
    assert!(
        s["width"].as_i64().unwrap() <= 64 && s["height"].as_i64().unwrap() <= 64,
        "{s}"
    );
    let windowed = get(
        &server.url(&format!("{base}&windowCenter=-600&windowWidth=200")),
        TENANT_A.key,
    );
    let w = stats_of_jpeg(&windowed.body)["mean"].as_f64().unwrap();
    let want = reference(&path, &["512", "1", "-600", "200"])["mean"]
        .as_f64()
        .unwrap();
    assert!((w - want).abs() <= 8.0, "windowed mean {w:.1} vs {want:.1}");
    let low = get(&server.url(&format!("{base}&imageQuality=5")), TENANT_A.key);
    let high = get(
        &server.url(&format!("{base}&imageQuality=100")),
        TENANT_A.key,
    );
    assert!(low.body.len() < high.body.len());
    // frameNumber is 1-based.
    let mr = data.join("real/emri_small_RLE.dcm");
    let (mst, mse, msop) = uids(&mr);
    let mbase = format!("/wado?requestType=WADO&studyUID={mst}&seriesUID={mse}&objectUID={msop}");
    let f3 = get(&server.url(&format!("{mbase}&frameNumber=3")), TENANT_A.key);
    assert_eq!(f3.status, 200);
    let m = stats_of_jpeg(&f3.body)["mean"].as_f64().unwrap();
    let want = reference(&mr, &["512", "3"])["mean"].as_f64().unwrap();
    assert!((m - want).abs() <= 8.0, "frame 3 mean {m:.1} vs {want:.1}");
    get(
        &server.url(&format!("{mbase}&frameNumber=11")),
        TENANT_A.key,
    )
    .assert_json_error(404);
    get(&server.url(&format!("{base}&frameNumber=0")), TENANT_A.key).assert_json_error(400);
    get(
        &server.url(&format!("{base}&windowCenter=40")),
        TENANT_A.key,
    )
    .assert_json_error(400);
    get(
        &server.url(&format!("{base}&contentType=image/gif")),
        TENANT_A.key,
    )
    .assert_json_error(406);
}

fn frames_of(server: &Server, path: &Path, list: &str, accept: Option<&str>) -> Answer {
    let (st, se, sop) = uids(path);
    let url = server.url(&format!(
        "/wado-rs/{}/studies/{st}/series/{se}/instances/{sop}/frames/{list}",
        TENANT_A.ae
    ));
    let headers: Vec<(&str, &str)> = accept.map(|a| vec![("Accept", a)]).unwrap_or_default();
    request("GET", &url, Some(TENANT_A.key), &headers, None)
}

#[test]
fn frames_are_the_stored_frames() {
    let data = data_dir();
    let server = Server::start(Backend::Sqlite);
    store_files(
        &server,
        &data,
        &[
            "emri_small_RLE.dcm",
            "examples_ybr_color.dcm",
            "CT_small.dcm",
        ],
    );
    let wsi = files_under(&data.join("wsi/dicom-small"))
        .into_iter()
        .find(|p| p.ends_with("wsi-000000.dcm"))
        .unwrap();
    assert_eq!(
        stow(
            &server,
            &TENANT_A,
            "SCANNER",
            &[std::fs::read(&wsi).unwrap()]
        )
        .status,
        200
    );
    let any = Some("multipart/related; type=\"application/octet-stream\"; transfer-syntax=*");
    for (file, list) in [
        (data.join("real/emri_small_RLE.dcm"), "1,3,10"),
        (data.join("real/examples_ybr_color.dcm"), "2,30"),
        (data.join("real/CT_small.dcm"), "1"),
        (wsi.clone(), "100,768"),
    ] {
        let a = frames_of(&server, &file, list, any);
        assert_eq!(a.status, 200, "{}: {}", file.display(), a.text());
        let parts = split_multipart(&a.body, a.header("content-type").unwrap());
        let numbers: Vec<&str> = list.split(',').collect();
        let mut args = vec![file.to_str().unwrap()];
        args.extend(numbers.iter());
        let want: Value = serde_json::from_str(&python("frame_bytes.py", &args)).unwrap();
        assert_eq!(parts.len(), numbers.len());
        for (n, part) in numbers.iter().zip(&parts) {
            assert_eq!(
                sha1_hex(part),
                want[*n]["sha1"],
                "{} frame {n}",
                file.display()
            );
        }
    }
    // Uncompressed asked for JPEG frames: decoded pixels.
    let ybr = data.join("real/examples_ybr_color.dcm");
    let a = frames_of(
        &server,
        &ybr,
        "1",
        Some("multipart/related; type=\"application/octet-stream\""),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let part = split_multipart(&a.body, a.header("content-type").unwrap()).remove(0);
    let dims: Value = serde_json::from_str(&python("dump.py", &[ybr.to_str().unwrap()])).unwrap();
    let size = dims["Rows"].as_u64().unwrap() * dims["Columns"].as_u64().unwrap() * 3;
    assert_eq!(part.len() as u64, size, "a decoded RGB frame");
    // Without Accept: the stored bytes, typed by their syntax.
    let a = frames_of(&server, &ybr, "1", None);
    assert!(
        a.header("content-type").unwrap().contains("image/jpeg"),
        "{:?}",
        a.header("content-type")
    );
    for bad in ["0", "abc", "1,,2"] {
        frames_of(&server, &ybr, bad, None).assert_json_error(400);
    }
    // A frame listed twice: refused, so an answer never outgrows the instance.
    let repeated = vec!["1"; 100].join(",");
    for bad in ["1,1", "2,1,2", repeated.as_str()] {
        let a = frames_of(&server, &ybr, bad, any);
        a.assert_json_error(400);
        assert!(a.text().contains("more than once"), "{}", a.text());
    }
    frames_of(&server, &ybr, "31", None).assert_json_error(404);
    frames_of(
        &server,
        &ybr,
        "1",
        Some("multipart/related; type=\"image/png\""),
    )
    .assert_json_error(406);
}

#[test]
fn rendered_and_thumbnail_resources() {
    let data = data_dir();
    let server = Server::start(Backend::Sqlite);
    store_files(&server, &data, &["emri_small_RLE.dcm", "CT_small.dcm"]);
    let mr = data.join("real/emri_small_RLE.dcm");
    let (st, se, sop) = uids(&mr);
    let ae = TENANT_A.ae;
    let one = |path: String| get(&server.url(&path), TENANT_A.key);
    for path in [
        format!("/wado-rs/{ae}/studies/{st}/series/{se}/instances/{sop}/rendered"),
        format!("/wado-rs/{ae}/studies/{st}/series/{se}/instances/{sop}/frames/4/rendered"),
        format!("/wado-rs/{ae}/studies/{st}/series/{se}/instances/{sop}/thumbnail"),
        format!("/wado-rs/{ae}/studies/{st}/series/{se}/instances/{sop}/frames/4/thumbnail"),
        format!("/wado-rs/{ae}/studies/{st}/series/{se}/thumbnail"),
        format!("/wado-rs/{ae}/studies/{st}/thumbnail"),
    ] {
        let a = one(path.clone());
        assert_eq!(a.status, 200, "{path}: {}", a.text());
        assert_eq!(a.header("content-type"), Some("image/jpeg"), "{path}");
        stats_of_jpeg(&a.body);
    }
    let frame4 = one(format!(
        "/wado-rs/{ae}/studies/{st}/series/{se}/instances/{sop}/frames/4/rendered"
    ));
    let m = stats_of_jpeg(&frame4.body)["mean"].as_f64().unwrap();
    let want = reference(&mr, &["4096", "4"])["mean"].as_f64().unwrap();
    assert!((m - want).abs() <= 8.0);
    let series = one(format!("/wado-rs/{ae}/studies/{st}/series/{se}/rendered"));
    assert_eq!(series.status, 200);
    assert!(
        series
            .header("content-type")
            .unwrap()
            .starts_with("multipart/related")
    );
    assert_eq!(
        split_multipart(&series.body, series.header("content-type").unwrap()).len(),
        1
    );
    let vp = one(format!(
        "/wado-rs/{ae}/studies/{st}/series/{se}/instances/{sop}/rendered?viewport=32,32&quality=50"
    ));
    assert!(stats_of_jpeg(&vp.body)["width"].as_i64().unwrap() <= 32);
    let png = request(
        "GET",
        &server.url(&format!(
            "/wado-rs/{ae}/studies/{st}/series/{se}/instances/{sop}/rendered"
        )),
        Some(TENANT_A.key),
        &[("Accept", "image/gif")],
        None,
    );
    png.assert_json_error(406);
    one(format!(
        "/wado-rs/{ae}/studies/{st}/series/{se}/instances/{sop}/rendered?viewport=0,1"
    ))
    .assert_json_error(400);
}

/// Rendering is bounded by `[limits]`, not by the request: a frame above
/// `render_max_pixels` is not decoded (422), and an image without a viewport
/// is fitted into `render_max_side`.
#[test]
fn rendering_stays_within_the_configured_limits() {
    let data = data_dir();
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            extra_toml: "[limits]\nrender_max_pixels = 10000\nrender_max_side = 48\n".into(),
            ..Options::default()
        },
    );
    // CT_small: 128 x 128 = 16,384 pixels, above the bound.
    // emri_small_RLE: 64 x 64 = 4,096 pixels, under it but above 48 px a side.
    store_files(&server, &data, &["CT_small.dcm", "emri_small_RLE.dcm"]);
    let (_, _, ct) = uids(&data.join("real/CT_small.dcm"));
    let big = get(
        &server.url(&format!("/preview?objectUID={ct}")),
        TENANT_A.key,
    );
    assert_eq!(big.assert_json_error(422), "image_too_large");
    assert!(
        big.text().contains("limits.render_max_pixels"),
        "{}",
        big.text()
    );

    let (st, se, sop) = uids(&data.join("real/emri_small_RLE.dcm"));
    let ae = TENANT_A.ae;
    for path in [
        format!("/wado-rs/{ae}/studies/{st}/series/{se}/instances/{sop}/rendered"),
        format!("/wado-rs/{ae}/studies/{st}/series/{se}/instances/{sop}/rendered?viewport=512,512"),
        format!("/preview?objectUID={sop}&size=512"),
    ] {
        let a = get(&server.url(&path), TENANT_A.key);
        assert_eq!(a.status, 200, "{path}: {}", a.text());
        let stats = stats_of_jpeg(&a.body);
        assert!(
            stats["width"].as_i64().unwrap() <= 48 && stats["height"].as_i64().unwrap() <= 48,
            "{path}: {stats}"
        );
    }
}
