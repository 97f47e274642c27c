//! QIDO-RS: turning query parameters into a query, and matches into DICOM JSON.

use pacs_dicom_ops::{IncludeFields, QidoOptions, Tag, parse_attribute, render_qido};
use pacs_domain::ids::{SeriesInstanceUid, StudyInstanceUid, validate_uid};
use pacs_domain::model::{Matcher, Query, QueryKey, QueryLevel, QueryScope};

use crate::context::{Ports, Tenant};
use crate::error::{AppError, ErrorCode};

/// The answer to a search: DICOM JSON (none when nothing matched) and warnings
/// for the HTTP `Warning` header.
#[derive(Debug)]
pub struct SearchAnswer {
    pub body: Option<Vec<u8>>,
    pub warnings: Vec<String>,
}

/// Where in the model a search runs (the QIDO-RS path).
#[derive(Debug, Clone)]
pub struct SearchTarget<'a> {
    pub level: QueryLevel,
    pub study: Option<&'a str>,
    pub series: Option<&'a str>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Uid,
    Date,
    Time,
    Text,
    Int,
}

fn key_of(tag: Tag) -> Option<(QueryKey, Kind)> {
    use Kind::*;
    use QueryKey as K;
    Some(match (tag.group(), tag.element()) {
        (0x0010, 0x0020) => (K::PatientId, Text),
        (0x0010, 0x0021) => (K::IssuerOfPatientId, Text),
        (0x0010, 0x0010) => (K::PatientName, Text),
        (0x0010, 0x0030) => (K::PatientBirthDate, Date),
        (0x0010, 0x0040) => (K::PatientSex, Text),
        (0x0020, 0x000D) => (K::StudyInstanceUid, Uid),
        (0x0008, 0x0020) => (K::StudyDate, Date),
        (0x0008, 0x0030) => (K::StudyTime, Time),
        (0x0008, 0x0050) => (K::AccessionNumber, Text),
        (0x0020, 0x0010) => (K::StudyId, Text),
        (0x0008, 0x1030) => (K::StudyDescription, Text),
        (0x0008, 0x0090) => (K::ReferringPhysicianName, Text),
        (0x0008, 0x0061) => (K::ModalitiesInStudy, Text),
        (0x0020, 0x000E) => (K::SeriesInstanceUid, Uid),
        (0x0008, 0x0060) => (K::Modality, Text),
        (0x0020, 0x0011) => (K::SeriesNumber, Int),
        (0x0008, 0x103E) => (K::SeriesDescription, Text),
        (0x0018, 0x0015) => (K::BodyPartExamined, Text),
        (0x0008, 0x1010) => (K::StationName, Text),
        (0x0040, 0x0244) => (K::PerformedProcedureStepStartDate, Date),
        (0x0040, 0x0245) => (K::PerformedProcedureStepStartTime, Time),
        (0x0008, 0x0018) => (K::SopInstanceUid, Uid),
        (0x0008, 0x0016) => (K::SopClassUid, Uid),
        (0x0020, 0x0013) => (K::InstanceNumber, Int),
        (0x0040, 0x0512) => (K::ContainerIdentifier, Text),
        _ => return None,
    })
}

fn invalid(message: String) -> AppError {
    AppError::invalid(ErrorCode::InvalidQuery, message)
}

fn check_digits(name: &str, value: &str, kind: Kind) -> Result<(), AppError> {
    let ok = match kind {
        Kind::Date => value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit()),
        Kind::Time => {
            let (hms, frac) = value.split_once('.').unwrap_or((value, "0"));
            (2..=6).contains(&hms.len())
                && hms.len() % 2 == 0
                && hms.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "{name}: {value:?} is not a valid {}",
            if kind == Kind::Date {
                "date (YYYYMMDD)"
            } else {
                "time (HHMMSS)"
            }
        )))
    }
}

