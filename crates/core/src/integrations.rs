//! Where approved actions leave CSCX (the mail transport and the calendar configured) and how
//! deliveries have gone: what the integrations page and `GET /api/v1/integrations` show admins.

use std::collections::BTreeMap;

use serde::Serialize;

use cscx_store::mail_deliveries::{self as ledger, MailDelivery};

use crate::auth::Principal;
use crate::authz;
use crate::error::CoreResult;
use crate::App;

/// One outward channel.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Channel {
    /// `smtp`, `caldav`, `outbox`, …
    pub channel: String,
    /// The server, calendar or folder (never credentials).
    pub target: String,
    /// Whether messages leave this machine (false for the outbox).
    pub delivers: bool,
    /// Where the configuration comes from.
    pub configured_by: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IntegrationStatus {
    pub mail: Channel,
    pub calendar: Channel,
    /// Slack notifications (approvals waiting, serious risk signals).
    pub notifications: Channel,
    /// The address links in notifications point at (`CSCX_PUBLIC_URL`).
    pub public_url: Option<String>,
    /// Messages in the SMTP ledger by state (sending, sent, retry, refused, unknown).
    #[schema(value_type = Object)]
    pub mail_states: BTreeMap<String, i64>,
    /// The latest 20 hand-overs.
    pub recent_mail: Vec<MailDelivery>,
    /// Messages whose delivery is unknown: a person must check them with the receiving side.
    pub mail_to_check: Vec<MailDelivery>,
}

pub async fn status(app: &App, who: &Principal) -> CoreResult<IntegrationStatus> {
    authz::require(who, cscx_domain::Role::Admin, "seeing the integrations")?;
    let mail = &app.agents.mail;
    let calendar = &app.agents.calendar;
    let source = |delivers: bool, var: &str| {
        if delivers {
            format!("environment ({var})")
        } else {
            format!("default (no {var})")
        }
    };
    let mut c = app.db.conn().await?;
    Ok(IntegrationStatus {
        mail: Channel {
            channel: mail.channel().into(),
            target: mail.target(),
            delivers: mail.reaches_outside(),
            configured_by: source(mail.reaches_outside(), "CSCX_SMTP_URL"),
        },
        calendar: Channel {
            channel: calendar.channel().into(),
            target: calendar.target(),
            delivers: calendar.reaches_outside(),
            configured_by: source(calendar.reaches_outside(), "CSCX_CALDAV_URL"),
        },
        notifications: Channel {
            channel: if app.notify.slack.is_some() {
                "slack-webhook"
            } else {
                "none"
            }
            .into(),
            target: if app.notify.slack.is_some() {
                "an incoming webhook (its address is a secret)".into()
            } else {
                String::new()
            },
            delivers: app.notify.slack.is_some(),
            configured_by: source(app.notify.slack.is_some(), "CSCX_SLACK_WEBHOOK_URL"),
        },
        public_url: app.notify.public_url.clone(),
        mail_states: ledger::counts(c.c()).await?.into_iter().collect(),
        recent_mail: ledger::recent(c.c(), None, 20).await?,
        mail_to_check: ledger::recent(c.c(), Some("unknown"), 100).await?,
    })
}
