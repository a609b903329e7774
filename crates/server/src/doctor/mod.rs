//! `ostrog doctor`: security testing of the running installation. Each
//! check looks at one thing an auditor would (TLS, sign-in policy, the
//! antivirus, the data folder, backups, logging, exposure) and reports it
//! with its severity, the evidence, the fix and the section of the docs
//! that explains it. The checks are pure functions of the configuration
//! and of facts gathered once (`facts.rs`), so each is tested failing and
//! passing without a server.

pub mod advisories;
mod checks;
pub mod facts;
pub mod runs;

use serde::Serialize;

pub use facts::Facts;

/// How much a check's finding matters; `Ok` when there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Notice,
    Warning,
    Critical,
}

impl Severity {
    /// As JSON and `/metrics` name it.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Notice => "NOTICE",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable, e.g. `tls.public_url`.
    pub id: &'static str,
    pub severity: Severity,
    /// What was found.
    pub evidence: String,
    /// What to do; empty when nothing is to be done.
    pub fix: String,
    /// The section of the documentation, e.g. `docs/operations.md#5-tls-and-reverse-proxies`.
    pub doc: &'static str,
}

impl Check {
    fn ok(id: &'static str, doc: &'static str, evidence: impl Into<String>) -> Self {
        Check { id, severity: Severity::Ok, evidence: evidence.into(), fix: String::new(), doc }
    }

    fn finding(
        id: &'static str,
        severity: Severity,
        doc: &'static str,
        evidence: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Check { id, severity, evidence: evidence.into(), fix: fix.into(), doc }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// When the checks ran, in milliseconds since the epoch.
    pub checked_at: i64,
    /// The worst severity found.
    pub worst: Severity,
    pub checks: Vec<Check>,
}

/// Every check over the configuration and the facts gathered.
pub fn report(config: &crate::config::Config, facts: &Facts) -> Report {
    let mut list = checks::all(config, facts);
    // The worst first, so that what to do comes before what is fine.
    list.sort_by_key(|c| std::cmp::Reverse(c.severity));
    let worst = list.iter().map(|c| c.severity).max().unwrap_or(Severity::Ok);
    Report { checked_at: facts.now, worst, checks: list }
}

impl Report {
    /// For a person at a terminal: the findings with their fixes, then
    /// what passed.
    pub fn human(&self) -> String {
        let count = |s| self.checks.iter().filter(|c| c.severity == s).count();
        let mut out = format!(
            "ostrog doctor: {} checks, {} critical, {} warnings, {} notices, {} ok\n",
            self.checks.len(),
            count(Severity::Critical),
            count(Severity::Warning),
            count(Severity::Notice),
            count(Severity::Ok)
        );
        for c in &self.checks {
            out.push_str(&format!("\n{:<8}  {}  {}\n", c.severity.label(), c.id, c.evidence));
            if !c.fix.is_empty() {
                out.push_str(&format!("          fix: {}\n", c.fix));
                out.push_str(&format!("          see: {}\n", c.doc));
            }
        }
        out
    }
}
