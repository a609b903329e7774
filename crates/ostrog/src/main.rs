//! The `ostrog` command: parses arguments and calls into the server crate.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use ostrog_server::backup;
use ostrog_server::config::Config;
use ostrog_server::services::auditor::Ctx;
use serde_json::{Map, Value};
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    /// Back up the running installation into one encrypted file
    /// (database, key store, stored files; never the master key).
    #[command(args_conflicts_with_subcommands = true)]
    Backup {
        #[command(subcommand)]
        check: Option<BackupCommand>,
        /// The backup file to write.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Encrypt to this age public key (age1…) instead of a passphrase.
        #[arg(long)]
        recipient: Option<String>,
        #[command(flatten)]
        passphrase: PassphraseArg,
    },
    /// Check this installation's security (TLS, sign-in policy, antivirus,
    /// data folder, backups, logging, exposure): each finding with its
    /// severity, evidence, fix and section of the docs. Exits 1 when a
    /// finding is critical.
    Doctor {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// A copy of the RustSec advisory database (github.com/rustsec/advisory-db)
        /// to check the binary's crates against, offline.
        #[arg(long)]
        advisories: Option<PathBuf>,
        /// The age identity file (AGE-SECRET-KEY-1…) of [backup] recipient:
        /// the newest backup is decrypted and checked against its manifest.
        #[arg(long, value_name = "FILE")]
        backup_identity: Option<PathBuf>,
    },
    /// Restore a backup into an empty installation (or replace one with --force).
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
        /// Replace the data that is there.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum BackupCommand {
    /// Decrypt a backup and check every part against its manifest, restoring nothing.
    Verify {
        file: PathBuf,
        #[command(flatten)]
        key: KeyArgs,
    },
}

#[derive(Args)]
struct PassphraseArg {
    /// Read the passphrase from this file's first line (else from
    /// OSTROG_BACKUP_PASSPHRASE, else from standard input).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

#[derive(Args)]
struct KeyArgs {
    /// An age identity file (AGE-SECRET-KEY-1…) for backups made with --recipient.
    #[arg(long)]
    identity: Option<PathBuf>,
    #[command(flatten)]
    passphrase: PassphraseArg,
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

/// Errors end the process with one line on standard error (no backtrace):
/// what failed, and for settings, which one and how to fix it.
fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build();
    match runtime.map_err(anyhow::Error::from).and_then(|rt| rt.block_on(run(cli))) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ostrog: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let config = Config::load(cli.global.config.as_deref(), cli.overrides())?;
    ostrog_server::logging::init(&config.log)?;
    // Backups read the databases as they are: no migration, no new key file.
    let command = match cli.command {
        Command::Backup { check, out, recipient, passphrase } => {
            return backup(&config, check, out, recipient, passphrase).await;
        }
        Command::Restore { from, key, force } => return restore(&config, &from, key, force).await,
        other => other,
    };
    // Opening the installation makes its data folder private: the doctor
    // looks before, so that it reports what it found.
    let loose = ostrog_server::doctor::facts::loose_paths(&config.data_dir);
    let app = ostrog_server::open_app(&config, ostrog_server::system_clock()).await?;
    match command {
        Command::Serve { .. } => {
            if let Some(link) = app.setup.link().await? {
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
            let e = app.setup.create_administrator(&email, &name, &password, &Ctx::default()).await?;
            println!("Administrator {} created ({}). Sign in and enrol 2FA.", e.email, e.id);
        }
        Command::Audit(AuditCommand::Verify { trail }) => match app.audit_log.verify(trail.into()).await? {
            Ok(count) => println!("audit chain intact: {count} entries"),
            Err(broken) => {
                eprintln!("{broken}");
                return Ok(std::process::ExitCode::from(1));
            }
        },
        Command::Keys(KeysCommand::Status) => {
            let status = app.key_admin.status().await?;
            println!("master keys held: {:?} (current: {:?})", status.held, status.held.last());
            for (id, count) in status.wrapped_by {
                println!("data keys wrapped by master key {id}: {count}");
            }
        }
        Command::Keys(KeysCommand::Rotate) => {
            let done = app.key_admin.rotate(&Ctx::default()).await?;
            println!(
                "master key {} is current; {} data keys re-wrapped; retired master keys {:?}. \
                 Take a new backup of the key file now.",
                done.current, done.rewrapped, done.retired
            );
        }
        Command::Keys(KeysCommand::Rewrap) => {
            let done = app.key_admin.rewrap(&Ctx::default()).await?;
            println!("{done} data keys re-wrapped by the current master key");
        }
        Command::Audit(AuditCommand::Export { trail }) => {
            let mut out = Vec::new();
            app.audit_log.export(&Ctx::default(), trail.into(), &mut out).await?;
            std::io::stdout().write_all(&out)?;
        }
        Command::Doctor { json, advisories, backup_identity } => {
            let brought = ostrog_server::doctor::facts::Brought {
                advisories: advisories.as_deref().or(config.doctor.advisories.as_deref()),
                backup_identity: backup_identity.as_deref(),
            };
            let report = app.doctor.check(loose, brought).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.human());
            }
            if report.worst == ostrog_server::doctor::Severity::Critical {
                return Ok(std::process::ExitCode::from(1));
            }
        }
        Command::Backup { .. } | Command::Restore { .. } => {}
    }
    Ok(std::process::ExitCode::SUCCESS)
}

