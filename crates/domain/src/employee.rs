//! Employees: who they are and whether they may sign in.

use crate::clock::Millis;
use crate::ids::EmployeeId;
use crate::role::Role;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmployeeStatus {
    /// May sign in.
    Active,
    /// Blocked by an Administrator or Manager (offboarding).
    Blocked,
    /// Disabled by the brute-force hard cap until an Administrator or Manager restores it.
    Disabled,
    /// Deleted: only the name stays, as a tombstone on past conversations.
    Deleted,
}

impl EmployeeStatus {
    pub fn name(self) -> &'static str {
        match self {
            EmployeeStatus::Active => "active",
            EmployeeStatus::Blocked => "blocked",
            EmployeeStatus::Disabled => "disabled",
            EmployeeStatus::Deleted => "deleted",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Blocked, Self::Disabled, Self::Deleted].into_iter().find(|x| x.name() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Employee {
    pub id: EmployeeId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: EmployeeStatus,
    pub created_at: Millis,
}

/// E-mail addresses are compared case-insensitively and without surrounding
/// blanks; this is the one place that decides how.
pub fn normalize_email(raw: &str) -> Result<String, crate::DomainError> {
    let e = raw.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid { Ok(e) } else { Err(crate::DomainError::Invalid("email")) }
}

/// Names are display text: trimmed, 1–200 characters, no control characters.
pub fn normalize_name(raw: &str) -> Result<String, crate::DomainError> {
    let n = raw.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(crate::DomainError::Invalid("name"));
    }
    Ok(n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalize_email("  Anna@Example.COM ").as_deref(), Ok("anna@example.com"));
        for bad in ["", "anna", "@example.com", "anna@", "an na@example.com", "anna@example."] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
