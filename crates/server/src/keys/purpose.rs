//! What a sealed value is bound to. The purpose is the associated data of
//! its encryption: a value opens only under the purpose it was sealed with,
//! so it cannot be moved to another row or another kind of field. The text
//! of each purpose is therefore part of the stored data's format — changing
//! one would make every value sealed under it unreadable — and the test
//! below pins all of them.

use ostrog_domain::ids::{ChannelId, EmployeeId, FileId, MessageId, VisitorId, WidgetId};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A message's body, under its conversation's subject key.
    Message(MessageId),
    /// An employee's TOTP secret (the installation's secrets key).
    Totp(EmployeeId),
    /// A channel's tokens and secrets.
    ChannelSecrets(ChannelId),
    /// A widget's signing secret.
    WidgetSecret(WidgetId),
    /// An uploaded file's original name, and its file key.
    FileName(FileId),
    FileKey(FileId),
    /// The address a consent was given from.
    ConsentIp(uuid::Uuid),
    /// A visitor's user id in the company's system or a messenger.
    ExternalId(VisitorId),
    /// A contact's display name, their details, and what their browser
    /// told of their visit, under the contact's subject key.
    ContactName(VisitorId),
    ContactDetails(VisitorId),
    ContactVisit(VisitorId),
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Purpose::Message(id) => write!(f, "message:{id}"),
            Purpose::Totp(id) => write!(f, "totp:{id}"),
            Purpose::ChannelSecrets(id) => write!(f, "channel-secrets:{id}"),
            Purpose::WidgetSecret(id) => write!(f, "widget-secret:{id}"),
            Purpose::FileName(id) => write!(f, "file-name:{id}"),
            Purpose::FileKey(id) => write!(f, "file-key:{id}"),
            Purpose::ConsentIp(id) => write!(f, "consent_ip:{id}"),
            Purpose::ExternalId(id) => write!(f, "external_id:{id}"),
            Purpose::ContactName(id) => write!(f, "contact-name:{id}"),
            Purpose::ContactDetails(id) => write!(f, "contact-details:{id}"),
            Purpose::ContactVisit(id) => write!(f, "contact-visit:{id}"),
        }
    }
}

/// What a blind index (a keyed hash to look a sealed value up by) is for;
/// likewise part of the stored format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    RecoveryCode,
    ChannelContact,
    ExternalId,
    /// Not stored: the key that signs the cluster's bus messages.
    ClusterBus,
}

impl Index {
    pub fn as_str(self) -> &'static str {
        match self {
            Index::RecoveryCode => "recovery_code",
            Index::ChannelContact => "channel_contact",
            Index::ExternalId => "external_id",
            Index::ClusterBus => "cluster-bus",
        }
    }
}

/// The name a subject's data key is wrapped under in the key store.
pub fn subject_key_name(visitor: VisitorId) -> String {
    format!("subject:{visitor}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    /// Values sealed by earlier versions must still open: these texts are
    /// what is stored. Never edit an expected string; add a variant.
    #[test]
    fn every_purpose_keeps_its_stored_text() {
        let u = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        let s = "01234567-89ab-cdef-0123-456789abcdef";
        let pinned = [
            (Purpose::Message(MessageId(u)), format!("message:{s}")),
            (Purpose::Totp(EmployeeId(u)), format!("totp:{s}")),
            (Purpose::ChannelSecrets(ChannelId(u)), format!("channel-secrets:{s}")),
            (Purpose::WidgetSecret(WidgetId(u)), format!("widget-secret:{s}")),
            (Purpose::FileName(FileId(u)), format!("file-name:{s}")),
            (Purpose::FileKey(FileId(u)), format!("file-key:{s}")),
            (Purpose::ConsentIp(u), format!("consent_ip:{s}")),
            (Purpose::ExternalId(VisitorId(u)), format!("external_id:{s}")),
            (Purpose::ContactName(VisitorId(u)), format!("contact-name:{s}")),
            (Purpose::ContactDetails(VisitorId(u)), format!("contact-details:{s}")),
            (Purpose::ContactVisit(VisitorId(u)), format!("contact-visit:{s}")),
        ];
        for (purpose, text) in pinned {
            assert_eq!(purpose.to_string(), text);
        }
        let indexes = [
            (Index::RecoveryCode, "recovery_code"),
            (Index::ChannelContact, "channel_contact"),
            (Index::ExternalId, "external_id"),
            (Index::ClusterBus, "cluster-bus"),
        ];
        for (index, text) in indexes {
            assert_eq!(index.as_str(), text);
        }
        assert_eq!(subject_key_name(VisitorId(u)), format!("subject:{s}"));
    }
}
