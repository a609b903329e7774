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
    /// Other nodes of the same cluster, `http://host:port`: operators connect
    /// to these in turn while visitors stay on `url`, so that every message
    /// crosses from one node to another. Empty: everyone on `url`.
    pub operator_urls: Vec<String>,
    /// The server's process, to read its memory and CPU from `/proc`.
    pub server_pid: Option<u32>,
}

impl Fixture {
    /// Where operator `i` connects.
    pub fn operator_endpoint(&self, i: usize) -> anyhow::Result<Endpoint> {
        match self.operator_urls.len() {
            0 => self.endpoint(),
            n => Fixture { url: self.operator_urls[i % n].clone(), ..self.clone() }.endpoint(),
        }
    }

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
    /// The first node, then the others of a cluster.
    children: Vec<Child>,
    /// The prepared server's data folder, removed with it.
    dir: Option<std::path::PathBuf>,
    /// The prepared PostgreSQL database, dropped with it: a run writes
    /// hundreds of thousands of rows, which would otherwise pile up (and
    /// lengthen PostgreSQL's checkpoints in the runs after it).
    database: Option<String>,
}

impl ServerProcess {
    /// For a server the bench did not start.
    pub fn external() -> Self {
        Self { children: Vec::new(), dir: None, database: None }
    }

    pub fn started(children: Vec<Child>, dir: std::path::PathBuf, database_url: &str) -> Self {
        let database = database_url.starts_with("postgres").then(|| database_url.to_string());
        Self { children, dir: Some(dir), database }
    }

    /// The first node's.
    pub fn pid(&self) -> Option<u32> {
        self.children.first().map(Child::id)
    }

    /// Stops the servers but leaves their data folder (and database), to
    /// look into or to serve again by hand; returns where it is.
    pub fn keep_data(mut self) -> Option<std::path::PathBuf> {
        self.database = None;
        self.dir.take()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        for child in &mut self.children {
            // Errors here mean the process is already gone, which is the goal.
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(url) = self.database.take() {
            // On a thread of its own: this may run inside the bench's runtime.
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(ostrog_store_sql::drop_postgres_database(&postgres_admin_url(), &url))?;
                anyhow::Ok(())
            });
            if let Ok(Err(e)) = dropped.join() {
                eprintln!("the bench's PostgreSQL database was not dropped: {e}");
            }
        }
    }
}

