//! The cabinet's security checks: the last `ostrog doctor` report for
//! holders of `settings.view`, a run on request that keeps its report for
//! every node, and the findings it audits. (Each check failing and passing
//! is unit-tested in `doctor::checks`.)

use ostrog_domain::role::Role;
use ostrog_testkit::both_backends;
use reqwest::Method;
use serde_json::Value;

const PATH: &str = "/api/v1/security-checks";

both_backends!(security_checks_are_run_kept_and_audited_for_settings_viewers, |s| {
    let admin = s.session(&s.administrator().await).await;
    let operator = s.session(&s.employee(Role::Operator, &[]).await).await;
    for method in [Method::GET, Method::POST] {
        let r = s.as_(&operator, method.clone(), PATH).send().await.unwrap();
        assert_eq!(r.status(), 403, "{method} is for settings.view");
    }
    let before = s.get_json(&admin, PATH).await;
    assert_eq!(before["report"], Value::Null, "the leader's first run comes a minute after start");
    assert_eq!(before["every_hours"], 6);

    let r = s.as_(&admin, Method::POST, PATH).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    let checks = report["checks"].as_array().unwrap();
    let rank = |c: &Value| ["ok", "notice", "warning", "critical"].iter().position(|s| c["severity"] == *s).unwrap();
    let ranks: Vec<usize> = checks.iter().map(rank).collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "the worst first: {ranks:?}");
    assert_eq!(report["worst"], checks[0]["severity"]);
    let backups = checks.iter().find(|c| c["id"] == "backups.recent").expect("the backups are checked");
    assert_eq!(backups["severity"], "warning", "the test server has no scheduled backups: {backups}");
    assert!(backups["fix"].as_str().unwrap().contains("[backup]"), "{backups}");
    assert_eq!(backups["doc"], "docs/operations.md#9-backup");

    let kept = s.get_json(&admin, PATH).await;
    assert_eq!(kept["report"], report, "the report is kept for the page");
    s.clock.advance(1_000);
    let again: Value = s.as_(&admin, Method::POST, PATH).send().await.unwrap().json().await.unwrap();
    assert!(again["checked_at"].as_i64() > report["checked_at"].as_i64(), "a new run, not the last report");
    let states = |r: &Value| {
        r["checks"].as_array().unwrap().iter().map(|c| (c["id"].clone(), c["severity"].clone())).collect::<Vec<_>>()
    };
    assert_eq!(states(&again), states(&report), "nothing changed in between");

    let audit = s.get_json(&admin, "/api/v1/audit?action=doctor.finding").await;
    let mut audited: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["target"].as_str().unwrap()).collect();
    let mut found: Vec<&str> =
        checks.iter().filter(|c| c["severity"] != "ok").map(|c| c["id"].as_str().unwrap()).collect();
    audited.sort();
    found.sort();
    assert_eq!(audited, found, "each finding is audited once, not again while it stands");
});
