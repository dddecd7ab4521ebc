//! The default for mail and calendars: files in a local folder, nothing sent. A message is
//! `<key>.eml`, an invitation `<key>.ics`; a key is written once, atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use crate::{
    Calendar, ConnectError, ConnectResult, Delivery, Invitation, MailTransport, OutgoingMail,
};

pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(dir: impl Into<PathBuf>) -> Outbox {
        Outbox { dir: dir.into() }
    }

    async fn put(&self, key: &str, ext: &str, content: String) -> ConnectResult<Delivery> {
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(ConnectError::Refused(format!(
                "{key:?} is not a file-safe key"
            )));
        }
        let path = self.dir.join(format!("{key}.{ext}"));
        let target = path.clone();
        tokio::task::spawn_blocking(move || write_once(&target, &content))
            .await
            .map_err(|e| ConnectError::Unavailable(e.to_string()))?
            .map_err(|e| ConnectError::Unavailable(format!("writing {}: {e}", path.display())))?;
        Ok(Delivery {
            delivered: false,
            channel: "outbox",
            reference: path.display().to_string(),
        })
    }
}

impl MailTransport for Outbox {
    fn send<'a>(&'a self, mail: &'a OutgoingMail) -> BoxFuture<'a, ConnectResult<Delivery>> {
        Box::pin(self.put(&mail.key, "eml", mail.to_rfc5322()))
    }

    fn reaches_outside(&self) -> bool {
        false
    }

    fn channel(&self) -> &'static str {
        "outbox"
    }

    fn target(&self) -> String {
        self.dir.display().to_string()
    }
}

impl Calendar for Outbox {
    fn invite<'a>(&'a self, inv: &'a Invitation) -> BoxFuture<'a, ConnectResult<Delivery>> {
        Box::pin(self.put(&inv.key, "ics", inv.to_ics()))
    }

    fn reaches_outside(&self) -> bool {
        false
    }

    fn channel(&self) -> &'static str {
        "outbox"
    }

    fn target(&self) -> String {
        self.dir.display().to_string()
    }
}

/// Creates `path` with `content` unless it exists (the retry after a crash). Returns whether
/// this call created it.
fn write_once(path: &Path, content: &str) -> std::io::Result<bool> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()?;
    // A hard link fails if the target exists: exactly one writer wins, atomically.
    let created = match std::fs::hard_link(&tmp, path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let _ = std::fs::remove_file(&tmp);
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(body: &str) -> OutgoingMail {
        OutgoingMail {
            key: "0190a1b2-0000-7000-8000-000000000001".into(),
            from: "csm@example.com".into(),
            to: vec!["a@example.com".into()],
            subject: "Hello".into(),
            body: body.into(),
            date: chrono::DateTime::from_timestamp(0, 0).unwrap(),
        }
    }

    #[tokio::test]
    async fn a_key_is_written_once_and_the_first_content_stays() {
        let dir = std::env::temp_dir().join(format!("cscx-outbox-{}", uuid::Uuid::new_v4()));
        let outbox = Outbox::new(&dir);
        let first = outbox.send(&mail("first")).await.unwrap();
        let again = outbox.send(&mail("second")).await.unwrap();
        assert_eq!(first, again);
        assert!(!first.delivered);
        let text = std::fs::read_to_string(&first.reference).unwrap();
        assert!(text.ends_with("first"), "{text}");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file is left"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_key_that_could_leave_the_folder_is_refused() {
        let outbox = Outbox::new(std::env::temp_dir());
        let mut m = mail("x");
        m.key = "../escape".into();
        assert!(matches!(
            outbox.send(&m).await,
            Err(ConnectError::Refused(_))
        ));
    }
}
