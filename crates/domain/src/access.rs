//! Effective permissions and the rules for acting on another employee.
//!
//! An employee's permissions are their role's defaults, plus single grants,
//! minus single revocations. The Administrator always holds everything and
//! nothing can be taken from them. Whoever changes an employee must hold at
//! least what that employee holds, and must hold whatever they grant.

use crate::employee::Employee;
use crate::error::DomainError;
use crate::ids::EmployeeId;
use crate::permission::{Permission, PermissionSet};
use crate::role::Role;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Grant,
    Revoke,
}

/// A per-employee deviation from the role's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub permission: Permission,
    pub effect: Effect,
}

/// Where an employee's holding (or not holding) of a permission comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Role,
    Granted,
    Revoked,
    NotInRole,
    /// Held by the role or a grant, but not in effect: the view of its
    /// section is not held (see `Permission::requires`).
    WithoutView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionState {
    pub permission: Permission,
    pub held: bool,
    pub source: Source,
}

pub fn effective(role: Role, overrides: &[Override]) -> PermissionSet {
    explain(role, overrides).into_iter().filter(|s| s.held).map(|s| s.permission).collect()
}

/// Every permission of the catalog with whether it is held and why.
pub fn explain(role: Role, overrides: &[Override]) -> Vec<PermissionState> {
    let mut states = resolve(role, overrides);
    let held: PermissionSet = states.iter().filter(|s| s.held).map(|s| s.permission).collect();
    for state in &mut states {
        if state.held && state.permission.requires().is_some_and(|view| !held.contains(&view)) {
            *state = PermissionState { permission: state.permission, held: false, source: Source::WithoutView };
        }
    }
    states
}

/// The role's defaults with the overrides applied, one permission at a time.
fn resolve(role: Role, overrides: &[Override]) -> Vec<PermissionState> {
    let defaults = role.defaults();
    Permission::ALL
        .iter()
        .map(|&permission| {
            let by_role = defaults.contains(&permission);
            let over = overrides.iter().rev().find(|o| o.permission == permission);
            let (held, source) = match (role, over) {
                // The Administrator's set is fixed: overrides never apply.
                (Role::Administrator, _) => (true, Source::Role),
                (_, Some(Override { effect: Effect::Grant, .. })) if !by_role => (true, Source::Granted),
                (_, Some(Override { effect: Effect::Revoke, .. })) if by_role => (false, Source::Revoked),
                (_, _) if by_role => (true, Source::Role),
                _ => (false, Source::NotInRole),
            };
            PermissionState { permission, held, source }
        })
        .collect()
}

/// Who is asking: enough to apply the rules below.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: EmployeeId,
    pub role: Role,
    pub permissions: PermissionSet,
}

impl Actor {
    pub fn holds(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }
}

/// What one employee does to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Edit,
    Block,
    Unblock,
    Delete,
    ChangeRole,
    ChangePermissions,
    ResetTwoFactor,
    /// Ending every session of another employee (one's own: from one's account).
    EndSessions,
}

impl Action {
    /// Actions that may never be done to oneself: they would let an employee
    /// raise, keep or launder their own access.
    fn forbidden_on_self(self) -> bool {
        !matches!(self, Action::Edit)
    }

    /// Actions that may never be done to the Administrator, by anyone.
    fn forbidden_on_administrator(self) -> bool {
        matches!(self, Action::Block | Action::Delete | Action::ChangeRole | Action::ChangePermissions)
    }
}

/// May `actor` do `action` to `target` (whose effective permissions are `target_permissions`)?
pub fn may_act_on(
    actor: &Actor,
    target: &Employee,
    target_permissions: &PermissionSet,
    action: Action,
) -> Result<(), DomainError> {
    if target.role == Role::Administrator {
        if action.forbidden_on_administrator() {
            return Err(DomainError::AdministratorImmune);
        }
        if actor.role != Role::Administrator {
            return Err(DomainError::TargetOutranks);
        }
    }
    if actor.id == target.id && action.forbidden_on_self() {
        return Err(DomainError::SelfModification);
    }
    if !target_permissions.is_subset(&actor.permissions) {
        return Err(DomainError::TargetOutranks);
    }
    Ok(())
}

/// May `actor` give `target` the role `new_role`?
pub fn may_assign_role(actor: &Actor, new_role: Role) -> Result<(), DomainError> {
    if new_role == Role::Administrator {
        return Err(DomainError::AdministratorExists);
    }
    match new_role.defaults().difference(&actor.permissions).next() {
        Some(missing) => Err(DomainError::NotHeld(*missing)),
        None => Ok(()),
    }
}

