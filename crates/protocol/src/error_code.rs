//! Every stable error code Ostrog answers with, over REST (`{"error":
//! {"code", …}}`) and over the WebSocket (`error {code}` frames): one
//! vocabulary, so a code cannot be misspelt where it is raised, and the web
//! app's translations are checked against it (`web/error-codes.json`,
//! generated from this list by a test). A code's text is a promise to
//! clients: never rename one, only add.

use serde::{Serialize, Serializer};

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)+) => {
        /// A stable, machine-readable reason for a refusal.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code as clients see it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                }
            }
        }
    };
}

error_codes! {
    // Who may do what.
    Unauthenticated => "unauthenticated",
    InvalidCredentials => "invalid_credentials",
    InvalidSecondFactor => "invalid_second_factor",
    TooManyAttempts => "too_many_attempts",
    Forbidden => "forbidden",
    SignInIncomplete => "sign_in_incomplete",
    ReauthenticationRequired => "reauthentication_required",
    CsrfRejected => "csrf_rejected",
    InvalidLink => "invalid_link",
    AdministratorImmune => "administrator_immune",
    AdministratorExists => "administrator_exists",
    SelfModification => "self_modification",
    PermissionNotHeld => "permission_not_held",
    TargetOutranks => "target_outranks",
    WeakPassword => "weak_password",
    TwoFactorRequired => "two_factor_required",
    TwoFactorAlreadyEnabled => "two_factor_already_enabled",
    TwoFactorNotEnabled => "two_factor_not_enabled",
    NoEnrolmentInProgress => "no_enrolment_in_progress",
    SecondFactorNotExpected => "second_factor_not_expected",
    EmailTaken => "email_taken",
    ReplyCodeTaken => "reply_code_taken",
    LabelTaken => "label_taken",
    TeamTaken => "team_taken",
    MasterKeyInEnvironment => "master_key_in_environment",
    // What the request said.
    NotFound => "not_found",
    MethodNotAllowed => "method_not_allowed",
    InvalidInput => "invalid_input",
    InvalidBody => "invalid_body",
    MalformedJson => "malformed_json",
    UnsupportedMediaType => "unsupported_media_type",
    PayloadTooLarge => "payload_too_large",
    UnreadableBody => "unreadable_body",
    InvalidPath => "invalid_path",
    InvalidQuery => "invalid_query",
    InvalidMultipart => "invalid_multipart",
    MultipartRequired => "multipart_required",
    WebsocketRequired => "websocket_required",
    OriginNotAllowed => "origin_not_allowed",
    TooManyConnections => "too_many_connections",
    // The state of things.
    Conflict => "conflict",
    ConversationClosed => "conversation_closed",
    ConversationChanged => "conversation_changed",
    TransferTargetUnavailable => "transfer_target_unavailable",
    RequestClosed => "request_closed",
    NotFailed => "not_failed",
    ConsentRequired => "consent_required",
    ConsentOutdated => "consent_outdated",
    // Files.
    FileTooLarge => "file_too_large",
    FileTypeNotAllowed => "file_type_not_allowed",
    FileInfected => "file_infected",
    ArchiveTooLarge => "archive_too_large",
    ArchiveTooManyEntries => "archive_too_many_entries",
    ArchiveTooDeep => "archive_too_deep",
    ArchiveEncrypted => "archive_encrypted",
    ArchiveExecutable => "archive_executable",
    ArchiveUnreadable => "archive_unreadable",
    ScanLimits => "scan_limits",
    ScanningUnavailable => "scanning_unavailable",
    ScannerMisconfigured => "scanner_misconfigured",
    // Channels and their hooks.
    ChannelRefused => "channel_refused",
    BadSignature => "bad_signature",
    StaleTimestamp => "stale_timestamp",
    BadSecret => "bad_secret",
    // The WebSocket protocol (docs/protocol.md).
    HelloRequired => "hello_required",
    UnsupportedVersion => "unsupported_version",
    InvalidToken => "invalid_token",
    IdentityRejected => "identity_rejected",
    NoConversation => "no_conversation",
    MalformedFrame => "malformed_frame",
    UnknownType => "unknown_type",
    InvalidFrame => "invalid_frame",
    FrameTooLarge => "frame_too_large",
    RateLimited => "rate_limited",
    // Ours.
    StorageUnavailable => "storage_unavailable",
    Internal => "internal",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl From<&ostrog_domain::archive::Refusal> for ErrorCode {
    fn from(r: &ostrog_domain::archive::Refusal) -> Self {
        use ostrog_domain::archive::Refusal;
        match r {
            Refusal::TooLarge => ErrorCode::ArchiveTooLarge,
            Refusal::TooManyEntries => ErrorCode::ArchiveTooManyEntries,
            Refusal::TooDeep => ErrorCode::ArchiveTooDeep,
            Refusal::Encrypted => ErrorCode::ArchiveEncrypted,
            Refusal::Executable => ErrorCode::ArchiveExecutable,
            Refusal::Unreadable => ErrorCode::ArchiveUnreadable,
        }
    }
}

/// The codes as `web/error-codes.json` lists them: sorted, one a line.
pub fn catalogue_json() -> String {
    let mut codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    codes.sort_unstable();
    let lines: Vec<String> = codes.iter().map(|c| format!("  \"{c}\"")).collect();
    format!("[\n{}\n]\n", lines.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codes are a promise to clients: this list changes only by
    /// adding a code, never by renaming or removing one.
    #[test]
    fn every_code_is_pinned() {
        let mut codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        codes.sort_unstable();
        assert_eq!(
            codes,
            [
                "administrator_exists",
                "administrator_immune",
                "archive_encrypted",
                "archive_executable",
                "archive_too_deep",
                "archive_too_large",
                "archive_too_many_entries",
                "archive_unreadable",
                "bad_secret",
                "bad_signature",
                "channel_refused",
                "conflict",
                "consent_outdated",
                "consent_required",
                "conversation_changed",
                "conversation_closed",
                "csrf_rejected",
                "email_taken",
                "file_infected",
                "file_too_large",
                "file_type_not_allowed",
                "forbidden",
                "frame_too_large",
                "hello_required",
                "identity_rejected",
                "internal",
                "invalid_body",
                "invalid_credentials",
                "invalid_frame",
                "invalid_input",
                "invalid_link",
                "invalid_multipart",
                "invalid_path",
                "invalid_query",
                "invalid_second_factor",
                "invalid_token",
                "label_taken",
                "malformed_frame",
                "malformed_json",
                "master_key_in_environment",
                "method_not_allowed",
                "multipart_required",
                "no_conversation",
                "no_enrolment_in_progress",
                "not_failed",
                "not_found",
                "origin_not_allowed",
                "payload_too_large",
                "permission_not_held",
                "rate_limited",
                "reauthentication_required",
                "reply_code_taken",
                "request_closed",
                "scan_limits",
                "scanner_misconfigured",
                "scanning_unavailable",
                "second_factor_not_expected",
                "self_modification",
                "sign_in_incomplete",
                "stale_timestamp",
                "storage_unavailable",
                "target_outranks",
                "team_taken",
                "too_many_attempts",
                "too_many_connections",
                "transfer_target_unavailable",
                "two_factor_already_enabled",
                "two_factor_not_enabled",
                "two_factor_required",
                "unauthenticated",
                "unknown_type",
                "unreadable_body",
                "unsupported_media_type",
                "unsupported_version",
                "weak_password",
                "websocket_required",
            ]
        );
        let unique: std::collections::BTreeSet<&str> = codes.iter().copied().collect();
        assert_eq!(unique.len(), codes.len(), "no two variants share a code");
    }

    #[test]
    fn codes_serialize_as_their_text() {
        assert_eq!(serde_json::to_string(&ErrorCode::ConversationClosed).unwrap(), r#""conversation_closed""#);
        assert_eq!(ErrorCode::TooManyAttempts.to_string(), "too_many_attempts");
    }

    #[test]
    fn archive_refusals_keep_the_domain_codes() {
        use ostrog_domain::archive::Refusal;
        for r in [
            Refusal::TooLarge,
            Refusal::TooManyEntries,
            Refusal::TooDeep,
            Refusal::Encrypted,
            Refusal::Executable,
            Refusal::Unreadable,
        ] {
            assert_eq!(ErrorCode::from(&r).as_str(), r.code());
        }
    }

    /// The web app checks that every code has a text in every language
    /// (`node web/check-i18n.mjs`), reading the list this test keeps current.
    #[test]
    fn web_error_codes_json_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/error-codes.json");
        let expected = catalogue_json();
        if std::env::var_os("OSTROG_UPDATE_ERROR_CODES").is_some() {
            std::fs::write(&path, &expected).unwrap();
        }
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "web/error-codes.json is stale: run `OSTROG_UPDATE_ERROR_CODES=1 cargo test -p ostrog-protocol --lib \
             web_error_codes_json_is_current`, then add the new codes' texts (`error.<code>`) to every file in \
             web/public/assets/i18n/ (`node web/check-i18n.mjs` lists what is missing)"
        );
    }
}
