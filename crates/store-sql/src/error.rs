//! Translating sqlx errors into `StoreError`, the same way for both backends.

use ostrog_store::{StoreError, StoreResult};
use sqlx::error::DatabaseError;

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(conflict_subject(d.as_ref())),
        // A row referring to an employee that does not exist (any more).
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound,
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => StoreError::Corrupt(e.to_string()),
        _ => StoreError::Database(e.to_string()),
    }
}

/// Migrations only go forward; a database that a newer Ostrog migrated is
/// refused rather than used by an older binary that does not know its schema.
pub(crate) fn migrate_err(e: sqlx::migrate::MigrateError) -> StoreError {
    use sqlx::migrate::MigrateError::{VersionMismatch, VersionMissing};
    match e {
        VersionMissing(v) => StoreError::Database(format!(
            "the database was migrated by a newer Ostrog (schema migration {v} is unknown to this binary): \
             run that version or newer, or restore a backup this version made"
        )),
        VersionMismatch(v) => StoreError::Database(format!(
            "schema migration {v} in the database differs from this binary's: \
             the database was migrated by another build of Ostrog"
        )),
        other => StoreError::Database(format!("migration failed: {other}")),
    }
}

/// Which uniqueness rule was broken. PostgreSQL names the constraint;
/// SQLite only says `UNIQUE constraint failed: <table>.<column>`.
fn conflict_subject(d: &dyn DatabaseError) -> &'static str {
    let text = format!("{} {}", d.constraint().unwrap_or_default(), d.message());
    let rules: [(&[&str], &'static str); 11] = [
        (&["employees_one_administrator", "employees.role"], "administrator"),
        (&["employees_email_unique", "employees.email"], "email"),
        (&["employees_pkey", "employees.id"], "employee"),
        (&["sessions_"], "session"),
        (&["one_time_links"], "link"),
        (&["visitors_external", "visitors.widget_id", "visitors_channel_contact", "visitors.channel_id"], "visitor"),
        (&["conversations_visitor", "conversations.visitor_id"], "conversation"),
        (&["messages_client_key", "messages.client_key"], "message"),
        (&["quick_replies_code", "quick_replies.owner"], "code"),
        (&["labels_name", "labels.name_key"], "label"),
        (&["teams_name", "teams.name_key"], "team"),
    ];
    rules
        .iter()
        .find(|(needles, _)| needles.iter().any(|n| text.contains(n)))
        .map_or("duplicate", |(_, subject)| subject)
}

/// `NotFound` unless exactly one row changed.
pub(crate) fn one_row(affected: u64) -> StoreResult<()> {
    if affected == 1 { Ok(()) } else { Err(StoreError::NotFound) }
}
