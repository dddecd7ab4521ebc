//! `cscx`: the one binary. Subcommands choose the role: `serve` (HTTP + embedded worker),
//! `worker` (jobs only), and admin tasks (`migrate`, `user`, `token`, `demo`, `jobs`, `openapi`).

mod backup_cli;
mod config;
mod contracts_cli;
mod intel_cli;

use std::io::Read;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use cscx_core::audit::Actor;
use cscx_core::demo::{self, SeedOptions};
use cscx_core::{housekeeping, App};
use cscx_domain::{Role, TokenScope};
use cscx_jobs::{Worker, WorkerConfig};

use config::Config;

#[derive(Parser)]
#[command(
    name = "cscx",
    version,
    about = "CSCX: open-source, self-hostable, AI-native customer success"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (and, unless --no-worker, a job worker).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "CSCX_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Load the demo portfolio and print the demo admin's login.
        #[arg(long)]
        demo: bool,
        /// Serve HTTP only; leave jobs to `cscx worker` processes.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run background jobs only (scale-out node).
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Demo data.
    Demo {
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// Usage data: bulk import and rollups.
    Usage {
        #[command(subcommand)]
        command: intel_cli::UsageCommand,
    },
    /// Health scores: point-in-time scores, back-tests, calibration, models.
    Health {
        #[command(subcommand)]
        command: intel_cli::HealthCommand,
    },
    /// Contracts: extract terms from a file, measure extraction quality.
    Contracts {
        #[command(subcommand)]
        command: contracts_cli::ContractsCommand,
    },
    /// Inspect the job queue.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Back up the database (SQLite: a consistent snapshot, taken while the server runs) and
    /// the stored files into a new folder. The master key is never included.
    Backup {
        /// The folder to write (must not exist, or be empty).
        out: std::path::PathBuf,
    },
    /// Restore a backup folder into the data folder (stop the server first).
    Restore {
        from: std::path::PathBuf,
        /// Replace an existing database.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; with --password-stdin the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "viewer")]
        role: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print its secret (shown only once).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Lower the token's role below its user's.
        #[arg(long)]
        role: Option<String>,
        /// `full` (default) or `ingest`.
        #[arg(long, default_value = "full")]
        scope: String,
        /// Expire after this many days.
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        email: Option<String>,
    },
    /// Revoke a token by id.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Load a deterministic demo portfolio (running it again adds nothing).
    Seed {
        #[arg(long, default_value_t = 40)]
        customers: u32,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Days of product usage to generate per customer (0 = none).
        #[arg(long, default_value_t = 60)]
        usage_days: u32,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Counts per status.
    Stats,
    /// Jobs in one status (queued, running, done, dead), newest first.
    List {
        #[arg(long, default_value = "dead")]
        status: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

fn main() -> anyhow::Result<()> {
    // The document reader's child process (see cscx_ai::isolate): before clap, logging or the
    // runtime, so the child is small and under its limits from the first instruction.
    if std::env::args_os().nth(1).as_deref() == Some(std::ffi::OsStr::new("read-document")) {
        std::process::exit(cscx_ai::isolate::child_main());
    }
    let cli = Cli::parse();
    config::init_logging(&cli.config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command {
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(&cscx_http::openapi())?);
            Ok(())
        }
        Command::Backup { out } => backup_cli::backup(&config, &out).await,
        Command::Restore { from, force } => backup_cli::restore(&config, &from, force).await,
        Command::Migrate => {
            let app = config.open().await?;
            println!("database is current ({})", app.db.backend().name());
            Ok(())
        }
        Command::Serve {
            bind,
            demo,
            no_worker,
        } => serve(config, &bind, demo, !no_worker).await,
        Command::Worker => {
            let app = config.open().await?;
            housekeeping::install_schedules(&app).await?;
            let (tx, rx) = tokio::sync::watch::channel(false);
            let worker = make_worker(&app, &config);
            let handle = tokio::spawn(worker.run(rx));
            shutdown_signal().await;
            let _ = tx.send(true);
            handle.await?;
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    role,
                    name,
                    password_stdin,
                },
        } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let app = config.open().await?;
            let user = app
                .auth
                .create_user(
                    &email,
                    name.as_deref(),
                    role,
                    password.as_deref(),
                    &Actor::cli(),
                )
                .await
                .map_err(err)?;
            println!("created {} user {} ({})", user.role, user.email, user.id);
            Ok(())
        }
        Command::Token { command } => token(config, command).await,
        Command::Demo {
            command:
                DemoCommand::Seed {
                    customers,
                    seed,
                    usage_days,
                },
        } => {
            let app = config.open().await?;
            let opts = SeedOptions {
                customers,
                seed,
                admin_password: None,
                usage_days,
            };
            let r = demo::seed(&app, &opts).await.map_err(err)?;
            println!(
                "demo portfolio: {} customers added ({} already there), {} stakeholders, {} contracts, {} entitlements, {} users, {} usage events",
                r.customers_created, r.customers_skipped, r.stakeholders_created, r.contracts_created, r.entitlements_created, r.users_created, r.usage_events
            );
            Ok(())
        }
        Command::Contracts { command } => {
            let settings = config.contract_settings();
            contracts_cli::run(command, settings.vendor_name, settings.reader)
        }
        Command::Usage { command } => intel_cli::usage(&config.open().await?, command).await,
        Command::Health { command } => intel_cli::health(&config.open().await?, command).await,
        Command::Jobs { command } => {
            let app = config.open().await?;
            match command {
                JobsCommand::Stats => {
                    let s = app.queue.stats().await?;
                    println!(
                        "queued {}  running {}  done {}  dead {}",
                        s.queued, s.running, s.done, s.dead
                    );
                }
                JobsCommand::List { status, limit } => {
                    for j in app.queue.list(&status, limit).await? {
                        println!(
                            "{}  {:<32} attempts {}/{}  updated {}  {}",
                            j.id,
                            j.kind,
                            j.attempts,
                            j.max_attempts,
                            j.updated_at,
                            j.last_error.unwrap_or_default()
                        );
                    }
                }
            }
            Ok(())
        }
    }
}

