//! Timestamps: the domain's `SystemTime`, the database's UTC `TIMESTAMP`.

use std::time::SystemTime;

use chrono::{DateTime, NaiveDateTime, Utc};

pub(crate) fn to_db(t: SystemTime) -> NaiveDateTime {
    DateTime::<Utc>::from(t).naive_utc()
}

pub(crate) fn from_db(t: NaiveDateTime) -> SystemTime {
    SystemTime::from(t.and_utc())
}
