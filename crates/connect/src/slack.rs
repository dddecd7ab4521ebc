//! Slack notifications through an incoming webhook (the mode for teams that cannot install an
//! app): one JSON POST per message, `text` for notifications and `blocks` (Block Kit) for the
//! message itself.
//!
//! Slack answers `200 ok`; `429` with `Retry-After` when the channel is posted to too fast; a
//! `4xx` with an error word (`invalid_payload`, `no_service`, `channel_not_found`,
//! `channel_is_archived`, …) when the message or the webhook is wrong for good; `5xx` when it
//! is down.

use std::time::Duration;

use serde_json::Value;

use crate::{ConnectError, ConnectResult};

pub struct SlackWebhook {
    client: reqwest::Client,
    url: String,
}

impl std::fmt::Debug for SlackWebhook {
    // The webhook URL is a secret (whoever has it may post).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackWebhook").finish_non_exhaustive()
    }
}

impl SlackWebhook {
    pub fn new(url: &str) -> Result<SlackWebhook, String> {
        let parsed = url::Url::parse(url)
            .map_err(|e| format!("CSCX_SLACK_WEBHOOK_URL is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("CSCX_SLACK_WEBHOOK_URL must be an http or https URL".into());
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| format!("Slack client: {e}"))?;
        Ok(SlackWebhook {
            client,
            url: url.to_owned(),
        })
    }

    /// Posts `message` (`{"text": …, "blocks": […]}`). `Unavailable` carries the wait Slack
    /// asked for, when it did.
    pub async fn post(&self, message: &Value) -> ConnectResult<()> {
        let resp = self
            .client
            .post(&self.url)
            .json(message)
            .send()
            .await
            .map_err(|e| ConnectError::Unavailable(format!("cannot reach Slack: {e}")))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body: String = resp
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        if status.is_success() {
            return Ok(());
        }
        if status.as_u16() == 429 || status.is_server_error() {
            let wait = retry_after
                .map(|s| format!("; retry after {s} s"))
                .unwrap_or_default();
            return Err(ConnectError::Unavailable(format!(
                "Slack answered {status} {}{wait}",
                body.trim()
            )));
        }
        Err(ConnectError::Refused(format!(
            "Slack refused the message: {status} {}",
            body.trim()
        )))
    }
}
