//! The event log: ids strictly increasing, and a poller that always asks for
//! events after the last id it saw misses nothing and repeats nothing while
//! writers commit concurrently.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pacs_domain::ports::EventLog;

use crate::support::*;

const WRITERS: u32 = 8;
const TRANSACTIONS: u32 = 30;

#[test]
fn a_poller_sees_every_event_exactly_once_under_concurrent_writers() {
    for t in databases() {
        let db = t.db.clone();
        let ten = tenant("ev");
        let done = Arc::new(AtomicBool::new(false));
        let poller = {
            let (db, ten, done) = (db.clone(), ten.clone(), done.clone());
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                let mut last = 0;
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let page = db.read_after(&ten, last, 1000).unwrap();
                    for e in &page {
                        assert!(e.id > last, "ids must increase");
                        last = e.id;
                        seen.push(e.id);
                    }
                    if finished && page.is_empty() {
                        return seen;
                    }
                }
            })
        };
        // Each transaction appends ten events (five new studies), which widens the
        // window between taking an id and committing: without the log lock a
        // later id regularly commits first and the poller skips the earlier one.
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (db, ten) = (db.clone(), ten.clone());
                std::thread::spawn(move || {
                    for n in 0..TRANSACTIONS {
                        let batch: Vec<_> = (0..5)
                            .map(|i| {
                                let k = w * 100_000 + n * 10 + i;
                                instance(&format!("P{w}"), k, k, k, "ab")
                            })
                            .collect();
                        store(&db, &ten, &batch).unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        let seen = poller.join().unwrap();
        let all: Vec<i64> = db
            .read_after(&ten, 0, 10_000)
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(
            all.len(),
            (WRITERS * TRANSACTIONS * 10) as usize,
            "{}",
            t.name
        );
        let unique: BTreeSet<i64> = seen.iter().copied().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "{}: the poller saw an event twice",
            t.name
        );
        assert_eq!(seen, all, "{}: the poller missed events", t.name);
    }
}

#[test]
fn each_tenant_numbers_its_events_from_one_without_gaps() {
    for t in databases() {
        let (a, b) = (tenant("ev-a"), tenant("ev-b"));
        // Interleaved: a's ids must not jump over b's events, nor b's over a's.
        for k in 0..6u32 {
            let ten = if k % 3 == 0 { &b } else { &a };
            store(&t.db, ten, &[instance("P", k, k, k, "ab")]).unwrap();
        }
        for (ten, studies) in [(&a, 4), (&b, 2)] {
            let ids: Vec<i64> =
                t.db.read_after(ten, 0, 100)
                    .unwrap()
                    .iter()
                    .map(|e| e.id)
                    .collect();
            // Two events per new study: STUDY_CREATED and INSTANCE_STORED.
            assert_eq!(ids, (1..=studies * 2).collect::<Vec<i64>>(), "{}", t.name);
            let after: Vec<i64> =
                t.db.read_after(ten, 2, 100)
                    .unwrap()
                    .iter()
                    .map(|e| e.id)
                    .collect();
            assert_eq!(after.first(), Some(&3), "{}: after a cursor", t.name);
        }
    }
}
