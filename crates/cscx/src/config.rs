//! Configuration from flags and environment variables, and opening the application.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use cscx_core::auth::AuthConfig;
use cscx_core::secrets::MasterKey;
use cscx_core::App;
use cscx_domain::SystemClock;
use cscx_store::{Db, PoolConfig};

#[derive(Args, Debug, Clone)]
pub struct Config {
    /// Folder for the SQLite database, uploaded files and the master key.
    #[arg(long, env = "CSCX_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// `postgres://…` to run on PostgreSQL; default: SQLite in the data folder.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Database connections per process.
    #[arg(
        long,
        env = "CSCX_DB_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    pub db_max_connections: u32,
    /// SQLite commits: `full` (default; an acknowledged write survives a power loss) or
    /// `normal` (faster; survives the process dying, but a power loss can take back the last
    /// commits).
    #[arg(long, env = "CSCX_SQLITE_SYNCHRONOUS", default_value = "full", value_parser = ["full", "normal"], global = true)]
    pub sqlite_synchronous: String,
    /// On SIGTERM, how long requests in flight and running jobs may take to finish (jobs still
    /// running then go back to the queue for another node).
    #[arg(
        long,
        env = "CSCX_SHUTDOWN_GRACE_SECS",
        default_value_t = 30,
        global = true
    )]
    pub shutdown_grace_secs: u64,
    /// Jobs a worker runs at once.
    #[arg(
        long,
        env = "CSCX_WORKER_CONCURRENCY",
        default_value_t = 4,
        global = true
    )]
    pub worker_concurrency: usize,
    /// `text` (default) or `json` (one JSON object per line).
    #[arg(long, env = "CSCX_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,
    /// Mark the session cookie Secure (serve over HTTPS).
    #[arg(long, env = "CSCX_COOKIE_SECURE", global = true)]
    pub cookie_secure: bool,
    /// API requests a minute per token or signed-in user (0: no limit). Per node.
    #[arg(
        long,
        env = "CSCX_RATE_LIMIT_PER_MINUTE",
        default_value_t = 1200,
        global = true
    )]
    pub rate_limit_per_minute: u32,
    /// The same for ingest-scoped tokens (0: no limit).
    #[arg(
        long,
        env = "CSCX_INGEST_RATE_LIMIT_PER_MINUTE",
        default_value_t = 6000,
        global = true
    )]
    pub ingest_rate_limit_per_minute: u32,
    /// Trust X-Forwarded-For for client addresses (only behind your own proxy).
    #[arg(long, env = "CSCX_TRUST_PROXY", global = true)]
    pub trust_proxy: bool,
    /// The earliest event timestamp ingestion accepts (YYYY-MM-DD, UTC): lower it to back-fill
    /// older history; anything earlier is rejected as a likely unit mistake.
    #[arg(
        long,
        env = "CSCX_INGEST_EARLIEST",
        default_value = "2000-01-01",
        global = true
    )]
    pub ingest_earliest: chrono::NaiveDate,
    /// The address people reach CSCX at (e.g. `https://cscx.example.com`), for links in
    /// notifications.
    #[arg(long, env = "CSCX_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Address space a document reader's child process may use, in MB.
    #[arg(
        long,
        env = "CSCX_DOCUMENT_MEMORY_MB",
        default_value_t = 1024,
        global = true
    )]
    pub document_memory_mb: u64,
    /// Our own company name: in an uploaded contract, the other party is the customer.
    #[arg(long, env = "CSCX_COMPANY_NAME", global = true)]
    pub company_name: Option<String>,
    /// Language model: `builtin` (offline, default), `openai` (any OpenAI-compatible endpoint)
    /// or `anthropic`.
    #[arg(
        long,
        env = "CSCX_LLM_PROVIDER",
        default_value = "builtin",
        global = true
    )]
    pub llm_provider: String,
    /// Agent messages a user may send per minute (per node).
    #[arg(
        long,
        env = "CSCX_AGENT_MESSAGES_PER_MINUTE",
        default_value_t = 30,
        global = true
    )]
    pub agent_messages_per_minute: usize,
    /// Model name for `openai`/`anthropic`.
    #[arg(long, env = "CSCX_LLM_MODEL", global = true)]
    pub llm_model: Option<String>,
    /// Endpoint, e.g. `http://127.0.0.1:11434/v1` for Ollama; defaults to the vendor's API.
    #[arg(long, env = "CSCX_LLM_BASE_URL", global = true)]
    pub llm_base_url: Option<String>,
}

pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CSCX_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log_format == "json" {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init();
    } else {
        builder.init();
    }
}

/// Creates `dir` (owner-only on Unix) if missing.
fn ensure_private_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

