//! Employees: invitation and initial password, Administrator immunity,
//! Managers blocking Managers, no self-escalation, instant offboarding,
//! permission changes on the very next request.

use ostrog_domain::permission::Permission;
use ostrog_domain::role::Role;
use ostrog_testkit::ws::Ended;
use ostrog_testkit::{PASSWORD, TestServer, both_backends, grant};
use reqwest::Method;
use serde_json::{Value, json};

async fn call(s: &TestServer, token: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = s.as_(token, method, path);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

both_backends!(administrator_is_immune_to_everyone, |s| {
    let admin = s.administrator().await;
    let a = s.session(&admin).await;
    let manager = s.employee(Role::Manager, &[]).await;
    let m = s.session(&manager).await;
    let id = admin.id();
    for token in [&a, &m] {
        for (method, path, body) in [
            (Method::POST, format!("/api/v1/employees/{id}/block"), None),
            (Method::DELETE, format!("/api/v1/employees/{id}"), None),
            (Method::PUT, format!("/api/v1/employees/{id}/role"), Some(json!({"role": "operator"}))),
            (Method::PUT, format!("/api/v1/employees/{id}/permissions/audit.view"), Some(json!({"effect": "revoke"}))),
        ] {
            let (status, body) = call(s, token, method.clone(), &path, body).await;
            assert_eq!((status, code(&body)), (403, "administrator_immune"), "{method} {path}");
        }
    }
    assert_eq!(s.app.employees.get(id).await.unwrap().status.name(), "active");
    // Nobody may create a second Administrator.
    let (status, body) = call(
        s,
        &a,
        Method::POST,
        "/api/v1/employees",
        Some(
            json!({"email": "second@example.test", "name": "Second", "role": "administrator", "access": "invitation"}),
        ),
    )
    .await;
    assert_eq!((status, code(&body)), (409, "administrator_exists"));
});

both_backends!(managers_block_managers_but_nobody_escalates, |s| {
    let (m1, m2) = (s.employee(Role::Manager, &[]).await, s.employee(Role::Manager, &[]).await);
    let t1 = s.session(&m1).await;
    let t2 = s.session(&m2).await;
    // No self-modification.
    let (status, body) =
        call(s, &t1, Method::PUT, &format!("/api/v1/employees/{}/role", m1.id()), Some(json!({"role": "operator"})))
            .await;
    assert_eq!((status, code(&body)), (403, "self_modification"));
    let (status, _) = call(s, &t1, Method::POST, &format!("/api/v1/employees/{}/block", m1.id()), None).await;
    assert_eq!(status, 403);
    // A Manager blocks another Manager, whose session ends at once.
    assert_eq!(call(s, &t1, Method::POST, &format!("/api/v1/employees/{}/block", m2.id()), None).await.0, 204);
    assert_eq!(call(s, &t2, Method::GET, "/api/v1/account", None).await.0, 401, "blocked employee's session refused");
    assert_eq!(call(s, &t1, Method::POST, &format!("/api/v1/employees/{}/unblock", m2.id()), None).await.0, 204);
    assert_eq!(call(s, &t2, Method::GET, "/api/v1/account", None).await.0, 401, "old sessions stay dead after unblock");

    // A supervisor granted permission editing cannot grant what they lack,
    // nor act on someone who holds more than they do.
    let sup = s
        .employee(
            Role::OperatorSupervisor,
            &[grant(Permission::EmployeesPermissions), grant(Permission::EmployeesManage)],
        )
        .await;
    let ts = s.session(&sup).await;
    let op = s.employee(Role::Operator, &[]).await;
    let (status, body) = call(
        s,
        &ts,
        Method::PUT,
        &format!("/api/v1/employees/{}/permissions/finance.view", op.id()),
        Some(json!({"effect": "grant"})),
    )
    .await;
    assert_eq!((status, code(&body)), (403, "permission_not_held"));
    let (status, body) =
        call(s, &ts, Method::PUT, &format!("/api/v1/employees/{}/role", op.id()), Some(json!({"role": "manager"})))
            .await;
    assert_eq!((status, code(&body)), (403, "permission_not_held"));
    let (status, body) = call(s, &ts, Method::POST, &format!("/api/v1/employees/{}/block", m1.id()), None).await;
    assert_eq!((status, code(&body)), (403, "target_outranks"));
    let (status, body) = call(
        s,
        &ts,
        Method::PUT,
        &format!("/api/v1/employees/{}/permissions/audit.view", sup.id()),
        Some(json!({"effect": "grant"})),
    )
    .await;
    assert_eq!((status, code(&body)), (403, "self_modification"));
});

both_backends!(permission_changes_apply_on_the_next_request, |s| {
    let manager = s.employee(Role::Manager, &[]).await;
    let m = s.session(&manager).await;
    let op = s.employee(Role::Operator, &[]).await;
    let o = s.session(&op).await;
    assert_eq!(call(s, &o, Method::GET, "/api/v1/audit", None).await.0, 403);
    let audit = s.app.audit_log.page(&Default::default(), 0, 1000).await.unwrap();
    let denied = audit.iter().find(|e| e.event.action == "access.denied").unwrap();
    assert_eq!(denied.event.actor.as_deref(), Some(op.id().to_string().as_str()));
    assert_eq!(denied.event.details["route"], "/api/v1/audit");
    let (status, list) = call(
        s,
        &m,
        Method::PUT,
        &format!("/api/v1/employees/{}/permissions/audit.view", op.id()),
        Some(json!({"effect": "grant"})),
    )
    .await;
    assert_eq!(status, 200);
    let entry = list.as_array().unwrap().iter().find(|p| p["permission"] == "audit.view").unwrap().clone();
    assert_eq!((entry["held"].as_bool(), entry["source"].as_str()), (Some(true), Some("granted")));
    assert_eq!(call(s, &o, Method::GET, "/api/v1/audit", None).await.0, 200);
    assert_eq!(
        call(
            s,
            &m,
            Method::PUT,
            &format!("/api/v1/employees/{}/role", op.id()),
            Some(json!({"role": "operator_supervisor"}))
        )
        .await
        .0,
        204
    );
    assert_eq!(call(s, &o, Method::GET, "/api/v1/settings/two-factor", None).await.0, 200, "new role at once");
});

both_backends!(invitation_initial_password_and_deletion, |s| {
    let manager = s.employee(Role::Manager, &[]).await;
    let m = s.session(&manager).await;
    // Invitation link: single use; a weak password does not burn it.
    let (status, created) = call(
        s,
        &m,
        Method::POST,
        "/api/v1/employees",
        Some(json!({"email": "ivan@example.test", "name": "Ivan Petrov", "role": "operator", "access": "invitation"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let token = created["invitation_url"].as_str().unwrap().split('#').nth(1).unwrap().to_string();
    let accept = |password: &str| {
        s.request(Method::POST, "/api/v1/invitations/accept")
            .json(&json!({"token": token, "password": password}))
            .send()
    };
    assert_eq!(accept("password").await.unwrap().status(), 422);
    assert_eq!(accept("ivan petrov's own passphrase").await.unwrap().status(), 422, "contains the name");
    assert_eq!(accept(PASSWORD).await.unwrap().status(), 204);
    assert_eq!(accept(PASSWORD).await.unwrap().status(), 410, "used link");
    let r = s
        .request(Method::POST, "/api/v1/auth/sign-in")
        .json(&json!({"email": "ivan@example.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["stage"], "enrolment");

    // Initial password: must be changed first.
    let (_, created) = call(s, &m, Method::POST, "/api/v1/employees", Some(json!({"email": "olga@example.test", "name": "Olga", "role": "senior_operator", "access": "initial_password"}))).await;
    let initial = created["initial_password"].as_str().unwrap().to_string();
    let id = created["employee"]["id"].as_str().unwrap().to_string();
    // The same e-mail again: refused, naming the field the form shows it next to.
    let again = json!({"email": "olga@example.test", "name": "Olga 2", "role": "operator", "access": "invitation"});
    let (status, refused) = call(s, &m, Method::POST, "/api/v1/employees", Some(again)).await;
    assert_eq!(
        (status, &refused["error"]["code"], &refused["error"]["field"]),
        (409, &json!("email_taken"), &json!("email"))
    );
    let r = s
        .request(Method::POST, "/api/v1/auth/sign-in")
        .json(&json!({"email": "olga@example.test", "password": initial, "api_client": true}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["stage"], "password_change");
    let t = body["token"].as_str().unwrap().to_string();
    assert_eq!(call(s, &t, Method::GET, "/api/v1/employees", None).await.0, 403);
    // The one-time password may not be chosen again (ASVS 6.4.1)...
    let reuse = json!({"current_password": initial, "new_password": initial});
    let (status, body) = call(s, &t, Method::POST, "/api/v1/account/password", Some(reuse)).await;
    assert_eq!((status, code(&body), body["error"]["reason"].as_str()), (422, "weak_password", Some("reused")));
    let (status, body) = call(
        s,
        &t,
        Method::POST,
        "/api/v1/account/password",
        Some(json!({"current_password": initial, "new_password": PASSWORD})),
    )
    .await;
    assert_eq!((status, body["stage"].as_str()), (200, Some("enrolment")));
    // ...and dies at the change.
    let r = s
        .request(Method::POST, "/api/v1/auth/sign-in")
        .json(&json!({"email": "olga@example.test", "password": initial, "api_client": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the initial password no longer signs in");

    // Deletion ends sessions, destroys credentials, keeps the name.
    assert_eq!(call(s, &m, Method::DELETE, &format!("/api/v1/employees/{id}"), None).await.0, 204);
    assert_eq!(call(s, &t, Method::GET, "/api/v1/account", None).await.0, 401);
    let record = s.app.store.employee(ostrog_domain::ids::EmployeeId::parse(&id).unwrap()).await.unwrap().unwrap();
    assert_eq!(record.employee.name, "Olga");
    assert!(record.password_hash.is_none() && record.totp_secret.is_none());
    let (_, list) = call(s, &m, Method::GET, "/api/v1/employees?status=active&q=olga", None).await;
    assert_eq!(list.as_array().unwrap().len(), 0);
    // Her e-mail is free again.
    let (status, _) = call(
        s,
        &m,
        Method::POST,
        "/api/v1/employees",
        Some(json!({"email": "olga@example.test", "name": "Olga", "role": "operator", "access": "invitation"})),
    )
    .await;
    assert_eq!(status, 201);
});

both_backends!(sensitive_changes_need_a_recent_proof_of_identity, |s| {
    let manager = s.employee(Role::Manager, &[]).await;
    let op = s.employee(Role::Operator, &[]).await;
    let m = s.sign_in(&manager).await;
    s.clock.advance(6 * 60 * ostrog_domain::clock::SECOND);
    let path = format!("/api/v1/employees/{}/role", op.id());
    let (status, body) = call(s, &m, Method::PUT, &path, Some(json!({"role": "senior_operator"}))).await;
    assert_eq!((status, code(&body)), (403, "reauthentication_required"));
    let (status, _) = call(
        s,
        &m,
        Method::POST,
        "/api/v1/auth/reauthenticate",
        Some(json!({"password": "wrong password entirely", "code": s.next_code(&manager)})),
    )
    .await;
    assert_eq!(status, 401);
    // The manager's live socket, which the step-up must not cut.
    let mut ws = s.operator_ws(&m).await;
    let (status, proven) = call(
        s,
        &m,
        Method::POST,
        "/api/v1/auth/reauthenticate",
        Some(json!({"password": PASSWORD, "code": s.next_code(&manager)})),
    )
    .await;
    assert_eq!((status, proven["stage"].as_str()), (200, Some("full")));
    // A new session (ASVS 7.2.4): the old token is refused, the new one proven.
    assert_eq!(call(s, &m, Method::PUT, &path, Some(json!({"role": "senior_operator"}))).await.0, 401);
    let m = proven["token"].as_str().unwrap().to_string();
    assert_eq!(call(s, &m, Method::PUT, &path, Some(json!({"role": "senior_operator"}))).await.0, 204);
    // The socket moved to the new session: a presence change still reaches it.
    ws.send(json!({"type": "presence", "status": "online"})).await;
    assert_eq!(ws.expect("presence").await["status"], "online", "the socket is open after the step-up");
    // Signing out of the new session ends the moved socket too.
    assert_eq!(call(s, &m, Method::POST, "/api/v1/auth/sign-out", None).await.0, 204);
    assert_eq!(ws.ended(std::time::Duration::from_secs(2)).await, Ended::Closed(Some(4001)), "signed out: closed");
    let audit = s.app.audit_log.page(&Default::default(), 0, 1000).await.unwrap();
    let changed = audit.iter().find(|e| e.event.action == "employee.role_changed").unwrap();
    assert_eq!(changed.event.actor.as_deref(), Some(manager.id().to_string().as_str()));
    assert_eq!(changed.event.target.as_deref(), Some(op.id().to_string().as_str()));
});

// ASVS 7.4.5: a holder of employees.manage ends every session of another
// employee (audited) without blocking them; nobody does it to the
// Administrator but the Administrator. ASVS 7.5.2: ending one's own other
// sessions needs a recent proof of identity.
both_backends!(sessions_are_ended_by_a_manager_and_by_oneself_with_proof, |s| {
    let manager = s.employee(Role::Manager, &[]).await;
    let m = s.session(&manager).await;
    let op = s.employee(Role::Operator, &[]).await;
    let (op_a, op_b) = (s.session(&op).await, s.session(&op).await);
    let mut op_ws = s.operator_ws(&op_a).await;
    let path = format!("/api/v1/employees/{}/sessions", op.id());
    let (status, body) = call(s, &op_a, Method::DELETE, &path, None).await;
    assert_eq!(status, 403, "an operator holds no employees.manage: {body}");
    let (status, body) = call(s, &m, Method::DELETE, &path, None).await;
    assert_eq!((status, body["ended"].as_u64()), (200, Some(2)));
    for token in [&op_a, &op_b] {
        assert_eq!(call(s, token, Method::GET, "/api/v1/account", None).await.0, 401);
    }
    assert_eq!(op_ws.ended(std::time::Duration::from_secs(2)).await, Ended::Closed(Some(4001)));
    let audit = s.app.audit_log.page(&Default::default(), 0, 1000).await.unwrap();
    let ended = audit.iter().find(|e| e.event.action == "employee.sessions_ended").unwrap();
    assert_eq!(ended.event.target.as_deref(), Some(op.id().to_string().as_str()));
    assert_eq!(ended.event.details["sessions"], 2);
    let admin = s.administrator().await;
    let (status, body) = call(s, &m, Method::DELETE, &format!("/api/v1/employees/{}/sessions", admin.id()), None).await;
    assert_eq!((status, code(&body)), (403, "target_outranks"), "{body}");

    // One's own other sessions: a recent proof first.
    let manager_other = s.session(&manager).await;
    let signed_in = s.sign_in(&manager).await;
    s.clock.advance(6 * 60 * ostrog_domain::clock::SECOND);
    let (status, body) = call(s, &signed_in, Method::DELETE, "/api/v1/account/sessions", None).await;
    assert_eq!((status, code(&body)), (403, "reauthentication_required"));
    let proof = json!({"password": PASSWORD, "code": s.next_code(&manager)});
    let (_, proven) = call(s, &signed_in, Method::POST, "/api/v1/auth/reauthenticate", Some(proof)).await;
    let fresh = proven["token"].as_str().unwrap().to_string();
    let (status, body) = call(s, &fresh, Method::DELETE, "/api/v1/account/sessions", None).await;
    assert_eq!((status, body["ended"].as_u64()), (200, Some(2)), "{body}");
    for gone in [&m, &manager_other] {
        assert_eq!(call(s, gone, Method::GET, "/api/v1/account", None).await.0, 401);
    }
    assert_eq!(call(s, &fresh, Method::GET, "/api/v1/account", None).await.0, 200, "the current one stays");
});
