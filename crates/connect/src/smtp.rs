//! Outbound e-mail through an SMTP server (lettre), configured by one URL:
//! `smtp://user:pass@mail.example.com:587` (STARTTLS, required), `smtps://…:465` (TLS from the
//! first byte), `smtp://127.0.0.1:2525?tls=none` (a local relay, plain text).
//!
//! Failures are told apart by what the server can have done with the message: a connection or
//! greeting that fails, or a 4xx answer, means it took nothing (`Unavailable`, retried); a 5xx
//! answer refuses it for good (`Refused`, with the server's words); a connection that breaks
//! once the message was on its way leaves the outcome `Unknown`.

use std::time::Duration;

use futures::future::BoxFuture;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::{ConnectError, ConnectResult, Delivery, MailTransport, OutgoingMail};

/// How long one conversation with the server may take.
const TIMEOUT: Duration = Duration::from_secs(30);

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// The envelope sender and `From:` for every message, when configured (`CSCX_MAIL_FROM`).
    from: Option<String>,
    /// `host:port`, for messages (never the credentials).
    server: String,
}

impl std::fmt::Debug for Smtp {
    // The credentials stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// STARTTLS after the greeting, required (the default for `smtp://`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Tls,
    /// None (`?tls=none`): for a relay on this machine or a trusted network.
    None,
}

impl Smtp {
    /// Builds the transport from `url`; `from` overrides each message's sender.
    pub fn from_url(url: &str, from: Option<String>) -> Result<Smtp, String> {
        let parsed =
            url::Url::parse(url).map_err(|e| format!("CSCX_SMTP_URL is not a URL: {e}"))?;
        let mut security = match parsed.scheme() {
            "smtp" => Security::StartTls,
            "smtps" => Security::Tls,
            other => {
                return Err(format!(
                    "CSCX_SMTP_URL: scheme {other:?} is not smtp or smtps"
                ))
            }
        };
        for (k, v) in parsed.query_pairs() {
            match (k.as_ref(), v.as_ref()) {
                ("tls", "none") => security = Security::None,
                ("tls", "starttls") => security = Security::StartTls,
                ("tls", "tls" | "implicit") => security = Security::Tls,
                (k, v) => return Err(format!("CSCX_SMTP_URL: unknown option {k}={v}")),
            }
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("CSCX_SMTP_URL names no host")?
            .to_owned();
        let port = parsed.port().unwrap_or(match security {
            Security::Tls => 465,
            Security::StartTls => 587,
            Security::None => 25,
        });
        if let Some(f) = &from {
            f.parse::<Address>()
                .map_err(|e| format!("CSCX_MAIL_FROM {f:?} is not an address: {e}"))?;
        }
        let tls = || {
            TlsParameters::new(host.clone()).map_err(|e| format!("CSCX_SMTP_URL: TLS setup: {e}"))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(port)
            .timeout(Some(TIMEOUT))
            .tls(match security {
                Security::StartTls => Tls::Required(tls()?),
                Security::Tls => Tls::Wrapper(tls()?),
                Security::None => Tls::None,
            });
        if !parsed.username().is_empty() {
            let decode = |s: &str| {
                percent_decode(s)
                    .ok_or_else(|| "CSCX_SMTP_URL: bad %-escape in the credentials".to_owned())
            };
            builder = builder.credentials(Credentials::new(
                decode(parsed.username())?,
                decode(parsed.password().unwrap_or(""))?,
            ));
        }
        Ok(Smtp {
            transport: builder.build(),
            from,
            server: format!("{host}:{port}"),
        })
    }

    async fn deliver(&self, mail: &OutgoingMail) -> ConnectResult<Delivery> {
        let mut mail = mail.clone();
        if let Some(from) = &self.from {
            mail.from = from.clone();
        }
        let parse = |a: &str| {
            a.trim()
                .parse::<Address>()
                .map_err(|e| ConnectError::Refused(format!("{a:?} is not an e-mail address: {e}")))
        };
        let to = mail
            .to
            .iter()
            .map(|a| parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(parse(&mail.from)?), to)
            .map_err(|e| ConnectError::Refused(format!("no recipients: {e}")))?;
        // Reaching the server first: a failure here is certain to have sent nothing.
        match self.transport.test_connection().await {
            Ok(true) => {}
            Ok(false) => {
                return Err(ConnectError::Unavailable(format!(
                    "the mail server {} did not answer",
                    self.server
                )))
            }
            Err(e) => {
                return Err(ConnectError::Unavailable(format!(
                    "cannot reach the mail server {}: {e}",
                    self.server
                )))
            }
        }
        match self
            .transport
            .send_raw(&envelope, mail.to_rfc5322().as_bytes())
            .await
        {
            Ok(response) => Ok(Delivery {
                delivered: true,
                channel: "smtp",
                reference: format!(
                    "<{}@cscx> accepted by {}: {} {}",
                    mail.key,
                    self.server,
                    response.code(),
                    response.message().collect::<Vec<_>>().join(" ")
                ),
            }),
            Err(e) if e.is_permanent() => Err(ConnectError::Refused(format!(
                "the mail server {} refused the message: {e}",
                self.server
            ))),
            Err(e) if e.is_transient() => Err(ConnectError::Unavailable(format!(
                "the mail server {} deferred the message: {e}",
                self.server
            ))),
            Err(e) => Err(ConnectError::Unknown(format!(
                "the connection to {} failed while sending; the message may or may not have been taken: {e}",
                self.server
            ))),
        }
    }
}

impl MailTransport for Smtp {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> BoxFuture<'a, ConnectResult<Delivery>> {
        Box::pin(self.deliver(mail))
    }

    fn channel(&self) -> &'static str {
        "smtp"
    }

