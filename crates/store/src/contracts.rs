//! Contracts: a customer's contracts, the list, the expiry job and the review record.

use chrono::NaiveDate;
use serde_json::Value;

use crate::finders::finder;
use crate::model::Contract;
use crate::{DbConn, Id, Result, Timestamp};

finder!(of_customer("customer_id") -> Contract);

/// In creation order (keyset on id), optionally of one customer or status.
pub async fn page(
    c: DbConn<'_>,
    customer_id: Option<Id>,
    status: Option<&str>,
    after: Option<Id>,
    limit: u32,
) -> Result<Vec<Contract>> {
    Ok(crate::sql!(
        c,
        all Contract,
        "SELECT * FROM contracts WHERE ($1 IS NULL OR customer_id = $1) AND ($2 IS NULL OR status = $2)
     AND ($3 IS NULL OR id > $3) ORDER BY id LIMIT $4",
        customer_id,
        status,
        after,
        limit as i64,
    )?)
}

/// Active contracts that ended before `today` become `expired`; returns their customers.
pub async fn expire_ended(
    c: DbConn<'_>,
    today: NaiveDate,
    now: Timestamp,
) -> Result<Vec<Option<Id>>> {
    Ok(crate::sql!(
        c,
        scalars _,
        "UPDATE contracts SET status = 'expired', updated_at = $1
         WHERE status = 'active' AND end_date IS NOT NULL AND end_date < $2
         RETURNING customer_id",
        now,
        today,
    )?)
}

/// The extraction record (`parsed_data`) of every confirmed contract, for the review accuracy
/// report.
pub async fn confirmed_parsed_data(c: DbConn<'_>) -> Result<Vec<Option<Value>>> {
    Ok(crate::sql!(
        c,
        scalars _,
        "SELECT parsed_data FROM contracts WHERE status IN ('active', 'expired', 'terminated') AND parsed_data IS NOT NULL",
    )?)
}
