//! Identifiers that must not be mixed up. Random UUIDs, so that ids reveal
//! neither how many employees exist nor in which order they came.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($name:ident) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::parse_str(s).ok().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(EmployeeId);
id_type!(SessionId);
id_type!(ConversationId);
id_type!(WidgetId);
id_type!(VisitorId);
id_type!(MessageId);
id_type!(FileId);
id_type!(ChannelId);
id_type!(QuickReplyId);
id_type!(LabelId);
id_type!(TeamId);