    fn target(&self) -> String {
        self.server.clone()
    }
}

/// `%XX` escapes of a URL's user or password, decoded.
fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_say_how_to_connect_and_bad_ones_are_refused() {
        let plain = Smtp::from_url("smtp://127.0.0.1:2525?tls=none", None).unwrap();
        assert_eq!(plain.server, "127.0.0.1:2525");
        let tls = Smtp::from_url("smtps://u%40x:p%2Fw@mail.example.com", None).unwrap();
        assert_eq!(tls.server, "mail.example.com:465");
        assert_eq!(
            Smtp::from_url("smtp://mail.example.com", None)
                .unwrap()
                .server,
            "mail.example.com:587"
        );
        assert!(Smtp::from_url("http://x", None)
            .unwrap_err()
            .contains("scheme"));
        assert!(Smtp::from_url("smtp://x?tls=maybe", None)
            .unwrap_err()
            .contains("unknown option"));
        assert!(Smtp::from_url("smtp://x", Some("not an address".into()))
            .unwrap_err()
            .contains("CSCX_MAIL_FROM"));
        assert_eq!(percent_decode("a%40b%2F").as_deref(), Some("a@b/"));
        assert_eq!(percent_decode("%ff"), None);
    }

    #[tokio::test]
    async fn a_server_that_is_not_there_sent_nothing() {
        // A port nobody listens on: the failure comes before the message left.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let smtp = Smtp::from_url(&format!("smtp://127.0.0.1:{port}?tls=none"), None).unwrap();
        let mail = OutgoingMail {
            key: "k".into(),
            from: "csm@example.com".into(),
            to: vec!["a@example.com".into()],
            subject: "s".into(),
            body: "b".into(),
            date: chrono::DateTime::from_timestamp(0, 0).unwrap(),
        };
        assert!(matches!(
            smtp.send(&mail).await,
            Err(ConnectError::Unavailable(_))
        ));
        let mut bad = mail.clone();
        bad.to = vec!["nobody".into()];
        assert!(matches!(
            smtp.send(&bad).await,
            Err(ConnectError::Refused(_))
        ));
    }
}
