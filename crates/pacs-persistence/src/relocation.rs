//! Study relocation (the `RelocationStore` port): which objects a study has
//! where, and the switch of its rows to the copies on another medium.

use std::collections::BTreeMap;

use diesel::prelude::*;
use pacs_domain::ids::{StudyInstanceUid, TenantName};
use pacs_domain::model::{
    MediumName, Recorder, RelocatedFile, RelocationLookup, StudyFile, StudyRef, StudySelector,
};
use pacs_domain::ports::{RelocationStore, RepositoryError};

use crate::connection::{AnyConnection, Database, Decision};
use crate::lookup::{study_ids, study_ref};
use crate::schema::{instances, series, studies};

type FileRow = (i64, String, String, String, Option<String>, Option<String>);

fn files_of(rows: Vec<FileRow>) -> Result<Vec<StudyFile>, RepositoryError> {
    let mut files = Vec::with_capacity(rows.len());
    for (row, medium, key, sha1, slide_key, slide_sha1) in rows {
        let medium = MediumName::new(&medium)
            .map_err(|e| RepositoryError::internal(format!("stored medium name: {e}")))?;
        if let (Some(key), Some(sha1)) = (slide_key, slide_sha1) {
            files.push(StudyFile {
                row,
                medium: medium.clone(),
                slide: true,
                key,
                sha1,
            });
        }
        files.push(StudyFile {
            row,
            medium,
            slide: false,
            key,
            sha1,
        });
    }
    Ok(files)
}

impl RelocationStore for Database {
    fn study_files(
        &self,
        tenant: &TenantName,
        study: &StudySelector,
    ) -> Result<RelocationLookup, RepositoryError> {
        let t = tenant.as_str();
        let found = self.read(|c| {
            let ids = study_ids(c, t, study, false)?;
            let id = match ids.as_slice() {
                [] => return Ok(None),
                [id] => *id,
                _ => return Ok(Some(None)),
            };
            let uid: String = studies::table
                .find(id)
                .select(studies::study_uid)
                .first(c)?;
            let rows: Vec<FileRow> = instances::table
                .inner_join(series::table)
                .filter(series::study_fk.eq(id))
                .select((
                    instances::id,
                    instances::medium,
                    instances::storage_key,
                    instances::sha1,
                    instances::slide_key,
                    instances::slide_sha1,
                ))
                .order(instances::id)
                .load(c)?;
            Ok(Some(Some((uid, rows))))
        })?;
        Ok(match found {
            None => RelocationLookup::NotFound,
            Some(None) => RelocationLookup::MultipleStudies,
            Some(Some((uid, rows))) => RelocationLookup::Found {
                study: StudyInstanceUid::new(&uid)
                    .map_err(|e| RepositoryError::internal(format!("stored study UID: {e}")))?,
                files: files_of(rows)?,
            },
        })
    }

    fn switch_medium(
        &self,
        tenant: &TenantName,
        study: &StudyInstanceUid,
        target: &MediumName,
        moved: &[RelocatedFile],
        journal: Recorder<'_, StudyRef>,
    ) -> Result<Vec<StudyFile>, RepositoryError> {
        let t = tenant.as_str();
        // Per row: the medium it is on now, and its new keys.
        let mut rows: BTreeMap<i64, (&str, Option<&str>, Option<&str>)> = BTreeMap::new();
        for m in moved {
            let e = rows
                .entry(m.file.row)
                .or_insert((m.file.medium.as_str(), None, None));
            if m.file.slide {
                e.2 = Some(&m.new_key);
            } else {
                e.1 = Some(&m.new_key);
            }
        }
        let switched = self.decide(|c| {
            let ids = study_ids(c, t, &StudySelector::Uid(study.clone()), false)?;
            let [id] = ids.as_slice() else {
                return Ok(Decision::Rollback(None));
            };
            for (row, (from, key, slide_key)) in &rows {
                let Some(key) = key else {
                    return Ok(Decision::Rollback(None));
                };
                let changed = diesel::update(
                    instances::table
                        .filter(instances::id.eq(row))
                        .filter(instances::medium.eq(*from)),
                )
                .set((
                    instances::medium.eq(target.as_str()),
                    instances::storage_key.eq(*key),
                ))
                .execute(c)?;
                if changed != 1 {
                    return Ok(Decision::Rollback(None));
                }
                if let Some(slide_key) = slide_key {
                    diesel::update(instances::table.find(row))
                        .set(instances::slide_key.eq(*slide_key))
                        .execute(c)?;
                }
            }
            let study = study_ref(c, *id)?;
            crate::journal::write(c, tenant, &journal(&study))?;
            Ok(Decision::Commit(Some(orphans(c, moved)?)))
        })?;
        switched.ok_or_else(|| {
            RepositoryError::Conflict("the study changed while it was being relocated".into())
        })
    }
}

/// The old objects that no row names any more (a deprecated row may share one).
fn orphans(c: &mut AnyConnection, moved: &[RelocatedFile]) -> QueryResult<Vec<StudyFile>> {
    let mut out = Vec::new();
    for m in moved {
        let from = m.file.medium.as_str();
        let objects: i64 = instances::table
            .filter(instances::medium.eq(from))
            .filter(instances::storage_key.eq(&m.file.key))
            .count()
            .get_result(c)?;
        let slides: i64 = instances::table
            .filter(instances::medium.eq(from))
            .filter(instances::slide_key.eq(&m.file.key))
            .count()
            .get_result(c)?;
        if objects + slides == 0 {
            out.push(m.file.clone());
        }
    }
    Ok(out)
}
