//! Every operation of the OpenAPI document × every kind of caller: allowed
//! (any answer but 401/403) exactly when the caller's effective permissions
//! include the operation's `x-permission`; 403 otherwise; 401 without a
//! session. A new endpoint is covered without editing this test, and an
//! operation without `x-permission` fails it.

use ostrog_domain::access::effective;
use ostrog_domain::permission::{Permission, PermissionSet};
use ostrog_domain::role::Role;
use ostrog_testkit::{TestEmployee, TestServer, both_backends, grant, revoke};
use reqwest::Method;
use serde_json::Value;

struct Op {
    method: Method,
    path: String,
    permission: Value,
}

async fn operations(s: &TestServer) -> Vec<Op> {
    let doc: Value = s.request(Method::GET, "/api/openapi.json").send().await.unwrap().json().await.unwrap();
    let mut ops = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
            let permission = op.get("x-permission").cloned();
            let permission = permission.unwrap_or_else(|| panic!("{method} {path} has no x-permission"));
            let path = path.replace("{id}", &uuid::Uuid::new_v4().to_string()).replace("{permission}", "audit.view");
            let path = path.replace("{file_id}", &uuid::Uuid::new_v4().to_string());
            let path = path.replace("{message_id}", &uuid::Uuid::new_v4().to_string());
            let path = path.replace("{reply_id}", &uuid::Uuid::new_v4().to_string());
            ops.push(Op { method, path, permission });
        }
    }
    assert!(ops.len() >= 25, "only {} operations found", ops.len());
    ops
}

fn admits(permission: &Value, held: &PermissionSet) -> bool {
    match permission {
        Value::String(s) if s == "public" || s == "authenticated" => true,
        // Visitor-token operations admit no employee session.
        Value::String(s) if s == "visitor" => false,
        // Only the monitoring system's own token, never a session.
        Value::String(s) if s == "metrics-token" => false,
        // Only the messenger, by the channel's secret, never a session.
        Value::String(s) if s == "channel-secret" => false,
        Value::Array(list) => list.iter().any(|p| {
            let p = Permission::parse(p.as_str().unwrap()).unwrap_or_else(|| panic!("unknown permission {p}"));
            held.contains(&p)
        }),
        other => panic!("malformed x-permission {other}"),
    }
}

both_backends!(every_operation_for_every_caller, |s| {
    let admin = s.administrator().await;
    let mut callers: Vec<(String, TestEmployee, PermissionSet)> =
        vec![("administrator".into(), admin, effective(Role::Administrator, &[]))];
    for role in [Role::Manager, Role::OperatorSupervisor, Role::SeniorOperator, Role::Operator] {
        callers.push((role.name().into(), s.employee(role, &[]).await, effective(role, &[])));
    }
    let granted = [grant(Permission::AuditView)];
    let op = s.employee(Role::Operator, &granted).await;
    let overrides = [ostrog_domain::access::Override {
        permission: Permission::AuditView,
        effect: ostrog_domain::access::Effect::Grant,
    }];
    callers.push(("operator+audit.view".into(), op, effective(Role::Operator, &overrides)));
    // A Manager with each view revoked: the section goes, its manage reads included.
    for view in [
        Permission::AuditView,
        Permission::FinanceView,
        Permission::SettingsView,
        Permission::EmployeesView,
        Permission::StatisticsGeneral,
    ] {
        let m = s.employee(Role::Manager, &[revoke(view)]).await;
        let overrides =
            [ostrog_domain::access::Override { permission: view, effect: ostrog_domain::access::Effect::Revoke }];
        callers.push((format!("manager-{view}"), m, effective(Role::Manager, &overrides)));
    }

    for op in operations(s).await {
        let with_body = |r: reqwest::RequestBuilder| {
            if [Method::POST, Method::PUT, Method::PATCH].contains(&op.method) {
                r.json(&serde_json::json!({}))
            } else {
                r
            }
        };
        let anonymous = with_body(s.request(op.method.clone(), &op.path)).send().await.unwrap().status();
        if op.permission == "metrics-token" {
            assert_eq!(anonymous, 404, "{} {}: no metrics token is configured, so it is off", op.method, op.path);
        } else if op.permission == "channel-secret" {
            assert_eq!(anonymous, 404, "{} {}: no such channel", op.method, op.path);
        } else if op.permission != "public" {
            assert_eq!(anonymous, 401, "{} {} without a session", op.method, op.path);
        }
        for (label, who, held) in &callers {
            // A fresh session per call: some operations (sign-out) end it.
            let token = s.session(who).await;
            let status = with_body(s.as_(&token, op.method.clone(), &op.path)).send().await.unwrap().status();
            if admits(&op.permission, held) {
                assert!(
                    status != 401 && status != 403,
                    "{label} must be allowed {} {} but got {status}",
                    op.method,
                    op.path
                );
            } else if op.permission == "visitor" {
                assert_eq!(status, 401, "{label} is no visitor: {} {}", op.method, op.path);
            } else if op.permission == "metrics-token" {
                // 404: this server has no metrics token, so the route is off.
                assert_eq!(status, 404, "{label} holds no metrics token: {} {}", op.method, op.path);
            } else if op.permission == "channel-secret" {
                // A session is no channel secret; the channel does not exist either.
                assert_eq!(status, 404, "{label} is no messenger: {} {}", op.method, op.path);
            } else {
                assert_eq!(status, 403, "{label} must be refused {} {}", op.method, op.path);
            }
        }
    }
});