fn matcher(name: &str, value: &str, kind: Kind) -> Result<Matcher, AppError> {
    match kind {
        Kind::Uid => {
            let uids: Vec<String> = value
                .split([',', '\\'])
                .map(|u| {
                    validate_uid(u)
                        .map(str::to_owned)
                        .map_err(|e| invalid(format!("{name}: {}", e.of_kind("UID"))))
                })
                .collect::<Result<_, _>>()?;
            Ok(if uids.len() == 1 {
                Matcher::Exact(uids[0].clone())
            } else {
                Matcher::List(uids)
            })
        }
        Kind::Date | Kind::Time if value.contains('-') => {
            let (from, to) = value.split_once('-').unwrap_or((value, ""));
            if from.is_empty() && to.is_empty() {
                return Err(invalid(format!("{name}: a range needs at least one end")));
            }
            for end in [from, to].into_iter().filter(|e| !e.is_empty()) {
                check_digits(name, end, kind)?;
            }
            if !from.is_empty() && !to.is_empty() && from > to {
                return Err(invalid(format!(
                    "{name}: range {value} ends before it starts"
                )));
            }
            let to = (!to.is_empty()).then(|| {
                // An end time without seconds covers the whole minute/hour.
                if kind == Kind::Time && to.len() < 6 {
                    format!("{to}{}", &"999999.999999"[to.len()..])
                } else {
                    to.to_owned()
                }
            });
            Ok(Matcher::Range {
                from: (!from.is_empty()).then(|| from.to_owned()),
                to,
            })
        }
        Kind::Date | Kind::Time => {
            check_digits(name, value, kind)?;
            Ok(Matcher::Exact(value.to_owned()))
        }
        Kind::Int => {
            let values: Vec<&str> = value.split(['\\', ',']).collect();
            for v in &values {
                v.trim()
                    .parse::<i32>()
                    .map_err(|_| invalid(format!("{name}: {v:?} is not an integer")))?;
            }
            Ok(if values.len() == 1 {
                Matcher::Exact(value.to_owned())
            } else {
                Matcher::List(values.iter().map(|v| v.to_string()).collect())
            })
        }
        Kind::Text if value.contains('*') || value.contains('?') => {
            Ok(Matcher::Wildcard(value.to_owned()))
        }
        Kind::Text if value.contains('\\') => {
            Ok(Matcher::List(value.split('\\').map(String::from).collect()))
        }
        Kind::Text => Ok(Matcher::Exact(value.to_owned())),
    }
}

fn parse_u32(name: &str, value: &str) -> Result<u32, AppError> {
    value.trim().parse().map_err(|_| {
        invalid(format!(
            "{name} must be a non-negative integer, not {value:?}"
        ))
    })
}

/// Parses QIDO-RS query parameters (already percent-decoded).
pub fn parse_query(
    target: &SearchTarget<'_>,
    params: &[(String, String)],
) -> Result<(Query, IncludeFields, Vec<String>), AppError> {
    let mut scope = QueryScope::default();
    if let Some(s) = target.study {
        scope.study = Some(StudyInstanceUid::new(s)?);
    }
    if let Some(s) = target.series {
        scope.series = Some(SeriesInstanceUid::new(s)?);
    }
    let mut filters = Vec::new();
    let mut include = IncludeFields::Default;
    let mut limit = None;
    let mut offset = 0;
    let mut warnings = Vec::new();
    for (name, value) in params {
        match name.as_str() {
            "limit" => limit = Some(parse_u32(name, value)?),
            "offset" => offset = parse_u32(name, value)?,
            "fuzzymatching" | "orderby" | "_" => {}
            "includefield" => {
                for field in value.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                    if field == "all" {
                        include = IncludeFields::All;
                        continue;
                    }
                    let tag = parse_attribute(field).ok_or_else(|| {
                        invalid(format!("includefield: unknown attribute {field:?}"))
                    })?;
                    match &mut include {
                        IncludeFields::All => {}
                        IncludeFields::Tags(tags) => tags.push(tag),
                        IncludeFields::Default => include = IncludeFields::Tags(vec![tag]),
                    }
                }
            }
            _ => {
                let tag = parse_attribute(name).ok_or_else(|| {
                    invalid(format!("unknown query parameter or attribute {name:?}"))
                })?;
                if value.is_empty() {
                    // Universal matching: the attribute is returned, nothing is filtered.
                    match &mut include {
                        IncludeFields::Tags(tags) => tags.push(tag),
                        IncludeFields::Default => include = IncludeFields::Tags(vec![tag]),
                        IncludeFields::All => {}
                    }
                    continue;
                }
                match key_of(tag) {
                    Some((key, kind)) => filters.push((key, matcher(name, value, kind)?)),
                    None => warnings.push(format!(
                        "299 pacs \"{name} is not a supported matching key; it was ignored\""
                    )),
                }
            }
        }
    }
    let with_header = include.needs_header(target.level);
    let paged = limit.is_some() || offset > 0;
    let query = Query {
        level: target.level,
        scope,
        filters,
        limit,
        offset,
        paged,
        with_header,
    };
    Ok((query, include, warnings))
}