impl Config {
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.data_dir.join("cscx.db").display()),
        }
    }

    pub fn http(&self) -> cscx_http::HttpConfig {
        cscx_http::HttpConfig {
            cookie_secure: self.cookie_secure,
            trust_proxy: self.trust_proxy,
            rate_limits: cscx_http::ratelimit::RateLimits {
                per_minute: self.rate_limit_per_minute,
                ingest_per_minute: self.ingest_rate_limit_per_minute,
            },
            ..Default::default()
        }
    }

    /// Connects, applies migrations, loads the master key and builds the application.
    pub async fn open(&self) -> anyhow::Result<App> {
        ensure_private_dir(&self.data_dir)?;
        let url = self.database_url();
        let pool = PoolConfig {
            max_connections: self.db_max_connections.max(2),
            sqlite_durable: self.sqlite_synchronous != "normal",
            ..Default::default()
        };
        let db = Db::connect(&url, &pool)
            .await
            .context("connecting to the database")?;
        let clock = Arc::new(SystemClock);
        let applied =
            cscx_store::migrate::migrate(&db, chrono::Utc::now().timestamp_millis()).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "database migrated");
        }
        let key = match std::env::var("CSCX_MASTER_KEY") {
            Ok(hex) if !hex.is_empty() => MasterKey::from_hex(&hex)?,
            _ => MasterKey::load_or_create(&self.data_dir)?,
        };
        let mut app = App::new(
            db,
            clock,
            key,
            AuthConfig::default(),
            self.contract_settings(),
            self.agent_settings()?,
        );
        app.ingest.earliest = self.ingest_earliest;
        app.notify.public_url = self.public_url.clone().filter(|u| !u.is_empty());
        // The webhook URL is a credential (whoever has it may post): environment only.
        if let Some(url) = std::env::var("CSCX_SLACK_WEBHOOK_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            let slack = cscx_connect::SlackWebhook::new(&url).map_err(anyhow::Error::msg)?;
            app.notify.slack = Some(std::sync::Arc::new(slack));
        }
        Ok(app)
    }

    /// The agents' provider and outbox. Keys come from `CSCX_LLM_API_KEY`, or
    /// `OPENAI_API_KEY`/`ANTHROPIC_API_KEY`, and are never logged.
    pub fn agent_settings(&self) -> anyhow::Result<cscx_core::agents::AgentSettings> {
        use cscx_ai::llm::{anthropic::Anthropic, openai::OpenAi, HttpSettings};
        let mut base = cscx_core::agents::AgentSettings::in_dir(self.data_dir.join("outbox"));
        base.per_minute = self.agent_messages_per_minute.max(1);
        if let Some(url) = std::env::var("CSCX_SMTP_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            let from = std::env::var("CSCX_MAIL_FROM")
                .ok()
                .filter(|f| !f.is_empty());
            let smtp = cscx_connect::Smtp::from_url(&url, from).map_err(anyhow::Error::msg)?;
            tracing::info!(?smtp, "approved e-mails are sent through SMTP");
            base = base.with_mail(std::sync::Arc::new(smtp));
        }
        if let Some(url) = std::env::var("CSCX_CALDAV_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            let caldav = cscx_connect::CalDav::from_url(&url).map_err(anyhow::Error::msg)?;
            tracing::info!(?caldav, "approved meetings go to a CalDAV calendar");
            base = base.with_calendar(std::sync::Arc::new(caldav));
        }
        let key = |vendor: &str| {
            std::env::var("CSCX_LLM_API_KEY")
                .or_else(|_| std::env::var(vendor))
                .ok()
                .filter(|k| !k.is_empty())
        };
        let provider: std::sync::Arc<dyn cscx_ai::llm::Provider> = match self.llm_provider.as_str()
        {
            "builtin" => return Ok(base),
            "openai" => std::sync::Arc::new(OpenAi::new(HttpSettings::new(
                self.llm_base_url
                    .as_deref()
                    .unwrap_or("https://api.openai.com/v1"),
                key("OPENAI_API_KEY"),
                self.llm_model.as_deref().unwrap_or("gpt-4o-mini"),
            ))),
            "anthropic" => std::sync::Arc::new(Anthropic::new(HttpSettings::new(
                self.llm_base_url
                    .as_deref()
                    .unwrap_or("https://api.anthropic.com"),
                key("ANTHROPIC_API_KEY"),
                self.llm_model.as_deref().unwrap_or("claude-sonnet-4-5"),
            ))),
            other => {
                anyhow::bail!("CSCX_LLM_PROVIDER must be builtin, openai or anthropic, not {other}")
            }
        };
        tracing::info!(provider = %provider.name(), "language model configured");
        Ok(base.with_provider(provider))
    }

    /// Uploaded files live in the data folder, content-addressed.
    pub fn contract_settings(&self) -> cscx_core::contracts::ContractSettings {
        use cscx_ai::isolate::{DocumentReader, ProcessLimits, ProcessReader};
        // Untrusted files are parsed in a child process of this binary. If the binary cannot
        // find itself, a warning says that documents are read in-process (time-limited on a
        // thread, without the kernel's limits).
        let limits = ProcessLimits {
            memory_bytes: self.document_memory_mb.max(64) * 1024 * 1024,
            ..ProcessLimits::default()
        };
        let reader = match ProcessReader::current_exe(limits) {
            Ok(r) => DocumentReader::Process(std::sync::Arc::new(r)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot find this executable; documents are read in-process");
                DocumentReader::Thread
            }
        };
        cscx_core::contracts::ContractSettings {
            vendor_name: self.company_name.clone().filter(|n| !n.trim().is_empty()),
            reader,
            ..cscx_core::contracts::ContractSettings::in_dir(self.data_dir.join("blobs"))
        }
    }

    /// The demo admin's password: generated once and kept (owner-only) in the data folder, so
    /// every `serve --demo` prints the same login.
    pub fn demo_admin_password(&self) -> anyhow::Result<String> {
        let path = self.data_dir.join("demo-admin-password");
        if let Ok(p) = std::fs::read_to_string(&path) {
            return Ok(p.trim().to_owned());
        }
        let password = format!("demo-{}", &cscx_core::auth::random_secret()[..16]);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        f.write_all(password.as_bytes())?;
        Ok(password)
    }
}
