//! Orders: created by the RIS for the worklist, deleted by StudyInstanceUID.

use pacs_app::orders::{create_order, delete_order};
use pacs_domain::model::EventType;

use crate::support::*;

#[test]
fn an_order_is_created_once_and_deleted_once() {
    let a = Archive::new();
    let sent = order("1.9.40", "P1", "DOE^JANE", "ACC9");
    let created = create_order(&a.ports, &a.tenant, sent.clone()).unwrap();
    assert_eq!(created, sent);
    let dup = create_order(&a.ports, &a.tenant, sent.clone());
    assert_eq!(code(&dup.unwrap_err()), "order_exists");

    let deleted = delete_order(&a.ports, &a.tenant, &study_uid("1.9.40")).unwrap();
    assert_eq!(deleted, sent);
    let gone = delete_order(&a.ports, &a.tenant, &study_uid("1.9.40"));
    assert_eq!(code(&gone.unwrap_err()), "order_not_found");

    let e = |kind| {
        event(
            kind,
            Some("1.9.40"),
            None,
            Some("P1"),
            Some("ACC9"),
            &[("author", "orders API")],
        )
    };
    assert_eq!(
        a.events(),
        [e(EventType::OrderCreated), e(EventType::OrderDeleted)]
    );
    let r = |kind| {
        audit(
            "orders API",
            kind,
            Some("1.9.40"),
            None,
            Some("P1"),
            &[("accessionNumber", "ACC9")],
        )
    };
    assert_eq!(
        a.audit(),
        [r(EventType::OrderCreated), r(EventType::OrderDeleted)]
    );
}
