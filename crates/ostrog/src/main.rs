//! The `ostrog` command: parses arguments and calls into the server crate.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use ostrog_server::app::Ctx;
use ostrog_server::config::Config;
use serde_json::{Map, Value};
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "ostrog", version, about = "Ostrog: a self-hosted, security-first customer-service chat platform")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Settings that may be given as flags; they override the file and the environment.
#[derive(Args)]
struct Global {
    /// TOML configuration file (default: ./ostrog.toml if present).
    #[arg(long, global = true, env = "OSTROG_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://…
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Data folder (SQLite database, master key).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Public URL employees open, e.g. https://chat.example.com
        #[arg(long)]
        public_url: Option<String>,
    },
    /// Administrator account.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The master key and the data keys it wraps.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Which master keys are held and how many data keys each wraps.
    Status,
    /// Add a new master key to the key file, re-wrap every data key by it
    /// and retire the old ones, while servers keep running.
    Rotate,
    /// Re-wrap every data key by the current master key (for keys given in
    /// OSTROG_MASTER_KEY, where Ostrog cannot write a new one itself).
    Rewrap,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create the Administrator; the password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain; names the first broken entry and exits non-zero.
    Verify {
        #[arg(long, value_enum, default_value = "security")]
        trail: TrailArg,
    },
    /// Write every entry as JSON lines to standard output (for a SIEM).
    Export {
        #[arg(long, value_enum, default_value = "security")]
        trail: TrailArg,
    },
}

/// Which hash-chained log: the security audit trail, or who read whose personal data.
#[derive(Clone, Copy, clap::ValueEnum)]
enum TrailArg {
    Security,
    PersonalData,
}

impl From<TrailArg> for ostrog_store::Trail {
    fn from(t: TrailArg) -> Self {
        match t {
            TrailArg::Security => ostrog_store::Trail::Security,
            TrailArg::PersonalData => ostrog_store::Trail::PersonalDataAccess,
        }
    }
}

impl Cli {
    fn overrides(&self) -> Value {
        let mut m = Map::new();
        if let Some(u) = &self.global.database_url {
            m.insert("database_url".into(), u.clone().into());
        }
        if let Some(d) = &self.global.data_dir {
            m.insert("data_dir".into(), d.display().to_string().into());
        }
        if let Command::Serve { listen, public_url } = &self.command {
            if let Some(l) = listen {
                m.insert("listen".into(), l.to_string().into());
            }
            if let Some(p) = public_url {
                m.insert("public_url".into(), p.clone().into());
            }
        }
        Value::Object(m)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    let config = Config::load(cli.global.config.as_deref(), cli.overrides())?;
    ostrog_server::logging::init(&config.log);
    let app = ostrog_server::open_app(&config, ostrog_server::system_clock()).await?;
    match cli.command {
        Command::Serve { .. } => {
            if let Some(link) = app.setup_link().await? {
                // Printed, never logged: the link is a credential.
                println!(
                    "\nNo Administrator exists yet. Open this one-time link (valid 24 h) to create one:\n\n  {link}\n"
                );
            }
            let listener =
                std::net::TcpListener::bind(config.listen).with_context(|| format!("listen on {}", config.listen))?;
            listener.set_nonblocking(true)?;
            tracing::info!(address = %config.listen, backend = app.store.backend(), "Ostrog is listening");
            ostrog_server::serve(&config, app, listener, shutdown_signal()).await?;
        }
        Command::Admin(AdminCommand::Create { email, name }) => {
            let password = read_password()?;
            let e = app.create_administrator(&email, &name, &password, &Ctx::default()).await?;
            println!("Administrator {} created ({}). Sign in and enrol 2FA.", e.email, e.id);
        }
        Command::Audit(AuditCommand::Verify { trail }) => match app.verify_trail(trail.into()).await? {
            Ok(count) => println!("audit chain intact: {count} entries"),
            Err(broken) => {
                eprintln!("{broken}");
                return Ok(std::process::ExitCode::from(1));
            }
        },
        Command::Keys(KeysCommand::Status) => {
            let status = app.key_status().await?;
            println!("master keys held: {:?} (current: {:?})", status.held, status.held.last());
            for (id, count) in status.wrapped_by {
                println!("data keys wrapped by master key {id}: {count}");
            }
        }
        Command::Keys(KeysCommand::Rotate) => {
            let done = app.rotate_master_key(&Ctx::default()).await?;
            println!(
                "master key {} is current; {} data keys re-wrapped; retired master keys {:?}. \
                 Take a new backup of the key file now.",
                done.current, done.rewrapped, done.retired
            );
        }
        Command::Keys(KeysCommand::Rewrap) => {
            let done = app.rewrap_keys(&Ctx::default()).await?;
            println!("{done} data keys re-wrapped by the current master key");
        }
        Command::Audit(AuditCommand::Export { trail }) => {
            let mut out = Vec::new();
            app.export_audit(&Ctx::default(), trail.into(), &mut out).await?;
            std::io::stdout().write_all(&out)?;
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(password)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
