//! Storage usage per medium, for the metrics endpoint: one aggregate query,
//! every tenant together, nothing patient-related read.

use std::collections::BTreeMap;

use diesel::dsl::{count_star, sql};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use pacs_domain::ports::{MediumUsage, RepositoryError, StorageUsage};

use crate::connection::Database;
use crate::schema::instances;

/// Medium, instance count, bytes.
type Row = (String, i64, i64);

impl StorageUsage for Database {
    fn usage_by_medium(&self) -> Result<Vec<MediumUsage>, RepositoryError> {
        // SUM of a BIGINT is NUMERIC on PostgreSQL: cast it back.
        let bytes = || sql::<BigInt>("CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT)");
        let (live, deprecated): (Vec<Row>, Vec<Row>) = self.read(|c| {
            let live = instances::table
                .filter(instances::deprecation_fk.is_null())
                .group_by(instances::medium)
                .select((instances::medium, count_star(), bytes()))
                .load(c)?;
            let deprecated = instances::table
                .filter(instances::deprecation_fk.is_not_null())
                .group_by(instances::medium)
                .select((instances::medium, count_star(), bytes()))
                .load(c)?;
            Ok((live, deprecated))
        })?;
        let mut by_medium: BTreeMap<String, MediumUsage> = BTreeMap::new();
        for (name, n, b) in live {
            let u = slot(&mut by_medium, name);
            u.live_instances = non_negative(n);
            u.live_bytes = non_negative(b);
        }
        for (name, n, b) in deprecated {
            let u = slot(&mut by_medium, name);
            u.deprecated_instances = non_negative(n);
            u.deprecated_bytes = non_negative(b);
        }
        Ok(by_medium.into_values().collect())
    }
}

fn slot(map: &mut BTreeMap<String, MediumUsage>, name: String) -> &mut MediumUsage {
    map.entry(name.clone()).or_insert_with(|| MediumUsage {
        medium: name,
        ..MediumUsage::default()
    })
}

fn non_negative(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
