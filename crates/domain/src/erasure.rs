//! Why a data subject's personal data is destroyed: the grounds 152-FZ
//! names (Art. 21), recorded in every act of destruction.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The subject asked for it (Art. 21 p. 3).
    SubjectRequest,
    /// The subject withdrew consent (Art. 21 p. 5).
    ConsentWithdrawn,
    /// The purpose was achieved: the retention period ran out (Art. 21 p. 4).
    RetentionExpired,
    /// The processing was found unlawful (Art. 21 p. 3).
    UnlawfulProcessing,
}

impl Basis {
    pub fn name(self) -> &'static str {
        match self {
            Basis::SubjectRequest => "subject_request",
            Basis::ConsentWithdrawn => "consent_withdrawn",
            Basis::RetentionExpired => "retention_expired",
            Basis::UnlawfulProcessing => "unlawful_processing",
        }
    }
}

/// Categories of personal data an act of destruction lists.
pub const IDENTIFIERS: &str = "identifiers";
pub const CORRESPONDENCE: &str = "correspondence";
pub const FILES: &str = "files";
pub const CONSENTS: &str = "consents";
