//! Consistent copies of a live database for backups, and loading them back.
//!
//! SQLite: `VACUUM INTO` runs as one read transaction, so writers go on
//! while it copies (write-ahead log) and the copy is compact and whole.
//! PostgreSQL: `pg_dump --format=custom`, which reads one repeatable-read
//! snapshot, and `pg_restore` into an empty database. The password never
//! appears on a command line (other users could read it in `ps`): it goes
//! to the tools through `PGPASSWORD`.

use crate::error::db_err;
use ostrog_store::StoreError;
use sqlx::Connection;
use sqlx::sqlite::SqliteConnectOptions;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Which of the two databases: the data, or the key store beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    Main,
    Keys,
}

/// The newest schema migration this binary knows for `schema` on the
/// backend of `url`: a snapshot of a newer one cannot be restored by it.
pub fn known_schema_version(url: &str, schema: Schema) -> i64 {
    let migrator = match (is_sqlite(url), schema) {
        (true, Schema::Main) => &crate::sqlite::MIGRATOR,
        (false, Schema::Main) => &crate::postgres::MIGRATOR,
        (true, Schema::Keys) => &crate::keys::SQLITE_MIGRATOR,
        (false, Schema::Keys) => &crate::keys::POSTGRES_MIGRATOR,
    };
    migrator.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Writes a consistent copy of the database at `url` to the new file `to`
/// and returns the schema version it holds.
pub async fn snapshot(url: &str, to: &Path) -> Result<i64, StoreError> {
    if is_sqlite(url) {
        let mut conn = sqlite_connection(url, false).await?;
        sqlx::query("VACUUM INTO ?").bind(to.display().to_string()).execute(&mut conn).await.map_err(db_err)?;
        conn.close().await.map_err(db_err)?;
        let copy = format!("sqlite://{}", to.display());
        let mut conn = sqlite_connection(&copy, false).await?;
        let version = no_schema(sqlx::query_scalar(VERSION).fetch_one(&mut conn).await);
        conn.close().await.map_err(db_err)?;
        version
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.map_err(db_err)?;
        let version = no_schema(sqlx::query_scalar(VERSION).fetch_one(&mut conn).await);
        conn.close().await.map_err(db_err)?;
        let version = version?;
        run_tool("pg_dump", url, &["--format=custom", "--no-owner", "--no-privileges", "--file"], to).await?;
        Ok(version)
    }
}

/// Whether the database at `url` holds nothing yet (no file, no tables).
pub async fn is_empty(url: &str) -> Result<bool, StoreError> {
    if is_sqlite(url) {
        let path = sqlite_path(url)?;
        if !path.exists() {
            return Ok(true);
        }
        let mut conn = sqlite_connection(url, false).await?;
        let tables: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_master").fetch_one(&mut conn).await.map_err(db_err)?;
        Ok(tables == 0)
    } else {
        crate::postgres::create_database_if_missing(url).await?;
        let mut conn = sqlx::PgConnection::connect(url).await.map_err(db_err)?;
        let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            .fetch_one(&mut conn)
            .await
            .map_err(db_err)?;
        Ok(tables == 0)
    }
}

/// Makes the database at `url` the snapshot `from` (taken by `snapshot` on
/// the same backend). What is there is replaced only when `replace` is set.
pub async fn load(url: &str, from: &Path, replace: bool) -> Result<(), StoreError> {
    if !replace && !is_empty(url).await? {
        return Err(StoreError::Conflict("the database is not empty"));
    }
    if is_sqlite(url) {
        let path = sqlite_path(url)?;
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::remove_file(&file).map_err(|e| io_err(&file, e))?;
            }
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        }
        std::fs::copy(from, &path).map_err(|e| io_err(&path, e))?;
        Ok(())
    } else {
        if replace {
            crate::postgres::recreate_database(url).await?;
        }
        run_tool("pg_restore", url, &["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"], from)
            .await
    }
}

fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

fn sqlite_path(url: &str) -> Result<PathBuf, StoreError> {
    let options = SqliteConnectOptions::from_str(url).map_err(db_err)?;
    Ok(options.get_filename().to_path_buf())
}

async fn sqlite_connection(url: &str, create: bool) -> Result<sqlx::SqliteConnection, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(db_err)?
        .create_if_missing(create)
        .busy_timeout(std::time::Duration::from_secs(5));
    sqlx::SqliteConnection::connect_with(&options).await.map_err(db_err)
}

const VERSION: &str = "SELECT max(version) FROM _sqlx_migrations";

fn no_schema(version: Result<Option<i64>, sqlx::Error>) -> Result<i64, StoreError> {
    version.map_err(db_err)?.ok_or_else(|| StoreError::Corrupt("the database has no schema".into()))
}

/// Runs `pg_dump` or `pg_restore` against `url` with `args` and then `file`.
async fn run_tool(tool: &str, url: &str, args: &[&str], file: &Path) -> Result<(), StoreError> {
    let (url, password) = split_password(url);
    let mut command = tokio::process::Command::new(tool);
    command.arg("--dbname").arg(&url).args(args).arg(file).kill_on_drop(true);
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = command.output().await.map_err(|e| {
        StoreError::Database(format!(
            "cannot run {tool} ({e}): install the PostgreSQL client tools of your server's version"
        ))
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(StoreError::Database(format!("{tool} failed: {}", stderr.trim())));
    }
    Ok(())
}

/// `postgres://user:secret@host/db` → (`postgres://user@host/db`, `secret`),
/// the password percent-decoded.
fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return (url.to_string(), None) };
    let authority_end = url[scheme_end..].find(['/', '?']).map_or(url.len(), |i| scheme_end + i);
    let Some(at) = url[scheme_end..authority_end].rfind('@').map(|i| scheme_end + i) else {
        return (url.to_string(), None);
    };
    let Some(colon) = url[scheme_end..at].find(':').map(|i| scheme_end + i) else { return (url.to_string(), None) };
    let password = percent_decode(&url[colon + 1..at]);
    (format!("{}{}", &url[..colon], &url[at..]), Some(password))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%').then(|| s.get(i + 1..i + 3)).flatten();
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn io_err(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Database(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::split_password;

    #[test]
    fn the_password_leaves_the_url_and_is_decoded() {
        assert_eq!(
            split_password("postgres://ann:s%40cret:x@db:5432/ostrog?sslmode=require"),
            ("postgres://ann@db:5432/ostrog?sslmode=require".into(), Some("s@cret:x".into()))
        );
        assert_eq!(split_password("postgres://ann@db/ostrog"), ("postgres://ann@db/ostrog".into(), None));
        assert_eq!(split_password("postgres://db/ostrog"), ("postgres://db/ostrog".into(), None));
    }
}
