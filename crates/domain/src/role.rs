//! The five built-in roles and their default permission sets, exactly as the
//! product defines them. The README's role table is generated from here by a
//! test, so the two cannot disagree.

use crate::permission::{Permission, PermissionSet};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    Manager,
    OperatorSupervisor,
    SeniorOperator,
    Operator,
}

impl Role {
    pub const ALL: &'static [Role] =
        &[Role::Administrator, Role::Manager, Role::OperatorSupervisor, Role::SeniorOperator, Role::Operator];

    pub fn name(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Manager => "manager",
            Role::OperatorSupervisor => "operator_supervisor",
            Role::SeniorOperator => "senior_operator",
            Role::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.name() == s)
    }

    /// The role's default permissions, before per-employee grants and revocations.
    pub fn defaults(self) -> PermissionSet {
        use Permission::*;
        let list: &[Permission] = match self {
            Role::Administrator | Role::Manager => Permission::ALL,
            Role::OperatorSupervisor => &[
                SettingsView,
                SettingsManage,
                ChannelsManage,
                EmployeesView,
                StatisticsAll,
                StatisticsGeneral,
                StatisticsOwn,
                ConversationsOwn,
                ConversationsAll,
                ConversationsTransfer,
                ContactsEdit,
                RepliesManage,
            ],
            // An operator with general analytics, as the product defines
            // the role; another's conversations only by a grant (152-FZ:
            // personal data is seen by whoever needs it).
            // Whoever handles conversations may name who they talk to.
            Role::SeniorOperator => &[StatisticsGeneral, StatisticsOwn, ConversationsOwn, ContactsEdit],
            Role::Operator => &[StatisticsOwn, ConversationsOwn, ContactsEdit],
        };
        list.iter().copied().collect()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    #[test]
    fn administrator_and_manager_hold_everything() {
        for r in [Role::Administrator, Role::Manager] {
            assert_eq!(r.defaults().len(), Permission::ALL.len());
        }
    }

    #[test]
    fn supervisor_configures_but_has_no_finance_nor_permission_editing() {
        let s = Role::OperatorSupervisor.defaults();
        assert!(s.contains(&SettingsManage) && s.contains(&ChannelsManage) && s.contains(&StatisticsAll));
        for p in [FinanceView, FinanceManage, EmployeesPermissions, EmployeesManage] {
            assert!(!s.contains(&p), "{p}");
        }
    }

    #[test]
    fn operators_see_only_what_is_theirs() {
        let op = Role::Operator.defaults();
        assert_eq!(op, [StatisticsOwn, ConversationsOwn, ContactsEdit].into_iter().collect());
        let senior = Role::SeniorOperator.defaults();
        assert_eq!(senior, [StatisticsGeneral, StatisticsOwn, ConversationsOwn, ContactsEdit].into_iter().collect());
    }

    #[test]
    fn roles_are_nested_by_privilege() {
        let chain = [Role::Operator, Role::SeniorOperator, Role::OperatorSupervisor, Role::Manager];
        for w in chain.windows(2) {
            assert!(w[0].defaults().is_subset(&w[1].defaults()), "{} ⊄ {}", w[0], w[1]);
        }
    }
}

/// The README's table of roles and their default permissions.
pub fn markdown_table() -> String {
    let mut out = String::from("| Permission |");
    for r in Role::ALL {
        out.push_str(&format!(" {} |", r.name()));
    }
    out.push_str("\n|---|");
    out.push_str(&":-:|".repeat(Role::ALL.len()));
    for p in Permission::ALL {
        out.push_str(&format!("\n| `{}` |", p.name()));
        for r in Role::ALL {
            out.push_str(if r.defaults().contains(p) { " ✓ |" } else { "   |" });
        }
    }
    out
}

#[cfg(test)]
mod readme {
    #[test]
    fn readme_shows_the_role_defaults_as_the_code_defines_them() {
        let readme = include_str!("../../../README.md");
        let table = super::markdown_table();
        assert!(readme.contains(&table), "README.md must contain this table:\n{table}");
    }
}
