//! Which stored files rows name, for the startup sweep of files a crash left
//! without their row (`pacs_storage::sweep_orphans`).

use std::collections::HashSet;

use diesel::prelude::*;
use pacs_domain::ports::RepositoryError;

use crate::connection::Database;
use crate::schema::instances;

impl Database {
    /// The keys among `keys` that a row of `medium` names, as the object or
    /// as its slide file, live or deprecated (a deprecated row can be recovered).
    pub fn referenced_keys(
        &self,
        medium: &str,
        keys: &[String],
    ) -> Result<HashSet<String>, RepositoryError> {
        let (objects, slides): (Vec<String>, Vec<Option<String>>) = self.read(|c| {
            let objects = instances::table
                .filter(instances::medium.eq(medium))
                .filter(instances::storage_key.eq_any(keys))
                .select(instances::storage_key)
                .load(c)?;
            let slides = instances::table
                .filter(instances::medium.eq(medium))
                .filter(instances::slide_key.eq_any(keys))
                .select(instances::slide_key)
                .load(c)?;
            Ok((objects, slides))
        })?;
        Ok(objects
            .into_iter()
            .chain(slides.into_iter().flatten())
            .collect())
    }
}
