//! Change locks across processes: two `Database`s on one PostgreSQL stand for
//! two nodes. A key one holds, the other cannot take, until it is released or
//! its holder goes away.

use std::time::{Duration, Instant};

use pacs_persistence::Database;

use crate::support::databases;

#[test]
fn change_locks_hold_across_nodes_and_die_with_their_holder() {
    for t in databases() {
        let Some(first) = t.db.change_locks() else {
            assert_eq!(
                t.name, "sqlite",
                "only SQLite, one process's database, has none"
            );
            continue;
        };
        let other = Database::connect(&t.url, 2).unwrap();
        let second = other.change_locks().expect("PostgreSQL shares its locks");
        let key = "alpha/relocation/1.2.3";
        assert!(first.try_lock(key).unwrap());
        assert!(!second.try_lock(key).unwrap(), "held by the other node");
        assert!(
            second.try_lock("alpha/relocation/1.2.4").unwrap(),
            "another key is free"
        );
        first.unlock(key);
        assert!(second.try_lock(key).unwrap(), "released");
        assert!(!first.try_lock(key).unwrap());

        // The second node goes away without releasing: its session's locks go with it.
        drop(second);
        drop(other);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !first.try_lock(key).unwrap() {
            assert!(
                Instant::now() < deadline,
                "a dead node's lock was never freed"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(first.try_lock("alpha/relocation/1.2.4").unwrap());
    }
}