/// Where the bench creates (and drops) its PostgreSQL databases.
fn postgres_admin_url() -> String {
    std::env::var("OSTROG_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The website the prepared widget allows.
pub const BENCH_ORIGIN: &str = "http://bench.local";

/// How many `ostrog serve` processes, and the bus between them.
#[derive(Debug, Clone)]
pub struct Nodes {
    pub count: usize,
    /// `[cluster] bus`: `postgres` or `nats`.
    pub bus: String,
    pub nats_url: String,
}

/// Sets up a server to measure: a fresh `database`, one widget, `operators`
/// employees who may take `chat_limit` chats each with a session token each,
/// and `nodes.count` `ostrog serve` processes from `server_bin`, each
/// listening on a free port (several only on PostgreSQL).
///
/// The fixture is written through Ostrog's own library (the same services
/// the test kit uses), then the server runs as a separate process so that
/// its memory and CPU are its own.
pub async fn prepare(
    database: Backend,
    operators: usize,
    chat_limit: u32,
    server_bin: &Path,
    nodes: &Nodes,
) -> anyhow::Result<(Fixture, ServerProcess)> {
    let prepared = prepare_database(database, operators, chat_limit, nodes).await?;
    start(prepared, server_bin, nodes).await
}

/// A prepared database before any server runs on it: the library's own
/// `App` on it, for a mode that writes more (the search mode's history).
pub struct Prepared {
    pub app: std::sync::Arc<ostrog_server::app::App>,
    pub widget: ostrog_domain::ids::WidgetId,
    pub operators: Vec<ostrog_domain::ids::EmployeeId>,
    pub operator_tokens: Vec<String>,
    dir: std::path::PathBuf,
    database_url: String,
    ports: Vec<u16>,
}

impl Prepared {
    /// A session token (two factors passed) for a new employee of `role`.
    pub async fn employee_token(&self, role: ostrog_domain::role::Role, name: &str) -> anyhow::Result<String> {
        Ok(employee(&self.app, role, name, None).await?.1)
    }
}

/// An active employee of `role` with a session token.
async fn employee(
    app: &ostrog_server::app::App,
    role: ostrog_domain::role::Role,
    name: &str,
    chat_limit: Option<u32>,
) -> anyhow::Result<(ostrog_domain::ids::EmployeeId, String)> {
    use ostrog_domain::employee::{Employee, EmployeeStatus};
    use ostrog_domain::ids::EmployeeId;
    use ostrog_domain::session::Stage;
    use ostrog_server::services::auditor::Ctx;
    let id = EmployeeId::random();
    let employee = Employee {
        id,
        email: format!("{name}@bench.local"),
        name: name.into(),
        role,
        status: EmployeeStatus::Active,
        created_at: app.now(),
    };
    app.store
        .create_employee(&ostrog_store::NewEmployee { employee, password_hash: None, must_change_password: false })
        .await?;
    if let Some(limit) = chat_limit {
        app.store.set_chat_limit(id, limit).await?;
    }
    let record = app.store.employee(id).await?.context("the employee just made")?;
    let token = app.sessions.issue(&record, Stage::Full, &Ctx::default()).await?.token;
    Ok((id, token))
}

/// The database, the widget and the operators of [`prepare`], with no
/// server running yet.
pub async fn prepare_database(
    database: Backend,
    operators: usize,
    chat_limit: u32,
    nodes: &Nodes,
) -> anyhow::Result<Prepared> {
    anyhow::ensure!(nodes.count >= 1, "at least one node");
    anyhow::ensure!(nodes.count == 1 || database == Backend::Postgres, "several nodes need --database postgres");
    use ostrog_domain::ids::WidgetId;
    use ostrog_domain::role::Role;
    use ostrog_domain::widget::{WidgetSettings, WorkingHours};
    use ostrog_store::WidgetRecord;

    let dir = std::env::temp_dir().join(format!("ostrog-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let ports = (0..nodes.count)
        .map(|_| Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port()))
        .collect::<anyhow::Result<Vec<u16>>>()?;
    let port = ports[0];
    let database_url = match database {
        Backend::Sqlite => format!("sqlite://{}", dir.join("ostrog.db").display()),
        Backend::Postgres => {
            ostrog_store_sql::create_fresh_postgres_database(&postgres_admin_url(), "ostrog_bench").await?
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
    let secret = app.vault.seal(&ostrog_server::keys::Purpose::WidgetSecret(widget), &[0u8; 32]);
    app.store.create_widget(&WidgetRecord { id: widget, settings, secret, created_at: now }).await?;
    let mut operator_ids = Vec::with_capacity(operators);
    let mut operator_tokens = Vec::with_capacity(operators);
    for i in 0..operators {
        let (id, token) = employee(&app, Role::Operator, &format!("operator-{i}"), Some(chat_limit)).await?;
        operator_ids.push(id);
        operator_tokens.push(token);
    }
    Ok(Prepared { app, widget, operators: operator_ids, operator_tokens, dir, database_url, ports })
}

/// Starts `nodes.count` `ostrog serve` processes on a prepared database and
/// waits until each is ready.
pub async fn start(prepared: Prepared, server_bin: &Path, nodes: &Nodes) -> anyhow::Result<(Fixture, ServerProcess)> {
    let Prepared { app, widget, operator_tokens, dir, database_url, ports, .. } = prepared;
    drop(app);
    let port = ports[0];
    let mut children = Vec::with_capacity(nodes.count);
    for (i, port) in ports.iter().enumerate() {
        // With BENCH_SERVER_LOG set, each node's log is kept in the temporary folder.
        let (log, errors) = match std::env::var_os("BENCH_SERVER_LOG") {
            Some(_) => {
                let file = std::fs::File::create(std::env::temp_dir().join(format!("ostrog-bench-node{i}.log")))?;
                (std::process::Stdio::from(file.try_clone()?), std::process::Stdio::from(file))
            }
            None => (std::process::Stdio::null(), std::process::Stdio::inherit()),
        };
        let child = std::process::Command::new(server_bin)
            .arg("serve")
            .env("OSTROG_DATA_DIR", &dir)
            .env("OSTROG_DATABASE_URL", &database_url)
            .env("OSTROG_LISTEN", format!("127.0.0.1:{port}"))
            .env("OSTROG_CLUSTER__BUS", &nodes.bus)
            .env("OSTROG_CLUSTER__NATS_URL", &nodes.nats_url)
            // One address plays every visitor: the per-address limits would refuse it.
            .env("OSTROG_LIMITS__VISITOR_SOCKETS_PER_IP", "1000000")
            .env("OSTROG_LIMITS__PUBLIC_REQUESTS_PER_MINUTE", "1000000")
            .env("OSTROG_LOG__LEVEL", std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(log)
            .stderr(errors)
            .spawn()
            .with_context(|| format!("cannot start {}", server_bin.display()))?;
        children.push(child);
    }
    let server = ServerProcess::started(children, dir, &database_url);
    let url = |port: &u16| format!("http://127.0.0.1:{port}");
    for port in &ports {
        wait_ready(&url(port)).await?;
    }
    let fixture = Fixture {
        url: url(&port),
        widget_id: widget.to_string(),
        origin: BENCH_ORIGIN.into(),
        operator_tokens,
        operator_urls: ports[1..].iter().map(url).collect(),
        server_pid: server.pid(),
    };
    Ok((fixture, server))
}

/// Until `GET /readyz` answers 200 (the bus of a cluster is up, too), for
/// up to two minutes: a server upgrading a large database migrates it first.
async fn wait_ready(base: &str) -> anyhow::Result<()> {
    let authority = base.rsplit("://").next().context("an address")?;
    for _ in 0..1_200 {
        let ready = crate::http::exchange(authority, "GET /readyz HTTP/1.1\r\n", &[]).await;
        if ready.is_ok_and(|a| a.status() == 200) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("the server at {base} never became ready")
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
            operator_urls: vec![],
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
