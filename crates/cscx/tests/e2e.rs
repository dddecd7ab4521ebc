//! End to end: the real `cscx` binary on a temporary data folder, driven through its CLI and
//! over HTTP, including shutdown by SIGTERM and (with PostgreSQL) two servers sharing a database.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use cscx_testkit::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_cscx");

fn cscx(data: &std::path::Path, db_url: Option<&str>, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("CSCX_DATA_DIR", data)
        .env_remove("DATABASE_URL")
        .env("CSCX_LOG", "warn");
    if let Some(u) = db_url {
        c.env("DATABASE_URL", u);
    }
    c
}

/// Runs a CLI command to completion; returns stdout, panicking with stderr on failure.
fn run(mut c: Command, stdin: Option<&str>) -> String {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("start cscx");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "cscx failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &std::path::Path, db_url: Option<&str>) -> Server {
        let mut c = cscx(data, db_url, &["serve", "--bind", "127.0.0.1:0"]);
        c.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = c.spawn().expect("start cscx serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("CSCX listening on ") {
                    let _ = tx.send(rest.split_whitespace().next().unwrap().to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server announces its address");
        Server { child, base }
    }

    /// Sends SIGTERM and waits for a clean exit.
    fn stop(mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill().unwrap();
        panic!("server did not stop within 15 s of SIGTERM");
    }
}

#[tokio::test]
async fn cli_and_api_on_a_fresh_data_folder() {
    let dir = TempDir::new("cscx-e2e");
    let data = dir.path().join("data");
    let out = run(
        cscx(
            &data,
            None,
            &[
                "user",
                "create",
                "--email",
                "Ops@E2E.example",
                "--role",
                "admin",
                "--name",
                "Ops",
                "--password-stdin",
            ],
        ),
        Some("a long e2e password\n"),
    );
    assert!(out.contains("created admin user ops@e2e.example"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the master key is owner-only");
    }
    let token = run(
        cscx(
            &data,
            None,
            &[
                "token",
                "create",
                "--email",
                "ops@e2e.example",
                "--name",
                "ci",
            ],
        ),
        None,
    );
    let token = token.trim().to_owned();
    assert!(token.starts_with("cscx_"));
    let listed = run(cscx(&data, None, &["token", "list"]), None);
    assert!(
        listed.contains("ci") && !listed.contains(&token),
        "lists tokens without secrets: {listed}"
    );
    let ingest = run(
        cscx(
            &data,
            None,
            &[
                "token",
                "create",
                "--email",
                "ops@e2e.example",
                "--name",
                "pipeline",
                "--scope",
                "ingest",
            ],
        ),
        None,
    );

    let server = Server::start(&data, None);
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/v1/customers", server.base))
        .bearer_auth(&token)
        .json(&json!({"name": "E2E Industries", "arr": 98765.43, "stage": "active"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["arr"].to_string(), "98765.43");
    let r = http
        .get(format!("{}/api/v1/customers?q=e2e", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let list: Value = r.json().await.unwrap();
    assert_eq!(list["data"][0]["id"], created["id"]);
    let r = http
        .get(format!("{}/api/v1/customers", server.base))
        .bearer_auth(ingest.trim())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "an ingest token reads nothing");
    let r = http
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"email": "ops@e2e.example", "password": "a long e2e password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Revoking from the CLI (another process) takes effect on the running server at once.
    let id = listed.split_whitespace().next().unwrap().to_owned();
    run(cscx(&data, None, &["token", "revoke", &id]), None);
    let r = http
        .get(format!("{}/api/v1/me", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A request in flight when SIGTERM arrives still gets its answer.
    let slow = {
        let base = server.base.clone();
        let token = ingest.trim().to_owned();
        tokio::spawn(async move {
            reqwest::Client::new()
                .get(format!("{base}/health/ready"))
                .bearer_auth(token)
                .send()
                .await
                .map(|r| r.status())
        })
    };
    let status = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(status.success(), "exits cleanly on SIGTERM: {status:?}");
    if let Ok(Ok(s)) = slow.await {
        assert_eq!(s, 200);
    }

    // Demo data: deterministic and not duplicated by a second run.
    let first = run(
        cscx(&data, None, &["demo", "seed", "--customers", "6"]),
        None,
    );
    assert!(first.contains("6 customers added"), "{first}");
    let second = run(
        cscx(&data, None, &["demo", "seed", "--customers", "6"]),
        None,
    );
    assert!(
        second.contains("0 customers added (6 already there)"),
        "{second}"
    );
}

#[tokio::test]
async fn an_acknowledged_usage_batch_survives_kill_9() {
    let dir = TempDir::new("cscx-e2e-crash");
    let data = dir.path().join("data");
    run(
        cscx(
            &data,
            None,
            &[
                "user",
                "create",
                "--email",
                "ops@crash.example",
                "--role",
                "admin",
            ],
        ),
        None,
    );
    let token = run(
        cscx(
            &data,
            None,
            &[
                "token",
                "create",
                "--email",
                "ops@crash.example",
                "--name",
                "ingest",
                "--scope",
                "ingest",
            ],
        ),
        None,
    );
    let admin = run(
        cscx(
            &data,
            None,
            &[
                "token",
                "create",
                "--email",
                "ops@crash.example",
                "--name",
                "read",
            ],
        ),
        None,
    );
    let mut server = Server::start(&data, None);
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/v1/customers", server.base))
        .bearer_auth(admin.trim())
        .json(&json!({"name": "Durable Ltd", "metadata": {"external_id": "dur-1"}}))
        .send()
        .await
        .unwrap();
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let events: Vec<Value> = (0..500)
        .map(|i| json!({"event_id": format!("d{i}"), "customer_key": "dur-1", "event_type": "login", "user_id": format!("u{}", i % 37), "timestamp": yesterday}))
        .collect();
    let r = http
        .post(format!("{}/api/v1/usage/events", server.base))
        .bearer_auth(token.trim())
        .json(&events)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["accepted"], 500);
    // No chance to flush or finish anything: SIGKILL right after the acknowledgement.
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let server = Server::start(&data, None);
    // Every acknowledged event is there: resending them finds only duplicates.
    let r = http
        .post(format!("{}/api/v1/usage/events", server.base))
        .bearer_auth(token.trim())
        .json(&events)
        .send()
        .await
        .unwrap();
    let report = r.json::<Value>().await.unwrap();
    assert_eq!(
        (
            report["accepted"].as_u64(),
            report["duplicates"].as_array().map(Vec::len)
        ),
        (Some(0), Some(500))
    );
    // The rollup bookkeeping committed with them survived too: rolling up now (a job killed
    // mid-run is otherwise retried once its lease expires) counts every user.
    let r = http
        .post(format!(
            "{}/api/v1/customers/{id}/health/recompute",
            server.base
        ))
        .bearer_auth(admin.trim())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("{}/api/v1/customers/{id}/usage", server.base))
        .bearer_auth(admin.trim())
        .send()
        .await
        .unwrap();
    let rows = r.json::<Value>().await.unwrap();
    let dau = rows
        .as_array()
        .and_then(|r| r.first())
        .map(|r| r["dau"].clone())
        .unwrap_or(Value::Null);
    assert_eq!(dau, 37);
    assert!(server.stop().success());
}

#[tokio::test]
async fn two_servers_on_one_postgresql_behave_as_one() {
    let Some(pg) = cscx_testkit::TestDb::postgres().await else {
        return;
    };
    let url = pg.url.clone();
    let dir = TempDir::new("cscx-e2e-pg");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    run(
        cscx(
            &data,
            Some(&url),
            &[
                "user",
                "create",
                "--email",
                "pg@e2e.example",
                "--role",
                "csm",
                "--password-stdin",
            ],
        ),
        Some("another long password"),
    );
    let a = Server::start(&data, Some(&url));
    let b = Server::start(&data, Some(&url));
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/api/v1/auth/login", a.base))
        .json(&json!({"email": "pg@e2e.example", "password": "another long password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = r.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // The session opened on A works on B; what B writes, A reads.
    let r = http
        .post(format!("{}/api/v1/customers", b.base))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .json(&json!({"name": "Shared State Inc"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = http
        .get(format!("{}/api/v1/customers/{id}", a.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Failed logins on either node count towards one limit.
    for node in [&a, &b, &a, &b, &a] {
        let r = http
            .post(format!("{}/api/v1/auth/login", node.base))
            .json(&json!({"email": "pg@e2e.example", "password": "nope"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = http
        .post(format!("{}/api/v1/auth/login", b.base))
        .json(&json!({"email": "pg@e2e.example", "password": "another long password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // Logging out on B ends the session on A.
    let r = http
        .post(format!("{}/api/v1/auth/logout", b.base))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = http
        .get(format!("{}/api/v1/me", a.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(a.stop().success());
    assert!(b.stop().success());
    pg.finish().await;
}
