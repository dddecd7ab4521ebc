//! Outbound e-mail, at most once per message key. A server reached over SMTP cannot be asked
//! whether it already took a message, so every hand-over is written to the `mail_deliveries`
//! ledger first, in its own committed transaction: a retry after a crash finds the mark and
//! stops instead of sending again.
//!
//! - no mark, or `retry` (the last attempt failed before the server took anything): send;
//! - `sent`: the earlier delivery is returned; `refused`: the server's refusal again;
//! - `unknown`, or a `sending` mark older than [`STALE_AFTER_SECS`] (the process died while
//!   sending): [`ConnectError::Unknown`], for a person to check; never a silent resend;
//! - a fresh `sending` mark: another executor is at it, so retry later.
//!
//! The outbox needs no ledger: it keeps each key once by itself.

use cscx_connect::{ConnectError, Delivery, OutgoingMail};
use cscx_store::mail_deliveries as ledger;

use crate::error::CoreResult;
use crate::App;

/// A `sending` mark older than this is an attempt that died.
pub const STALE_AFTER_SECS: i64 = 300;

/// Sends `mail` through the configured transport at most once for its key. The outer error is
/// the database's; the inner one is the transport's answer.
pub async fn send_once(
    app: &App,
    mail: &OutgoingMail,
) -> CoreResult<Result<Delivery, ConnectError>> {
    let transport = app.agents.mail.clone();
    if !transport.reaches_outside() {
        return Ok(transport.send(mail).await);
    }
    let channel = transport.channel();
    let claimed = {
        let mut tx = app.db.begin().await?;
        let n = ledger::claim(tx.c(), &mail.key, channel, app.now()).await?;
        tx.commit().await?;
        n
    };
    if claimed.is_none() {
        return earlier_outcome(app, mail).await;
    }
    let outcome = transport.send(mail).await;
    let (state, reference, error) = match &outcome {
        Ok(d) => ("sent", Some(d.reference.as_str()), None),
        Err(ConnectError::Refused(m)) => ("refused", None, Some(m.as_str())),
        Err(ConnectError::Unavailable(m)) => ("retry", None, Some(m.as_str())),
        Err(ConnectError::Unknown(m)) => ("unknown", None, Some(m.as_str())),
    };
    let mut tx = app.db.begin().await?;
    ledger::finish(tx.c(), &mail.key, state, (reference, error), app.now()).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// What an earlier attempt at `mail` left behind, as this call's answer.
async fn earlier_outcome(
    app: &App,
    mail: &OutgoingMail,
) -> CoreResult<Result<Delivery, ConnectError>> {
    let row = {
        let mut c = app.db.conn().await?;
        ledger::get(c.c(), &mail.key).await?
    };
    let Some(row) = row else {
        // Claimed by nobody and absent: cannot happen outside a deleted row; try later.
        return Ok(Err(ConnectError::Unavailable(
            "the delivery ledger changed underneath; trying again".into(),
        )));
    };
    let error = || row.error.clone().unwrap_or_default();
    Ok(match row.state.as_str() {
        "sent" => Ok(Delivery {
            delivered: true,
            channel: app.agents.mail.channel(),
            reference: row.reference.clone().unwrap_or_default(),
        }),
        "refused" => Err(ConnectError::Refused(error())),
        "sending" if app.now().millis() - row.started_at.millis() < STALE_AFTER_SECS * 1000 => Err(
            ConnectError::Unavailable("another attempt at this message is under way".into()),
        ),
        "sending" => {
            let note = format!(
                "an attempt started at {} never finished (the process stopped while sending); \
                 the server may or may not have taken the message",
                row.started_at.datetime().to_rfc3339()
            );
            let mut tx = app.db.begin().await?;
            ledger::finish(tx.c(), &mail.key, "unknown", (None, Some(&note)), app.now()).await?;
            tx.commit().await?;
            Err(ConnectError::Unknown(note))
        }
        _ => Err(ConnectError::Unknown(error())),
    })
}
