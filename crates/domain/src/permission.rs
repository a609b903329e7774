//! The permission catalog: one entry per section of the cabinet and per
//! action. Names are stable API: they appear in the OpenAPI document
//! (`x-permission`), in stored grants and in the audit log.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

macro_rules! catalog {
    ($($variant:ident => $name:literal, $what:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Permission { $($variant),* }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),*];

            pub fn name(self) -> &'static str {
                match self { $(Permission::$variant => $name),* }
            }

            /// What holding the permission lets an employee do, for the catalog.
            pub fn description(self) -> &'static str {
                match self { $(Permission::$variant => $what),* }
            }

            pub fn parse(s: &str) -> Option<Permission> {
                match s { $($name => Some(Permission::$variant),)* _ => None }
            }
        }
    };
}

catalog! {
    FinanceView => "finance.view", "See the finance section: tariffs, invoices, payments";
    FinanceManage => "finance.manage", "Change tariffs and payment details";
    SettingsView => "settings.view", "See system settings";
    SettingsManage => "settings.manage", "Change system settings, widgets, routing and security policy";
    ChannelsManage => "channels.manage", "Connect and configure messenger channels";
    EmployeesView => "employees.view", "See the list of employees";
    EmployeesManage => "employees.manage", "Invite, edit, block, unblock and delete employees; reset their 2FA";
    EmployeesPermissions => "employees.permissions", "Change employees' roles and grant or revoke permissions";
    StatisticsAll => "statistics.all", "See every statistic, per operator included";
    StatisticsGeneral => "statistics.general", "See aggregate statistics";
    StatisticsOwn => "statistics.own", "See one's own statistics";
    ConversationsOwn => "conversations.own", "Work with conversations assigned to oneself";
    ConversationsAll => "conversations.all", "See and take any conversation";
    ConversationsTransfer => "conversations.transfer", "Transfer conversations to another operator";
    ContactsEdit => "contacts.edit", "Edit the name and details of the contacts one's conversations are with";
    RepliesManage => "replies.manage", "Write, change and delete the quick replies shared by every employee";
    AuditView => "audit.view", "Read and export the audit log";
    PersonalDataReveal => "personal_data.reveal", "Reveal masked personal data";
    PersonalDataExport => "personal_data.export", "Export a data subject's personal data";
    PersonalDataErase => "personal_data.erase", "Erase a data subject's personal data";
}

impl Permission {
    /// The permission to see the section this one manages. Managing a
    /// section means seeing it: a manage permission is in effect only while
    /// its view is held, so revoking the view takes the whole section away
    /// (the reads that manage would also allow included).
    pub fn requires(self) -> Option<Permission> {
        use Permission::*;
        match self {
            FinanceManage => Some(FinanceView),
            SettingsManage => Some(SettingsView),
            EmployeesManage | EmployeesPermissions => Some(EmployeesView),
            _ => None,
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Permission::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown permission {s}")))
    }
}

/// A set of permissions, ordered so that it prints the same way every time.
pub type PermissionSet = BTreeSet<Permission>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = BTreeSet::new();
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.name()), Some(*p));
            assert!(seen.insert(p.name()), "duplicate {}", p.name());
        }
        assert_eq!(Permission::parse("finance.steal"), None);
    }
}
