//! Orders (the `OrderStore` port), kept for the modality worklist.

use std::collections::BTreeMap;

use diesel::prelude::*;
use pacs_domain::ids::{StudyInstanceUid, TenantName};
use pacs_domain::model::{Order, OrderOutcome, PatientAttributes, Recorder};
use pacs_domain::ports::{OrderStore, RepositoryError};

use crate::connection::{AnyConnection, Database};
use crate::rows::OrderRow;
use crate::schema::orders;
use crate::time::to_db;

/// Keys of the order's own fields that carry patient demographics.
const PATIENT_FIELDS: [&str; 4] = ["PatientID", "PatientName", "PatientBirthDate", "PatientSex"];

fn set_patient_fields(fields: &mut BTreeMap<String, String>, p: &PatientAttributes) {
    let values = [
        Some(p.patient_id.as_str()),
        p.name.as_deref(),
        p.birth_date.as_deref(),
        p.sex.as_deref(),
    ];
    for (key, value) in PATIENT_FIELDS.iter().zip(values) {
        match value {
            Some(v) => {
                fields.insert((*key).to_owned(), v.to_owned());
            }
            None => {
                fields.remove(*key);
            }
        }
    }
}

/// Rewrites the demographics of every order of patient `p.patient_id` (patient
/// update). Returns how many orders changed.
pub(crate) fn sync_orders_with_patient(
    c: &mut AnyConnection,
    tenant: &str,
    p: &PatientAttributes,
) -> QueryResult<usize> {
    move_orders(c, tenant, p.patient_id.as_str(), p)
}

/// Gives the orders of patient `from_id` the identity and demographics of `to`.
pub(crate) fn move_orders(
    c: &mut AnyConnection,
    tenant: &str,
    from_id: &str,
    to: &PatientAttributes,
) -> QueryResult<usize> {
    let rows: Vec<(i64, String)> = orders::table
        .filter(orders::tenant.eq(tenant))
        .filter(orders::patient_id.eq(from_id))
        .select((orders::id, orders::fields))
        .load(c)?;
    let now = to_db(std::time::SystemTime::now());
    for (id, fields) in &rows {
        let mut map: BTreeMap<String, String> = serde_json::from_str(fields).unwrap_or_default();
        set_patient_fields(&mut map, to);
        diesel::update(orders::table.find(id))
            .set((
                orders::patient_id.eq(to.patient_id.as_str()),
                orders::patient_name.eq(to.name.as_deref()),
                orders::birth_date.eq(to.birth_date.as_deref()),
                orders::sex.eq(to.sex.as_deref()),
                orders::fields.eq(serde_json::to_string(&map).unwrap_or_else(|_| "{}".into())),
                orders::updated_at.eq(now),
            ))
            .execute(c)?;
    }
    Ok(rows.len())
}

impl OrderStore for Database {
    fn create_order(
        &self,
        tenant: &TenantName,
        order: &Order,
        journal: Recorder<'_, Order>,
    ) -> Result<OrderOutcome, RepositoryError> {
        let t = tenant.as_str();
        self.write(|c| {
            let exists: Option<i64> = orders::table
                .filter(orders::tenant.eq(t))
                .filter(orders::study_uid.eq(order.study_uid.as_str()))
                .select(orders::id)
                .first(c)
                .optional()?;
            if exists.is_some() {
                return Ok(OrderOutcome::Duplicate);
            }
            let now = to_db(std::time::SystemTime::now());
            let p = &order.patient;
            diesel::insert_into(orders::table)
                .values((
                    orders::tenant.eq(t),
                    orders::study_uid.eq(order.study_uid.as_str()),
                    orders::accession_number.eq(&order.accession_number),
                    orders::patient_id.eq(p.patient_id.as_str()),
                    orders::issuer.eq(p.issuer.as_deref().unwrap_or("")),
                    orders::patient_name.eq(p.name.as_deref()),
                    orders::birth_date.eq(p.birth_date.as_deref()),
                    orders::sex.eq(p.sex.as_deref()),
                    orders::scheduled_station_ae.eq(&order.scheduled_station_ae),
                    orders::start_date.eq(&order.start_date),
                    orders::start_time.eq(&order.start_time),
                    orders::modality.eq(&order.modality),
                    orders::fields
                        .eq(serde_json::to_string(&order.fields).unwrap_or_else(|_| "{}".into())),
                    orders::created_at.eq(now),
                    orders::updated_at.eq(now),
                ))
                .execute(c)?;
            crate::journal::write(c, tenant, &journal(order))?;
            Ok(OrderOutcome::Done(Box::new(order.clone())))
        })
    }

    fn list_orders(&self, tenant: &TenantName, limit: u32) -> Result<Vec<Order>, RepositoryError> {
        let rows: Vec<OrderRow> = self.read(|c| {
            orders::table
                .filter(orders::tenant.eq(tenant.as_str()))
                .order((
                    orders::start_date.asc(),
                    orders::start_time.asc(),
                    orders::id.asc(),
                ))
                .limit(i64::from(limit))
                .select(OrderRow::as_select())
                .load(c)
        })?;
        // A row that no longer reads as an order is left out, not fatal.
        Ok(rows.iter().filter_map(|r| r.to_domain().ok()).collect())
    }

    fn delete_order(
        &self,
        tenant: &TenantName,
        study: &StudyInstanceUid,
        journal: Recorder<'_, Order>,
    ) -> Result<OrderOutcome, RepositoryError> {
        let t = tenant.as_str();
        self.write(|c| {
            let row: Option<OrderRow> = orders::table
                .filter(orders::tenant.eq(t))
                .filter(orders::study_uid.eq(study.as_str()))
                .select(OrderRow::as_select())
                .first(c)
                .optional()?;
            let Some(row) = row else {
                return Ok(OrderOutcome::NotFound);
            };
            let Ok(order) = row.to_domain() else {
                return Ok(OrderOutcome::NotFound);
            };
            diesel::delete(orders::table.find(row.id)).execute(c)?;
            crate::journal::write(c, tenant, &journal(&order))?;
            Ok(OrderOutcome::Done(Box::new(order)))
        })
    }
}