/// May `actor` grant or revoke `permission`? Revoking what one does not hold
/// is refused too: it would let an employee shape access they cannot judge.
pub fn may_override(actor: &Actor, permission: Permission) -> Result<(), DomainError> {
    if actor.holds(permission) { Ok(()) } else { Err(DomainError::NotHeld(permission)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::employee::{Employee, EmployeeStatus};
    use Permission::*;

    fn employee(role: Role) -> Employee {
        Employee {
            id: EmployeeId::random(),
            email: format!("{role}@example.test"),
            name: role.to_string(),
            role,
            status: EmployeeStatus::Active,
            created_at: 0,
        }
    }

    fn actor_of(e: &Employee, overrides: &[Override]) -> Actor {
        Actor { id: e.id, role: e.role, permissions: effective(e.role, overrides) }
    }

    #[test]
    fn grants_and_revocations_shape_the_role_defaults() {
        let o = [
            Override { permission: AuditView, effect: Effect::Grant },
            Override { permission: ConversationsOwn, effect: Effect::Revoke },
        ];
        let set = effective(Role::Operator, &o);
        assert!(set.contains(&AuditView));
        assert!(!set.contains(&ConversationsOwn));
        assert!(set.contains(&StatisticsOwn));
        let why = explain(Role::Operator, &o);
        let of = |p| why.iter().find(|s| s.permission == p).map(|s| s.source);
        assert_eq!(of(AuditView), Some(Source::Granted));
        assert_eq!(of(ConversationsOwn), Some(Source::Revoked));
        assert_eq!(of(StatisticsOwn), Some(Source::Role));
        assert_eq!(of(FinanceView), Some(Source::NotInRole));
    }

    #[test]
    fn revoking_a_sections_view_takes_the_section_away() {
        for (view, manages) in [
            (FinanceView, &[FinanceManage][..]),
            (SettingsView, &[SettingsManage]),
            (EmployeesView, &[EmployeesManage, EmployeesPermissions]),
        ] {
            let o = [Override { permission: view, effect: Effect::Revoke }];
            let set = effective(Role::Manager, &o);
            assert!(!set.contains(&view), "{view}");
            for manage in manages {
                assert!(!set.contains(manage), "{manage} without {view}");
                let why = explain(Role::Manager, &o);
                assert_eq!(why.iter().find(|s| s.permission == *manage).map(|s| s.source), Some(Source::WithoutView));
            }
        }
        // A manage grant needs its view too; with it, it holds.
        let manage = [Override { permission: FinanceManage, effect: Effect::Grant }];
        assert!(!effective(Role::Operator, &manage).contains(&FinanceManage));
        let both = [manage[0], Override { permission: FinanceView, effect: Effect::Grant }];
        assert!(effective(Role::Operator, &both).contains(&FinanceManage));
        // Every role's defaults are already closed under the rule.
        for role in Role::ALL {
            assert_eq!(effective(*role, &[]), role.defaults(), "{role}");
        }
    }

    #[test]
    fn nothing_is_taken_from_the_administrator() {
        let o = [Override { permission: AuditView, effect: Effect::Revoke }];
        assert_eq!(effective(Role::Administrator, &o).len(), Permission::ALL.len());
    }

    #[test]
    fn administrator_is_immune_even_to_themselves() {
        let admin = employee(Role::Administrator);
        let all = effective(Role::Administrator, &[]);
        let a = actor_of(&admin, &[]);
        for action in [Action::Block, Action::Delete, Action::ChangeRole, Action::ChangePermissions] {
            assert_eq!(may_act_on(&a, &admin, &all, action), Err(DomainError::AdministratorImmune));
        }
        let manager = employee(Role::Manager);
        let m = actor_of(&manager, &[]);
        assert_eq!(may_act_on(&m, &admin, &all, Action::Edit), Err(DomainError::TargetOutranks));
        assert_eq!(may_act_on(&a, &admin, &all, Action::Edit), Ok(()));
    }

    #[test]
    fn managers_may_block_managers_but_not_themselves() {
        let (m1, m2) = (employee(Role::Manager), employee(Role::Manager));
        let a = actor_of(&m1, &[]);
        let all = effective(Role::Manager, &[]);
        assert_eq!(may_act_on(&a, &m2, &all, Action::Block), Ok(()));
        assert_eq!(may_act_on(&a, &m1, &all, Action::Block), Err(DomainError::SelfModification));
        assert_eq!(may_act_on(&a, &m1, &all, Action::ChangePermissions), Err(DomainError::SelfModification));
    }

    #[test]
    fn a_lesser_employee_cannot_act_on_a_greater_one() {
        let op = employee(Role::Operator);
        let granted = [Override { permission: EmployeesManage, effect: Effect::Grant }];
        let a = actor_of(&op, &granted);
        let m = employee(Role::Manager);
        assert_eq!(may_act_on(&a, &m, &effective(Role::Manager, &[]), Action::Block), Err(DomainError::TargetOutranks));
    }

    #[test]
    fn nobody_grants_what_they_do_not_hold_nor_creates_an_administrator() {
        let sup = employee(Role::OperatorSupervisor);
        let a = actor_of(&sup, &[]);
        assert_eq!(may_override(&a, FinanceView), Err(DomainError::NotHeld(FinanceView)));
        assert_eq!(may_override(&a, SettingsManage), Ok(()));
        assert_eq!(may_assign_role(&a, Role::Manager), Err(DomainError::NotHeld(FinanceView)));
        assert_eq!(may_assign_role(&a, Role::SeniorOperator), Ok(()));
        let admin = actor_of(&employee(Role::Administrator), &[]);
        assert_eq!(may_assign_role(&admin, Role::Administrator), Err(DomainError::AdministratorExists));
    }
}
