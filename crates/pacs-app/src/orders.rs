//! Orders (source document "Orders APIs"): created by the RIS, kept for the
//! modality worklist, deleted by StudyInstanceUID.

use pacs_domain::ids::StudyInstanceUid;
use pacs_domain::model::{Change, EventType, Order, OrderOutcome};

use crate::context::{Ports, Tenant};
use crate::error::{AppError, ErrorCode};
use crate::journal;

/// Who creates and deletes orders: the API does not name a user.
const RIS: &str = "orders API";

/// `POST /orders/create`: records `order` for the worklist, once per study.
pub fn create_order(ports: &Ports, tenant: &Tenant, order: Order) -> Result<Order, AppError> {
    let change = Change {
        author: RIS.into(),
        reason: None,
    };
    let journal = |o: &Order| journal::order(EventType::OrderCreated, &change, o);
    match ports.orders.create_order(&tenant.name, &order, &journal)? {
        OrderOutcome::Done(o) => Ok(*o),
        OrderOutcome::Duplicate => Err(AppError::conflict(
            ErrorCode::OrderExists,
            format!(
                "an order with StudyInstanceUID {} already exists",
                order.study_uid
            ),
        )),
        OrderOutcome::NotFound => Err(AppError::internal("order vanished while being created")),
    }
}

/// `DELETE /orders/delete?studyUid=`.
pub fn delete_order(
    ports: &Ports,
    tenant: &Tenant,
    uid: &StudyInstanceUid,
) -> Result<Order, AppError> {
    let change = Change {
        author: RIS.into(),
        reason: None,
    };
    let journal = |o: &Order| journal::order(EventType::OrderDeleted, &change, o);
    match ports.orders.delete_order(&tenant.name, uid, &journal)? {
        OrderOutcome::Done(o) => Ok(*o),
        _ => Err(AppError::not_found(
            ErrorCode::OrderNotFound,
            format!("no order with StudyInstanceUID {uid}"),
        )),
    }
}
