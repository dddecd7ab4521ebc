//! `cscx backup` and `cscx restore`: the database and the stored files, never the master key.
//!
//! A backup is a folder: `cscx.db` (SQLite, a consistent snapshot taken while the server keeps
//! writing), `blobs/` (the uploaded files; content-addressed and never changed, so copying them
//! after the snapshot captures every file it refers to) and `manifest.json` (what was copied,
//! with the snapshot's SHA-256). PostgreSQL databases are dumped with `pg_dump`; the command
//! then backs up the files and says so.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::config::Config;

const MANIFEST: &str = "manifest.json";
const KEY_WARNING: &str =
    "The master key (CSCX_MASTER_KEY or master.key in the data folder) is not in the backup: \
keep it separately and safely. Without it the restored encrypted secrets cannot be read.";

pub async fn backup(config: &Config, out: &Path) -> anyhow::Result<()> {
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        bail!(
            "{} exists and is not empty; choose a new folder",
            out.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let app = config.open().await?;
    let backend = app.db.backend().name();
    let db_file = out.join("cscx.db");
    let db_sha = if config
        .database_url
        .as_deref()
        .is_some_and(|u| u.starts_with("postgres"))
    {
        eprintln!(
            "the database is PostgreSQL: back it up with `pg_dump --format=custom \"$DATABASE_URL\" > cscx.dump`; \
             this folder holds the stored files"
        );
        None
    } else {
        app.db
            .snapshot_into(&db_file)
            .await
            .context("taking the database snapshot")?;
        Some(sha256_file(&db_file)?)
    };
    let event = cscx_domain::events::Event::DataExported {
        what: "backup".into(),
        target: out.display().to_string(),
    };
    cscx_core::audit::record_now(&app, &event, &cscx_core::audit::Actor::cli()).await?;
    app.db.close().await;
    let files = copy_blobs(&config.data_dir.join("blobs"), &out.join("blobs"))?;
    let manifest = json!({
        "format": 1,
        "cscx_version": env!("CARGO_PKG_VERSION"),
        "created_at": chrono::Utc::now(),
        "backend": backend,
        "database": db_sha.as_ref().map(|s| json!({"file": "cscx.db", "sha256": s})),
        "blobs": files,
        "master_key_included": false,
    });
    std::fs::write(out.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    println!(
        "backup written to {} ({backend}{}, {files} stored files)",
        out.display(),
        if db_sha.is_some() {
            " database"
        } else {
            ": files only"
        }
    );
    eprintln!("{KEY_WARNING}");
    Ok(())
}

pub async fn restore(config: &Config, from: &Path, force: bool) -> anyhow::Result<()> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(from.join(MANIFEST)).with_context(|| {
            format!("{} has no {MANIFEST}: not a cscx backup", from.display())
        })?)?;
    if manifest["format"] != 1 {
        bail!("unknown backup format {}", manifest["format"]);
    }
    let env_key = std::env::var("CSCX_MASTER_KEY").is_ok_and(|k| !k.is_empty());
    if !env_key && !config.data_dir.join("master.key").exists() {
        bail!(
            "no master key: put the deployment's master.key into {} (or set CSCX_MASTER_KEY) \
             before restoring; a new key would make the backup's encrypted secrets unreadable",
            config.data_dir.display()
        );
    }
    std::fs::create_dir_all(&config.data_dir)?;
    if let Some(db) = manifest["database"].as_object() {
        if config.database_url.is_some() {
            bail!("this backup holds a SQLite database; unset DATABASE_URL to restore it into the data folder");
        }
        let src = from.join("cscx.db");
        let expected = db["sha256"].as_str().unwrap_or_default();
        if sha256_file(&src)? != expected {
            bail!(
                "{} does not match the manifest's checksum: the backup is damaged",
                src.display()
            );
        }
        let dest = config.data_dir.join("cscx.db");
        if dest.exists() && !force {
            bail!(
                "{} exists; stop the server and pass --force to replace it",
                dest.display()
            );
        }
        // Copy beside the target, then rename: a restore that stops half-way leaves the old
        // database (or none), never half of one.
        let tmp = config.data_dir.join(".cscx.db.restoring");
        std::fs::copy(&src, &tmp)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        for stale in ["cscx.db-wal", "cscx.db-shm"] {
            let _ = std::fs::remove_file(config.data_dir.join(stale));
        }
        std::fs::rename(&tmp, &dest)?;
    } else {
        eprintln!("this backup holds no database (PostgreSQL): restore it with pg_restore");
    }
    let files = copy_blobs(&from.join("blobs"), &config.data_dir.join("blobs"))?;
    let app = config
        .open()
        .await
        .context("opening the restored database")?;
    app.db
        .check_integrity()
        .await
        .context("checking the restored database")?;
    app.db.close().await;
    println!(
        "restored into {} ({files} stored files)",
        config.data_dir.display()
    );
    eprintln!("{KEY_WARNING}");
    Ok(())
}

/// Copies the blob tree (two-level, content-addressed), skipping files being written (their
/// names start with a dot). Returns how many files there are at the destination afterwards.
fn copy_blobs(from: &Path, to: &Path) -> anyhow::Result<usize> {
    let mut count = 0;
    if !from.exists() {
        return Ok(0);
    }
    for shard in std::fs::read_dir(from)? {
        let shard = shard?;
        if !shard.file_type()?.is_dir() {
            continue;
        }
        let dest_dir: PathBuf = to.join(shard.file_name());
        std::fs::create_dir_all(&dest_dir)?;
        for file in std::fs::read_dir(shard.path())? {
            let file = file?;
            let name = file.file_name();
            if name.to_string_lossy().starts_with('.') || !file.file_type()?.is_file() {
                continue;
            }
            let dest = dest_dir.join(&name);
            if !dest.exists() {
                std::fs::copy(file.path(), &dest)?;
            }
            count += 1;
        }
    }
    Ok(count)
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
