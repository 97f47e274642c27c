//! What every backend must do with instances, queries and retrieval.

use pacs_domain::ids::*;
use pacs_domain::model::*;
use pacs_domain::ports::{InstanceIndex, QueryIndex, RetrieveIndex};

use crate::support::*;

fn query(level: QueryLevel, filters: Vec<(QueryKey, Matcher)>) -> Query {
    Query {
        level,
        scope: QueryScope::default(),
        filters,
        limit: None,
        offset: 0,
        paged: false,
        with_header: false,
    }
}

#[test]
fn storing_is_idempotent_and_conflicts_are_refused() {
    for t in databases() {
        let db = &t.db;
        let ten = tenant("t1");
        let batch = vec![
            instance("P1", 1, 1, 1, "aa"),
            instance("P1", 1, 1, 2, "bb"),
            instance("P1", 1, 2, 3, "cc"),
        ];
        let out = store(db, &ten, &batch).unwrap();
        assert_eq!(out, vec![StoreOutcome::Stored; 3], "{}", t.name);
        // Same content again: nothing changes.
        assert_eq!(
            store(db, &ten, &batch[..1]).unwrap(),
            vec![StoreOutcome::AlreadyStored]
        );
        // Same SOP Instance UID, other content.
        let other = instance("P1", 1, 1, 1, "zz");
        assert!(
            matches!(
                store(db, &ten, &[other]).unwrap()[0],
                StoreOutcome::Conflict(_)
            ),
            "{}",
            t.name
        );
        // A series UID that belongs to another study.
        let moved = instance("P1", 2, 1, 9, "dd");
        assert!(
            matches!(
                store(db, &ten, &[moved]).unwrap()[0],
                StoreOutcome::Conflict(_)
            ),
            "{}",
            t.name
        );
        // Another tenant is another namespace.
        assert_eq!(
            store(db, &tenant("t2"), &[instance("P1", 1, 1, 1, "zz")]).unwrap(),
            vec![StoreOutcome::Stored]
        );

        let live = db
            .find_live(&ten, &SopInstanceUid::new("1.2.826.0.1.3.1").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(live.sha1, "aa");

        let studies = db.query(&ten, &query(QueryLevel::Study, vec![])).unwrap();
        assert_eq!(
            studies.len(),
            1,
            "{}: the refused instance created no study",
            t.name
        );
        let (_, stats) = studies[0].study.as_ref().unwrap();
        assert_eq!((stats.num_series, stats.num_instances), (2, 3));
        assert_eq!(stats.size_bytes, 1001 + 1002 + 1003);
        assert_eq!(stats.modalities, vec!["CT".to_owned(), "MR".to_owned()]);
    }
}

#[test]
fn queries_match_by_level_and_key() {
    for t in databases() {
        let db = &t.db;
        let ten = tenant("q");
        let mut batch = Vec::new();
        for study in 0..6u32 {
            for series in 0..2u32 {
                let s = study * 10 + series;
                for i in 0..3u32 {
                    batch.push(instance(
                        &format!("PAT{}", study % 3),
                        study,
                        s,
                        s * 10 + i,
                        "00",
                    ));
                }
            }
        }
        assert!(
            store(db, &ten, &batch)
                .unwrap()
                .iter()
                .all(|o| *o == StoreOutcome::Stored)
        );
        let count = |level, filters| db.query(&ten, &query(level, filters)).unwrap().len();
        assert_eq!(count(QueryLevel::Study, vec![]), 6, "{}", t.name);
        assert_eq!(count(QueryLevel::Series, vec![]), 12);
        assert_eq!(count(QueryLevel::Instance, vec![]), 36);
        assert_eq!(count(QueryLevel::Patient, vec![]), 3);
        assert_eq!(
            count(
                QueryLevel::Study,
                vec![(QueryKey::PatientId, Matcher::Exact("PAT1".into()))]
            ),
            2
        );
        assert_eq!(
            count(
                QueryLevel::Study,
                vec![(QueryKey::PatientName, Matcher::Wildcard("pat1*".into()))]
            ),
            2
        );
        assert_eq!(
            count(
                QueryLevel::Study,
                vec![(QueryKey::PatientId, Matcher::Wildcard("PAT?".into()))]
            ),
            6
        );
        // LIKE metacharacters in values are literal.
        assert_eq!(
            count(
                QueryLevel::Study,
                vec![(QueryKey::PatientId, Matcher::Wildcard("PAT%".into()))]
            ),
            0
        );
        let range = Matcher::Range {
            from: Some("20200201".into()),
            to: Some("20200401".into()),
        };
        assert_eq!(
            count(QueryLevel::Study, vec![(QueryKey::StudyDate, range)]),
            3
        );
        let list = Matcher::List(vec!["1.2.826.0.1.1.1".into(), "1.2.826.0.1.1.4".into()]);
        assert_eq!(
            count(QueryLevel::Study, vec![(QueryKey::StudyInstanceUid, list)]),
            2
        );
        assert_eq!(
            count(
                QueryLevel::Study,
                vec![(QueryKey::ModalitiesInStudy, Matcher::Exact("CT".into()))]
            ),
            6
        );
        assert_eq!(
            count(
                QueryLevel::Series,
                vec![(QueryKey::Modality, Matcher::Exact("CT".into()))]
            ),
            6
        );
        assert_eq!(
            count(
                QueryLevel::Series,
                vec![(QueryKey::StationName, Matcher::Exact("ST1".into()))]
            ),
            4
        );
        assert_eq!(
            count(
                QueryLevel::Series,
                vec![(QueryKey::ModalitiesInStudy, Matcher::Exact("MR".into()))]
            ),
            12
        );
        assert_eq!(
            count(
                QueryLevel::Instance,
                vec![(QueryKey::InstanceNumber, Matcher::Exact("11".into()))]
            ),
            1
        );
        let mut paged = query(QueryLevel::Instance, vec![]);
        paged.limit = Some(10);
        paged.offset = 30;
        paged.paged = true;
        assert_eq!(db.query(&ten, &paged).unwrap().len(), 6);
        let mut scoped = query(QueryLevel::Instance, vec![]);
        scoped.scope.study = Some(StudyInstanceUid::new("1.2.826.0.1.1.2").unwrap());
        assert_eq!(db.query(&ten, &scoped).unwrap().len(), 6);
        // Nothing of tenant q is visible to another tenant.
        assert_eq!(
            db.query(&tenant("other"), &query(QueryLevel::Instance, vec![]))
                .unwrap()
                .len(),
            0
        );

        let found = db
            .locate(
                &ten,
                &StudyInstanceUid::new("1.2.826.0.1.1.0").unwrap(),
                None,
                None,
                true,
            )
            .unwrap();
        assert_eq!(found.len(), 6);
        assert!(found.iter().all(|i| i.header_json.as_deref() == Some("{}")));
        assert!(
            found.iter().all(|i| i.uncorrected()),
            "nothing was corrected yet"
        );
    }
}