/// A use-case error as a one-line CLI message.
fn err(e: cscx_core::CoreError) -> anyhow::Error {
    match e {
        cscx_core::CoreError::Validation(fields) => anyhow::anyhow!("invalid input: {fields}"),
        other => anyhow::anyhow!("{other}"),
    }
}

fn read_password() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("reading the password from standard input")?;
    let pw = s.trim_end_matches(['\r', '\n']).to_owned();
    if pw.is_empty() {
        bail!("no password on standard input");
    }
    Ok(pw)
}

async fn token(config: Config, command: TokenCommand) -> anyhow::Result<()> {
    let app = config.open().await?;
    match command {
        TokenCommand::Create {
            email,
            name,
            role,
            scope,
            expires_in_days,
        } => {
            let role = role
                .map(|r| r.parse::<Role>())
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let scope: TokenScope = scope.parse().map_err(anyhow::Error::msg)?;
            let expires = expires_in_days.map(|d| app.now().add(chrono::Duration::days(d)));
            let (t, secret) = app
                .auth
                .create_token(&email, &name, role, scope, expires, &Actor::cli())
                .await
                .map_err(err)?;
            eprintln!(
                "token {} ({}, scope {}) created; store it now, it is not shown again:",
                t.id, t.name, t.scope
            );
            println!("{secret}");
        }
        TokenCommand::List { email } => {
            let user_id = match email {
                Some(e) => Some(
                    app.auth
                        .user_by_email(&e)
                        .await
                        .map_err(err)?
                        .context("no such user")?
                        .id,
                ),
                None => None,
            };
            for t in app.auth.list_tokens(user_id).await.map_err(err)? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{}  {:<24} {}…  scope {:<6} role {:<7} {state}  last used {}",
                    t.id,
                    t.name,
                    t.prefix,
                    t.scope,
                    t.role.as_deref().unwrap_or("(user)"),
                    t.last_used_at
                        .map(|x| x.to_string())
                        .unwrap_or_else(|| "never".into())
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let id = id
                .parse()
                .map_err(|_| anyhow::anyhow!("{id:?} is not a token id"))?;
            let t = app
                .auth
                .revoke_token(id, &Actor::cli())
                .await
                .map_err(err)?;
            println!("revoked {} ({})", t.id, t.name);
        }
    }
    Ok(())
}

fn make_worker(app: &App, config: &Config) -> Worker {
    let registry = housekeeping::registry(app);
    Worker::new(
        app.queue.clone(),
        registry,
        WorkerConfig {
            concurrency: config.worker_concurrency,
            shutdown_grace: std::time::Duration::from_secs(config.shutdown_grace_secs),
            ..WorkerConfig::default()
        },
    )
}

async fn serve(config: Config, bind: &str, demo: bool, with_worker: bool) -> anyhow::Result<()> {
    let app = config.open().await?;
    if let cscx_ai::isolate::DocumentReader::Process(reader) = &app.contracts.reader {
        reader.refill();
    }
    housekeeping::install_schedules(&app).await.map_err(err)?;
    if demo {
        let password = config.demo_admin_password()?;
        let opts = SeedOptions {
            admin_password: Some(password.clone()),
            ..SeedOptions::default()
        };
        let r = demo::seed(&app, &opts).await.map_err(err)?;
        if r.customers_created > 0 {
            println!("demo portfolio loaded: {} customers", r.customers_created);
        }
        let who: Vec<String> = r
            .logins
            .iter()
            .map(|(email, role)| format!("{email} ({role})"))
            .collect();
        println!("demo logins, password {password}: {}", who.join(", "));
        if who.is_empty() {
            println!(
                "demo admin login: {} (created earlier; its password is unchanged)",
                r.admin_email
            );
        }
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    let addr = listener.local_addr()?;
    let state = cscx_http::AppState::new(app.clone(), config.http());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = with_worker.then(|| tokio::spawn(make_worker(&app, &config).run(stop_rx)));
    println!(
        "CSCX listening on http://{addr} ({} database)",
        app.db.backend().name()
    );
    tracing::info!(%addr, "listening");
    // On SIGTERM: stop accepting, let requests in flight finish for the grace period, then
    // stop what is left (a hung upstream call must not keep the process alive).
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(cscx_http::serve(
        listener,
        cscx_http::app(state),
        async move {
            let _ = signalled_rx.await;
        },
    ));
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => { r??; }
        _ = shutdown_signal() => {
            let _ = signalled_tx.send(());
            let grace = std::time::Duration::from_secs(config.shutdown_grace_secs);
            match tokio::time::timeout(grace, &mut server).await {
                Ok(r) => r??,
                Err(_) => tracing::warn!("requests still running after the shutdown grace period were stopped"),
            }
        }
    }
    tracing::info!("HTTP server stopped; finishing background jobs");
    let _ = stop_tx.send(true);
    if let Some(w) = worker {
        w.await?;
    }
    app.db.close().await;
    Ok(())
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown requested");
}