/// Runs a QIDO-RS search for `tenant` at `target`.
pub fn search(
    ports: &Ports,
    tenant: &Tenant,
    target: &SearchTarget<'_>,
    params: &[(String, String)],
    retrieve_base: &str,
) -> Result<SearchAnswer, AppError> {
    let (mut query, include, mut warnings) = parse_query(target, params)?;
    // Records that carry stored headers weigh tens of kilobytes: their own cap.
    let max = if query.with_header {
        ports.limits.qido_max_header_results
    } else {
        ports.limits.qido_max_results
    };
    // Without a limit, or with one above the cap, the server's cap is what cut
    // the answer: the client is told so (PS3.18 §8.3.4.4 Warning 299).
    let server_cut = query.limit.is_none_or(|l| l > max);
    let cap = query.limit.unwrap_or(max).min(max);
    query.limit = Some(cap.saturating_add(1));
    let mut matches = ports.queries.query(&tenant.name, &query)?;
    if matches.len() as u64 > u64::from(cap) {
        matches.truncate(cap as usize);
        if server_cut {
            warnings.push(format!(
                "299 pacs \"The number of results exceeded the maximum supported by the server ({max}). Additional results can be requested.\""
            ));
        }
    }
    if matches.is_empty() {
        return Ok(SearchAnswer {
            body: None,
            warnings,
        });
    }
    let opts = QidoOptions {
        level: target.level,
        include: &include,
        retrieve_base,
    };
    Ok(SearchAnswer {
        body: Some(render_qido(&matches, &opts)),
        warnings,
    })
}

/// A C-FIND request: the Query/Retrieve Level and the keys of its identifier.
#[derive(Debug, Clone)]
pub struct FindRequest<'a> {
    /// Query/Retrieve Level as sent (`PATIENT`, `STUDY`, `SERIES`, `IMAGE`).
    pub level: &'a str,
    /// Keys with their values; an empty value is universal matching (returned).
    pub keys: &'a [(Tag, String)],
    /// Whether the information model is Study Root (no PATIENT level).
    pub study_root: bool,
    /// Transfer syntax the answers are encoded in.
    pub transfer_syntax: &'a str,
}

/// The level a C-FIND asks for.
fn find_level(request: &FindRequest<'_>) -> Result<QueryLevel, AppError> {
    Ok(match request.level {
        "PATIENT" if !request.study_root => QueryLevel::Patient,
        "STUDY" => QueryLevel::Study,
        "SERIES" => QueryLevel::Series,
        "IMAGE" => QueryLevel::Instance,
        other => {
            return Err(invalid(format!(
                "QueryRetrieveLevel {other:?} is not a level of this information model"
            )));
        }
    })
}

/// Answers a C-FIND with the matching rules of QIDO-RS: the identifier's keys
/// become the same query (a value matches, an empty value is returned). Each
/// match is one response identifier holding the keys asked for; at most
/// `limits.qido_max_results` of them.
pub fn find(
    ports: &Ports,
    tenant: &Tenant,
    request: &FindRequest<'_>,
) -> Result<Vec<Vec<u8>>, AppError> {
    let level = find_level(request)?;
    let params: Vec<(String, String)> = request
        .keys
        .iter()
        .map(|(tag, value)| {
            (
                format!("{:04X}{:04X}", tag.group(), tag.element()),
                value.clone(),
            )
        })
        .collect();
    let target = SearchTarget {
        level,
        study: None,
        series: None,
    };
    let (mut query, _, _) = parse_query(&target, &params)?;
    // The same caps as QIDO-RS; C-FIND has no paging.
    query.limit = Some(if query.with_header {
        ports.limits.qido_max_header_results
    } else {
        ports.limits.qido_max_results
    });
    let matches = ports.queries.query(&tenant.name, &query)?;
    let requested: Vec<Tag> = request.keys.iter().map(|(t, _)| *t).collect();
    let answer = pacs_dicom_ops::find::FindAnswer {
        level,
        requested: &requested,
        retrieve_ae: tenant.ae_title.as_str(),
        transfer_syntax: request.transfer_syntax,
    };
    matches
        .iter()
        .map(|m| pacs_dicom_ops::find::write_identifier(m, &answer).map_err(AppError::from))
        .collect()
}