async fn backup(
    config: &Config,
    check: Option<BackupCommand>,
    out: Option<PathBuf>,
    recipient: Option<String>,
    passphrase: PassphraseArg,
) -> anyhow::Result<std::process::ExitCode> {
    if let Some(BackupCommand::Verify { file, key }) = check {
        let m = backup::verify(&file, key.into_key()?).await?;
        println!(
            "backup intact: {} parts, made by Ostrog {} on {} at {} ms since the epoch",
            m.parts.len(),
            m.ostrog_version,
            m.backend,
            m.created_at
        );
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let out = out.context("give --out FILE (or `backup verify FILE`)")?;
    let lock = match recipient {
        Some(r) => backup::Lock::recipient(&r)?,
        None => {
            let p = passphrase.read()?;
            anyhow::ensure!(p.chars().count() >= 12, "the backup passphrase must be at least 12 characters");
            backup::Lock::Passphrase(p.into())
        }
    };
    let now = ostrog_server::system_clock().now();
    let m = backup::backup(config, &out, lock, now).await?;
    backup::record(config, "backup.created", &m, &out, now).await?;
    let bytes: u64 = m.parts.iter().map(|p| p.bytes).sum();
    println!("backup written to {}: {} parts, {bytes} bytes before encryption", out.display(), m.parts.len());
    println!("It is unreadable without the master key: keep a copy of that apart from the backups.");
    Ok(std::process::ExitCode::SUCCESS)
}

async fn restore(config: &Config, from: &Path, key: KeyArgs, force: bool) -> anyhow::Result<std::process::ExitCode> {
    let m = backup::restore(config, from, key.into_key()?, force).await?;
    // Into the restored trail: its chain then shows where it was restored.
    backup::record(config, "backup.restored", &m, from, ostrog_server::system_clock().now()).await?;
    println!(
        "restored the backup of {} (Ostrog {}, {} parts) into {}",
        m.created_at,
        m.ostrog_version,
        m.parts.len(),
        config.data_dir.display()
    );
    if !config.data_dir.join("master.key").exists() && std::env::var_os("OSTROG_MASTER_KEY").is_none() {
        println!(
            "Now put the master key back: {} (mode 0600) or OSTROG_MASTER_KEY. Without it nothing personal opens.",
            config.data_dir.join("master.key").display()
        );
    }
    println!("Then start the server and run `ostrog audit verify` for both trails.");
    Ok(std::process::ExitCode::SUCCESS)
}

impl PassphraseArg {
    fn read(self) -> anyhow::Result<String> {
        let line = match self.passphrase_file {
            Some(path) => std::fs::read_to_string(&path).with_context(|| path.display().to_string())?,
            None => match std::env::var("OSTROG_BACKUP_PASSPHRASE") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line
                }
            },
        };
        let passphrase = line.lines().next().unwrap_or("").to_string();
        anyhow::ensure!(!passphrase.is_empty(), "no backup passphrase given");
        Ok(passphrase)
    }
}

impl KeyArgs {
    fn into_key(self) -> anyhow::Result<backup::Key> {
        Ok(match self.identity {
            Some(path) => backup::Key::IdentityFile(path),
            None => backup::Key::Passphrase(self.passphrase.read()?.into()),
        })
    }
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
