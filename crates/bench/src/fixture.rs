//! What the load engine needs to know about the Ostrog it measures.
//!
//! Either `prepare` sets up a server of its own (database, employees, the
//! `ostrog serve` process), or the command line names an externally started
//! one (`--url --widget --origin --operator-token`).

use anyhow::Context;
use std::path::Path;
use std::process::Child;

#[derive(Debug, Clone)]
pub struct Fixture {
    /// Base address of the server, `http://127.0.0.1:PORT`.
    pub url: String,
    pub widget_id: String,
    /// A value of the `Origin` header the widget allows.
    pub origin: String,
    /// Bearer session tokens, one per operator connection.
    pub operator_tokens: Vec<String>,
    /// The server's process, to read its memory and CPU from `/proc`.
    pub server_pid: Option<u32>,
}

impl Fixture {
    /// `ws://host:port` for the fixture's `http://host:port` (and `host:port`
    /// for the TCP connect). Only plain HTTP: the bench has no TLS stack, and
    /// measuring TLS is not its point.
    pub fn endpoint(&self) -> anyhow::Result<Endpoint> {
        let rest = self
            .url
            .strip_prefix("http://")
            .with_context(|| format!("the server URL must start with http:// (got {:?})", self.url))?;
        let authority = rest.trim_end_matches('/');
        anyhow::ensure!(
            !authority.is_empty() && !authority.contains('/'),
            "the server URL must be http://host:port without a path (got {:?})",
            self.url
        );
        Ok(Endpoint { authority: authority.to_owned() })
    }
}

/// Where to open WebSockets.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub authority: String,
}

impl Endpoint {
    pub fn visitor_url(&self, widget_id: &str) -> String {
        format!("ws://{}/api/v1/widget/{widget_id}/ws", self.authority)
    }

    pub fn operator_url(&self) -> String {
        format!("ws://{}/api/v1/ws", self.authority)
    }
}

/// The database `prepare` runs the server against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The `ostrog serve` process `prepare` started, if any. Killed when
/// dropped, so a failed or interrupted run does not leave a server behind
/// holding the port and the database.
#[derive(Debug, Default)]
pub struct ServerProcess {
    child: Option<Child>,
    /// The prepared server's data folder, removed with it.
    dir: Option<std::path::PathBuf>,
}

impl ServerProcess {
    /// For a server the bench did not start.
    pub fn external() -> Self {
        Self { child: None, dir: None }
    }

    pub fn started(child: Child, dir: std::path::PathBuf) -> Self {
        Self { child: Some(child), dir: Some(dir) }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            // Errors here mean the process is already gone, which is the goal.
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The website the prepared widget allows.
pub const BENCH_ORIGIN: &str = "http://bench.local";

/// Sets up a server to measure: a fresh `database`, one widget, `operators`
/// employees who may take `chat_limit` chats each with a session token each,
/// and the `ostrog serve` process from `server_bin` listening on a free port.
///
/// The fixture is written through Ostrog's own library (the same services
/// the test kit uses), then the server runs as a separate process so that
/// its memory and CPU are its own.
pub async fn prepare(
    database: Backend,
    operators: usize,
    chat_limit: u32,
    server_bin: &Path,
) -> anyhow::Result<(Fixture, ServerProcess)> {
    use ostrog_domain::employee::{Employee, EmployeeStatus};
    use ostrog_domain::ids::{EmployeeId, WidgetId};
    use ostrog_domain::role::Role;
    use ostrog_domain::session::Stage;
    use ostrog_domain::widget::{WidgetSettings, WorkingHours};
    use ostrog_server::app::Ctx;
    use ostrog_store::{NewEmployee, WidgetRecord};

    let dir = std::env::temp_dir().join(format!("ostrog-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let database_url = match database {
        Backend::Sqlite => format!("sqlite://{}", dir.join("ostrog.db").display()),
        Backend::Postgres => {
            let admin = std::env::var("OSTROG_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            ostrog_store_sql::create_fresh_postgres_database(&admin, "ostrog_bench").await?
        }
    };
    let config = ostrog_server::config::Config {
        data_dir: dir.clone(),
        listen: format!("127.0.0.1:{port}").parse()?,
        database_url: database_url.clone(),
        ..Default::default()
    };
    let app = ostrog_server::open_app(&config, ostrog_server::system_clock()).await?;
    let now = app.now();
    let widget = WidgetId::random();
    let settings = WidgetSettings {
        name: "Bench".into(),
        greeting: String::new(),
        working_hours: WorkingHours::default(),
        allowed_origins: vec![BENCH_ORIGIN.into()],
        language: Default::default(),
    };
    let secret = app.vault.seal(&ostrog_server::services::visitors::widget_secret_purpose(widget), &[0u8; 32]);
    app.store.create_widget(&WidgetRecord { id: widget, settings, secret, created_at: now }).await?;
    let mut operator_tokens = Vec::with_capacity(operators);
    for i in 0..operators {
        let id = EmployeeId::random();
        let employee = Employee {
            id,
            email: format!("operator-{i}@bench.local"),
            name: format!("Operator {i}"),
            role: Role::Operator,
            status: EmployeeStatus::Active,
            created_at: now,
        };
        app.store.create_employee(&NewEmployee { employee, password_hash: None, must_change_password: false }).await?;
        app.store.set_chat_limit(id, chat_limit).await?;
        let record = app.store.employee(id).await?.context("the operator just made")?;
        operator_tokens.push(app.issue_session(&record, Stage::Full, &Ctx::default()).await?.token);
    }
    drop(app);
    let child = std::process::Command::new(server_bin)
        .arg("serve")
        .env("OSTROG_DATA_DIR", &dir)
        .env("OSTROG_DATABASE_URL", &database_url)
        .env("OSTROG_LISTEN", format!("127.0.0.1:{port}"))
        // One address plays every visitor: the per-address limits would refuse it.
        .env("OSTROG_LIMITS__VISITOR_SOCKETS_PER_IP", "1000000")
        .env("OSTROG_LIMITS__PUBLIC_REQUESTS_PER_MINUTE", "1000000")
        .env("OSTROG_LOG__LEVEL", std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
        .stdout(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", server_bin.display()))?;
    let server = ServerProcess::started(child, dir);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            let fixture = Fixture {
                url: format!("http://127.0.0.1:{port}"),
                widget_id: widget.to_string(),
                origin: BENCH_ORIGIN.into(),
                operator_tokens,
                server_pid: server.pid(),
            };
            return Ok((fixture, server));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("the server did not start listening on port {port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(url: &str) -> Fixture {
        Fixture {
            url: url.into(),
            widget_id: "w".into(),
            origin: "http://shop.test".into(),
            operator_tokens: vec![],
            server_pid: None,
        }
    }

    #[test]
    fn websocket_urls_come_from_the_http_url() -> anyhow::Result<()> {
        let endpoint = fixture("http://127.0.0.1:8080/").endpoint()?;
        assert_eq!(endpoint.authority, "127.0.0.1:8080");
        assert_eq!(endpoint.visitor_url("abc"), "ws://127.0.0.1:8080/api/v1/widget/abc/ws");
        assert_eq!(endpoint.operator_url(), "ws://127.0.0.1:8080/api/v1/ws");
        Ok(())
    }

    #[test]
    fn tls_and_paths_are_refused() {
        assert!(fixture("https://127.0.0.1:8443").endpoint().is_err());
        assert!(fixture("http://127.0.0.1:8080/prefix").endpoint().is_err());
    }
}
