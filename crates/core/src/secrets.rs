//! The master key and envelope encryption for secrets at rest (OAuth tokens, integration keys).
//!
//! Envelope: `v1:<key id>:<base64(nonce ‖ ciphertext)>` with XChaCha20-Poly1305. The key id
//! (first 8 bytes of the key's SHA-256, hex) lets a later key rotation tell which key sealed a
//! value. The key comes from `CSCX_MASTER_KEY` (64 hex chars) or from `master.key` in the data
//! folder, generated on first run with owner-only permissions.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey(id={})", self.id())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("master key: {0}")]
    Key(String),
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed with key {0}, which is not the current master key")]
    WrongKey(String),
    #[error("sealed value failed authentication (tampered or wrong key)")]
    Tampered,
}

impl MasterKey {
    pub fn from_hex(s: &str) -> Result<MasterKey, SecretError> {
        let bytes = hex::decode(s.trim())
            .map_err(|_| SecretError::Key("CSCX_MASTER_KEY must be 64 hex characters".into()))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            SecretError::Key("CSCX_MASTER_KEY must be 32 bytes (64 hex characters)".into())
        })?;
        Ok(MasterKey { key })
    }

    pub fn generate() -> MasterKey {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        MasterKey { key }
    }

    /// Reads `dir/master.key`, creating it (mode 0600) if missing.
    pub fn load_or_create(dir: &Path) -> Result<MasterKey, SecretError> {
        let path = dir.join("master.key");
        match std::fs::read_to_string(&path) {
            Ok(s) => MasterKey::from_hex(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = MasterKey::generate();
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                match opts.open(&path) {
                    Ok(mut f) => {
                        f.write_all(hex::encode(key.key).as_bytes())
                            .and_then(|_| f.sync_all())
                            .map_err(|e| {
                                SecretError::Key(format!("writing {}: {e}", path.display()))
                            })?;
                        Ok(key)
                    }
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        let s = std::fs::read_to_string(&path).map_err(|e| {
                            SecretError::Key(format!("reading {}: {e}", path.display()))
                        })?;
                        MasterKey::from_hex(&s)
                    }
                    Err(e) => Err(SecretError::Key(format!(
                        "creating {}: {e}",
                        path.display()
                    ))),
                }
            }
            Err(e) => Err(SecretError::Key(format!("reading {}: {e}", path.display()))),
        }
    }

    pub fn id(&self) -> String {
        hex::encode(&Sha256::digest(self.key)[..8])
    }

    pub fn seal(&self, plaintext: &str) -> String {
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("encryption of in-memory data cannot fail");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        format!("v1:{}:{}", self.id(), B64.encode(blob))
    }

    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some("v1"), Some(kid), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(SecretError::Malformed);
        };
        if kid != self.id() {
            return Err(SecretError::WrongKey(kid.to_owned()));
        }
        let blob = B64.decode(data).map_err(|_| SecretError::Malformed)?;
        if blob.len() < 24 {
            return Err(SecretError::Malformed);
        }
        let (nonce, ct) = blob.split_at(24);
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let pt = cipher
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| SecretError::Tampered)?;
        String::from_utf8(pt).map_err(|_| SecretError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_and_detects_tampering_and_wrong_keys() {
        let k = MasterKey::generate();
        let sealed = k.seal("xoxb-secret-token");
        assert!(sealed.starts_with(&format!("v1:{}:", k.id())));
        assert!(!sealed.contains("xoxb"));
        assert_eq!(k.open(&sealed).unwrap(), "xoxb-secret-token");
        assert_ne!(k.seal("same"), k.seal("same"), "fresh nonce each time");

        let mut tampered = sealed.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(
            k.open(&tampered),
            Err(SecretError::Tampered | SecretError::Malformed)
        ));
        assert!(matches!(
            MasterKey::generate().open(&sealed),
            Err(SecretError::WrongKey(_))
        ));
    }

    #[test]
    fn key_file_is_created_once_owner_only() {
        let dir = std::env::temp_dir().join(format!("cscx-key-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = MasterKey::load_or_create(&dir).unwrap();
        let b = MasterKey::load_or_create(&dir).unwrap();
        assert_eq!(a.id(), b.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(MasterKey::from_hex("abcd").is_err());
    }
}
