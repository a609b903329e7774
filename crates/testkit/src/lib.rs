//! Test support: starts the real server on 127.0.0.1:0 against a fresh
//! SQLite file or a fresh PostgreSQL database, with a clock the test moves,
//! and makes employees of every role to talk to it as clients do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod clamd;
pub mod fakes;
pub mod icap;
pub mod ws;

use ostrog_domain::access::Effect;
use ostrog_domain::clock::{Clock, ManualClock, SECOND};
use ostrog_domain::employee::{Employee, EmployeeStatus};
use ostrog_domain::ids::EmployeeId;
use ostrog_domain::role::Role;
use ostrog_domain::session::Stage;
use ostrog_domain::totp;
use ostrog_server::app::App;
use ostrog_server::config::Config;
use ostrog_server::services::auditor::Ctx;
use ostrog_store::NewEmployee;
use reqwest::{Method, RequestBuilder};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the PostgreSQL tests create their databases.
pub fn postgres_admin_url() -> String {
    std::env::var("OSTROG_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The website the test widgets allow.
pub const ORIGIN: &str = "https://shop.example";

pub const PASSWORD: &str = "a long and unremarkable passphrase";

pub struct TestServer {
    pub url: String,
    pub app: Arc<App>,
    pub clock: Arc<ManualClock>,
    pub config: Config,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    postgres_url: Option<String>,
    dir: PathBuf,
}

/// An employee made by the test kit, with their password and TOTP secret.
#[derive(Debug, Clone)]
pub struct TestEmployee {
    pub employee: Employee,
    pub password: String,
    pub totp_secret: Option<Vec<u8>>,
}

impl TestEmployee {
    pub fn id(&self) -> EmployeeId {
        self.employee.id
    }
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = std::env::temp_dir().join(format!("ostrog-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let postgres_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(
                ostrog_store_sql::create_fresh_postgres_database(&postgres_admin_url(), "ostrog_t")
                    .await
                    .expect("PostgreSQL must be reachable at OSTROG_TEST_POSTGRES_URL"),
            ),
        };
        let (listener, addr) = listener();
        let mut config = Config {
            data_dir: dir.clone(),
            listen: addr,
            public_url: format!("http://{addr}"),
            database_url: postgres_url
                .clone()
                .unwrap_or_else(|| format!("sqlite://{}", dir.join("ostrog.db").display())),
            ..Config::default()
        };
        // The fake messengers listen on this host.
        config.channels.allow_private_addresses = true;
        adjust(&mut config);
        Self::launch(config, listener, Arc::new(ManualClock::default()), postgres_url, dir).await
    }

    async fn launch(
        config: Config,
        listener: std::net::TcpListener,
        clock: Arc<ManualClock>,
        postgres_url: Option<String>,
        dir: PathBuf,
    ) -> TestServer {
        let app = ostrog_server::open_app(&config, clock.clone()).await.unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let (c, a) = (config.clone(), app.clone());
        let server = tokio::spawn(async move {
            ostrog_server::serve(&c, a, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        TestServer {
            url: format!("http://{}", config.listen),
            app,
            clock,
            config,
            http,
            shutdown: Some(tx),
            server: Some(server),
            postgres_url,
            dir,
        }
    }

    /// Stops the server (as SIGTERM does: gracefully) and starts it again on
    /// the same database, files, keys and clock, on a new port.
    pub async fn restart(mut self) -> TestServer {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        let (listener, addr) = listener();
        let config = Config { listen: addr, public_url: format!("http://{addr}"), ..self.config.clone() };
        Self::launch(config, listener, self.clock.clone(), self.postgres_url.take(), self.dir.clone()).await
    }

    /// Stops the server and removes its database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if let Some(url) = self.postgres_url.take() {
            self.app.store.ping().await.ok();
            let _ = ostrog_store_sql::drop_postgres_database(&postgres_admin_url(), &url).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url))
    }

    pub fn as_(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(token)
    }

    /// GET `path` as the session `token`; the JSON body, whatever the status.
    pub async fn get_json(&self, token: &str, path: &str) -> serde_json::Value {
        self.as_(token, Method::GET, path).send().await.unwrap().json().await.unwrap()
    }

    /// Creates an employee of `role` with a password and an active TOTP
    /// secret, with `overrides` on top of the role.
    pub async fn employee(
        &self,
        role: Role,
        overrides: &[(ostrog_domain::permission::Permission, Effect)],
    ) -> TestEmployee {
        let id = EmployeeId::random();
        let employee = Employee {
            id,
            email: format!("{}-{}@example.test", role.name(), id.0.simple()),
            name: format!("Test {}", role.name()),
            role,
            status: EmployeeStatus::Active,
            created_at: self.clock.now(),
        };
        let hash = self.app.sign_in.hasher().hash(PASSWORD).await.unwrap();
        let store = &self.app.store;
        store
            .create_employee(&NewEmployee {
                employee: employee.clone(),
                password_hash: Some(hash),
                must_change_password: false,
            })
            .await
            .unwrap();
        let secret = vec![id.0.as_bytes()[0]; totp::SECRET_BYTES];
        let sealed = self.app.vault.seal(&ostrog_server::keys::Purpose::Totp(id), &secret);
        store.set_pending_totp(id, Some(&sealed)).await.unwrap();
        store.activate_totp(id, 0, &[]).await.unwrap();
        for (p, effect) in overrides {
            store.set_override(id, *p, Some(*effect)).await.unwrap();
        }
        TestEmployee { employee, password: PASSWORD.into(), totp_secret: Some(secret) }
    }

    /// The Administrator, created through the same service as `ostrog admin create`.
    pub async fn administrator(&self) -> TestEmployee {
        let e = self
            .app
            .setup
            .create_administrator("admin@example.test", "Ada Admin", PASSWORD, &Ctx::default())
            .await
            .unwrap();
        TestEmployee { employee: e, password: PASSWORD.into(), totp_secret: None }
    }

    /// A fully signed-in session token, issued directly (fixture set-up for
    /// tests that are about something other than signing in).
    pub async fn session(&self, who: &TestEmployee) -> String {
        let record = self.app.store.employee(who.id()).await.unwrap().unwrap();
        self.app.sessions.issue(&record, Stage::Full, &Ctx::default()).await.unwrap().token
    }

    /// The current TOTP code for `who`, after moving the clock to a fresh
    /// step so that no code is ever reused.
    pub fn next_code(&self, who: &TestEmployee) -> String {
        self.clock.advance(totp::STEP_SECONDS as i64 * SECOND);
        let seconds = (self.clock.now() / SECOND) as u64;
        totp::code_at(who.totp_secret.as_ref().expect("employee has TOTP"), seconds)
    }

    /// Sets the installation's language (`ru`, `en`) through the API, as
    /// `admin`: the pages of whoever has not chosen one speak it.
    pub async fn set_language(&self, admin_token: &str, language: &str) {
        let body = serde_json::json!({"language": language});
        let r = self.as_(admin_token, Method::PUT, "/api/v1/settings/language").json(&body).send().await.unwrap();
        assert_eq!(r.status(), 204);
    }

    /// A widget made through the API by `admin`, allowing `ORIGIN`; returns
    /// its id and identity secret.
    pub async fn widget(&self, admin_token: &str) -> (String, String) {
        let body = serde_json::json!({"name": "Shop", "greeting": "Hi!", "allowed_origins": [ORIGIN]});
        let r = self.as_(admin_token, Method::POST, "/api/v1/widgets").json(&body).send().await.unwrap();
        assert_eq!(r.status(), 201);
        let w: serde_json::Value = r.json().await.unwrap();
        (w["id"].as_str().unwrap().to_string(), w["secret"].as_str().unwrap().to_string())
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("{}{path}", self.url.replacen("http", "ws", 1))
    }

    /// A visitor connected to the widget from `ORIGIN`, after `hello`;
    /// returns the socket and the `welcome` frame.
    pub async fn visitor(&self, widget: &str, hello: serde_json::Value) -> (ws::Ws, serde_json::Value) {
        let url = self.ws_url(&format!("/api/v1/widget/{widget}/ws"));
        let mut ws = ws::Ws::connect(&url, &[("origin", ORIGIN)]).await.expect("visitor socket");
        ws.send(hello).await;
        let welcome = ws.expect("welcome").await;
        (ws, welcome)
    }

    /// The operator socket of the session `token`, after `welcome`.
    pub async fn operator_ws(&self, token: &str) -> ws::Ws {
        let auth = format!("Bearer {token}");
        let mut ws =
            ws::Ws::connect(&self.ws_url("/api/v1/ws"), &[("authorization", &auth)]).await.expect("operator socket");
        ws.expect("welcome").await;
        ws
    }

    /// Signs in through the API: password, then the TOTP code. Returns the token.
    pub async fn sign_in(&self, who: &TestEmployee) -> String {
        let r = self
            .request(Method::POST, "/api/v1/auth/sign-in")
            .json(&serde_json::json!({"email": who.employee.email, "password": who.password, "api_client": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "sign-in of {}", who.employee.email);
        let body: serde_json::Value = r.json().await.unwrap();
        let token = body["token"].as_str().unwrap().to_string();
        if body["stage"] != "second_factor" {
            return token;
        }
        let code = self.next_code(who);
        let r = self
            .as_(&token, Method::POST, "/api/v1/auth/second-factor")
            .json(&serde_json::json!({"code": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // The session was replaced: the token from here on is the new one.
        let body: serde_json::Value = r.json().await.unwrap();
        body["token"].as_str().unwrap().to_string()
    }
}

impl TestServer {
    /// Conversations found by searching `words` as `token`, once the search
    /// index has caught up (it lags the messages by a moment): the first
    /// non-empty answer within five seconds, else the empty one.
    pub async fn search(&self, token: &str, words: &str) -> Vec<serde_json::Value> {
        let url = format!("/api/v1/conversations?q={}", urlencode(words));
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let items = self.get_json(token, &url).await["items"].as_array().cloned().unwrap_or_default();
            if !items.is_empty() || tokio::time::Instant::now() > deadline {
                return items;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Everything the installation keeps at rest, as an attacker who stole
    /// the disk or a database dump would see it (without the master key):
    /// every file of the data folder (SQLite databases, their write-ahead
    /// logs, stored files) and, on PostgreSQL, every row of every table of
    /// the database and of its key store, as text.
    pub async fn dump(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut folders = vec![self.dir.clone()];
        while let Some(dir) = folders.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.file_name() != Some(std::ffi::OsStr::new("master.key")) {
                    out.extend(std::fs::read(&path).unwrap_or_default());
                }
            }
        }
        if let Some(url) = &self.postgres_url {
            for db in [url.clone(), ostrog_store_sql::keys_url_beside(url).unwrap()] {
                out.extend(postgres_rows(&db).await);
            }
        }
        out
    }

    /// A consistent copy of the SQLite database, taken now (`VACUUM INTO`).
    pub async fn copy_sqlite(&self) -> PathBuf {
        use sqlx::Connection;
        let copy = self.dir.join(format!("copy-{}.db", uuid::Uuid::new_v4().simple()));
        let mut conn = sqlx::SqliteConnection::connect(&self.config.database_url()).await.unwrap();
        sqlx::query("VACUUM INTO $1").bind(copy.display().to_string()).execute(&mut conn).await.unwrap();
        copy
    }
}

async fn postgres_rows(url: &str) -> Vec<u8> {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let rows =
            sqlx::query(&format!("SELECT t::text AS row FROM \"{table}\" t")).fetch_all(&mut conn).await.unwrap();
        for row in rows {
            out.extend(row.get::<String, _>("row").into_bytes());
            out.push(b'\n');
        }
    }
    out
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// Fails when `needle` is in `dump`, in the clear or hex-encoded (as
/// PostgreSQL prints binary columns).
pub fn assert_not_in_dump(dump: &[u8], needle: &str) {
    let hexed = hex::encode(needle.as_bytes());
    for form in [needle.as_bytes(), hexed.as_bytes()] {
        assert!(!dump.windows(form.len()).any(|w| w == form), "{needle:?} is readable at rest");
    }
}

/// Sets one override (test shorthand).
pub fn grant(p: ostrog_domain::permission::Permission) -> (ostrog_domain::permission::Permission, Effect) {
    (p, Effect::Grant)
}
pub fn revoke(p: ostrog_domain::permission::Permission) -> (ostrog_domain::permission::Permission, Effect) {
    (p, Effect::Revoke)
}

fn listener() -> (std::net::TcpListener, std::net::SocketAddr) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// Runs a test body once per backend: `both_backends!(name, |s| { … })`
/// expands to `mod name { async fn sqlite(); async fn postgres() }`, each
/// with `s: &TestServer` started on that backend and stopped afterwards.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$s:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let server = $crate::TestServer::start($crate::Backend::Sqlite).await;
                {
                    let $s = &server;
                    $body
                }
                server.stop().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let server = $crate::TestServer::start($crate::Backend::Postgres).await;
                {
                    let $s = &server;
                    $body
                }
                server.stop().await;
            }
        }
    };
}
