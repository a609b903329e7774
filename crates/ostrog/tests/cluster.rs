//! Several `ostrog serve` processes on one PostgreSQL database behave as
//! one system: chat across nodes, revocation everywhere within a second,
//! a node killed under load, two nodes racing for the queue, and the bus
//! stopped for a while. The bus is a NATS server this test starts on its
//! own port (so it can stop it), or PostgreSQL's LISTEN/NOTIFY.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{free_port, wait_listening};
use ostrog_domain::employee::{Employee, EmployeeStatus};
use ostrog_domain::ids::{EmployeeId, WidgetId};
use ostrog_domain::role::Role;
use ostrog_domain::session::Stage;
use ostrog_server::app::App;
use ostrog_server::services::auditor::Ctx;
use ostrog_store::NewEmployee;
use ostrog_testkit::ws::{Ended, Ws};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A NATS server of the test's own, on a port of its own.
struct Nats {
    port: u16,
    child: Option<Child>,
}

impl Nats {
    fn start() -> Nats {
        let mut nats = Nats { port: free_port(), child: None };
        nats.resume();
        nats
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn resume(&mut self) {
        let binary = std::env::var("OSTROG_TEST_NATS_SERVER").unwrap_or_else(|_| {
            ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
                .into_iter()
                .find(|p| std::path::Path::new(p).exists())
                .unwrap_or("nats-server")
                .to_string()
        });
        let child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server must be installed (Debian: nats-server)");
        self.child = Some(child);
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Nodes on one fresh PostgreSQL database and one data folder (the
/// master key file, as a shared mount would give every node).
struct Nodes {
    url: String,
    dir: PathBuf,
    env: Vec<(String, String)>,
    ports: Vec<u16>,
    children: Vec<Option<Child>>,
    seed: Arc<App>,
    widget: WidgetId,
}

impl Nodes {
    async fn start(count: usize, bus: &[(&str, String)]) -> Nodes {
        let admin = ostrog_testkit::postgres_admin_url();
        let url = ostrog_store_sql::create_fresh_postgres_database(&admin, "ostrog_t").await.unwrap();
        let dir = std::env::temp_dir().join(format!("ostrog-cluster-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let widget = common::seed_widget(&dir, &url).await;
        let config =
            ostrog_server::config::Config { data_dir: dir.clone(), database_url: url.clone(), ..Default::default() };
        let seed = ostrog_server::open_app(&config, ostrog_server::system_clock()).await.unwrap();
        let mut env: Vec<(String, String)> = vec![
            ("OSTROG_SCANNER__ENABLED".into(), "false".into()),
            ("OSTROG_LIMITS__VISITOR_SOCKETS_PER_IP".into(), "100000".into()),
            ("OSTROG_LIMITS__PUBLIC_REQUESTS_PER_MINUTE".into(), "1000000".into()),
            ("OSTROG_CLUSTER__SUBJECT".into(), format!("t{}", uuid::Uuid::new_v4().simple())),
        ];
        env.extend(bus.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let mut nodes = Nodes { url, dir, env, ports: Vec::new(), children: Vec::new(), seed, widget };
        for _ in 0..count {
            let port = free_port();
            nodes.ports.push(port);
            nodes.children.push(None);
        }
        for i in 0..count {
            nodes.resume(i).await;
        }
        for i in 0..count {
            nodes.wait_ready(i, Duration::from_secs(20)).await;
        }
        nodes
    }

    async fn resume(&mut self, i: usize) {
        // Each node's log stays in the data folder, for when a test fails.
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join(format!("node{i}.log")));
        let log = log.unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ostrog"))
            .args(["--database-url", &self.url, "--data-dir", self.dir.to_str().unwrap(), "serve"])
            .env("OSTROG_LISTEN", format!("127.0.0.1:{}", self.ports[i]))
            .env("OSTROG_LOG__LEVEL", "info")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.children[i] = Some(child);
        wait_listening(self.ports[i]).await;
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            child.kill().unwrap(); // SIGKILL: no goodbye, the lease is left to run out
            child.wait().unwrap();
        }
    }

    fn http(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[i])
    }

    async fn readiness(&self, i: usize) -> (u16, Value) {
        let r = reqwest::get(format!("{}/readyz", self.http(i))).await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn wait_ready(&self, i: usize, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (status, body) = self.readiness(i).await;
            if status == 200 {
                return body;
            }
            assert!(Instant::now() < deadline, "node {i} never became ready: {status} {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// An employee of `role` with a signed-in session token.
    async fn employee(&self, role: Role) -> (EmployeeId, String) {
        let id = EmployeeId::random();
        let employee = Employee {
            id,
            email: format!("{}-{}@example.test", role.name(), id.0.simple()),
            name: format!("{} {}", role.name(), &id.0.simple().to_string()[..6]),
            role,
            status: EmployeeStatus::Active,
            created_at: self.seed.clock.now(),
        };
        let store = &self.seed.store;
        let new = NewEmployee { employee, password_hash: None, must_change_password: false };
        store.create_employee(&new).await.unwrap();
        let sealed = self.seed.vault.seal(&ostrog_server::keys::Purpose::Totp(id), &[7; 20]);
        store.set_pending_totp(id, Some(&sealed)).await.unwrap();
        store.activate_totp(id, 0, &[]).await.unwrap();
        let record = store.employee(id).await.unwrap().unwrap();
        (id, self.seed.sessions.issue(&record, Stage::Full, &Ctx::default()).await.unwrap().token)
    }

    async fn administrator(&self) -> String {
        let e = self
            .seed
            .setup
            .create_administrator(
                "admin@example.test",
                "Ada Admin",
                "a long and unremarkable passphrase",
                &Ctx::default(),
            )
            .await
            .unwrap();
        let record = self.seed.store.employee(e.id).await.unwrap().unwrap();
        self.seed.sessions.issue(&record, Stage::Full, &Ctx::default()).await.unwrap().token
    }

    async fn operator_ws(&self, i: usize, token: &str) -> Ws {
        let url = format!("ws://127.0.0.1:{}/api/v1/ws", self.ports[i]);
        let mut ws = Ws::connect(&url, &[("authorization", &format!("Bearer {token}"))]).await.unwrap();
        ws.expect("welcome").await;
        ws
    }

    async fn visitor(&self, i: usize) -> (Ws, Value) {
        let url = format!("ws://127.0.0.1:{}/api/v1/widget/{}/ws", self.ports[i], self.widget);
        let mut ws = Ws::connect(&url, &[("origin", common::ORIGIN)]).await.unwrap();
        ws.send(json!({"type": "hello", "v": 1})).await;
        let welcome = ws.expect("welcome").await;
        (ws, welcome)
    }

    async fn stop(mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
        let _ = ostrog_store_sql::drop_postgres_database(&ostrog_testkit::postgres_admin_url(), &self.url).await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Nodes {
    /// A failed test leaves no node behind holding database connections.
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

fn nats_env(nats: &Nats) -> Vec<(&'static str, String)> {
    vec![("OSTROG_CLUSTER__BUS", "nats".into()), ("OSTROG_CLUSTER__NATS_URL", nats.url())]
}

async fn three_nodes_chat_as_one(bus: Vec<(&'static str, String)>, forge: bool) {
    let nodes = Nodes::start(3, &bus).await;
    let (operator, op_token) = nodes.employee(Role::Operator).await;
    let (_, supervisor_token) = nodes.employee(Role::OperatorSupervisor).await;
    let mut supervisor = nodes.operator_ws(2, &supervisor_token).await;
    // The supervisor watches and takes no chats of their own.
    supervisor.send(json!({"type": "presence", "status": "away"})).await;
    let mut op = nodes.operator_ws(1, &op_token).await;
    // On the PostgreSQL bus, the test listens too: what crosses it is checked below.
    let subject = nodes.env.iter().find(|(k, _)| k == "OSTROG_CLUSTER__SUBJECT").unwrap().1.clone();
    let mut bus = match forge {
        true => {
            let mut listener = sqlx::postgres::PgListener::connect(&nodes.url).await.unwrap();
            listener.listen(&subject).await.unwrap();
            Some(listener)
        }
        false => None,
    };

    // A visitor on node 0 writes; routing (on whichever node leads)
    // assigns the operator on node 1, who is told there.
    let (mut visitor, _) = nodes.visitor(0).await;
    let ack = visitor.say("hello from node 0").await;
    let conversation = ack["conversation_id"].as_str().unwrap().to_string();
    // Routing may assign before or after the message is stored, so the
    // assignment and the message may reach the operator in either order.
    let (change, _) = op.expect_and_receive("conversation", "hello from node 0").await;
    assert_eq!(change["conversation"]["operator_id"], json!(operator), "assigned across nodes: {change}");

    // The supervisor on node 2 (conversations.all) saw the assignment and watches the chat.
    let seen = supervisor.expect("conversation").await;
    assert_eq!(seen["conversation"]["id"].as_str(), Some(conversation.as_str()));
    supervisor.send(json!({"type": "subscribe", "conversation_id": conversation})).await;
    supervisor.expect("subscribed").await;

    // The operator answers on node 1: the visitor on node 0 and the supervisor on node 2 get it.
    let client_id = uuid::Uuid::new_v4();
    op.send(
        json!({"type": "send", "conversation_id": conversation, "client_id": client_id, "text": "hello from node 1"}),
    )
    .await;
    op.expect("ack").await;
    visitor.receive("hello from node 1").await;
    supervisor.receive("hello from node 1").await;
    visitor.say("and back again").await;
    op.receive("and back again").await;
    supervisor.receive("and back again").await;

    // Typing crosses nodes too.
    visitor.send(json!({"type": "typing"})).await;
    op.expect("typing").await;

    if let Some(listener) = &mut bus {
        // The bus carried the chat's events, but not one word of it.
        let mut payloads = Vec::new();
        while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(300), listener.recv()).await {
            payloads.push(n.payload().to_string());
        }
        assert!(payloads.iter().any(|p| p.contains(&conversation)), "the chat's events crossed the bus");
        for text in ["hello from node 0", "hello from node 1", "and back again"] {
            assert!(payloads.iter().all(|p| !p.contains(text)), "{text:?} crossed the bus");
        }
    }
    if forge {
        // Whoever can NOTIFY on the database, but lacks the installation's
        // key, can neither revoke anyone nor push frames: unsigned or
        // wrongly signed payloads are dropped.
        let forged = json!({"n": "intruder", "e": [{"t": "revoke_employee", "employee": operator}]}).to_string();
        let db = sqlx::PgPool::connect(&nodes.url).await.unwrap();
        for payload in [forged.clone(), format!("{}.{forged}", "ab".repeat(32))] {
            sqlx::query("SELECT pg_notify($1, $2)").bind(&subject).bind(payload).execute(&db).await.unwrap();
        }
        assert_eq!(op.ended(Duration::from_secs(1)).await, Ended::Open, "a forged revocation closes nothing");
    }
    nodes.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_nats_chat_as_one() {
    let nats = Nats::start();
    three_nodes_chat_as_one(nats_env(&nats), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_on_postgres_notify_chat_as_one() {
    three_nodes_chat_as_one(vec![("OSTROG_CLUSTER__BUS", "postgres".into())], true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_on_two_nodes_is_one_operator_and_blocking_on_one_node_closes_the_other_within_a_second() {
    let nats = Nats::start();
    let nodes = Nodes::start(3, &nats_env(&nats)).await;
    let admin = nodes.administrator().await;
    let (operator, token) = nodes.employee(Role::Operator).await;
    let (_, colleague) = nodes.employee(Role::SeniorOperator).await;
    let mut tab_a = nodes.operator_ws(0, &token).await;
    let mut tab_b = nodes.operator_ws(1, &token).await;
    let _colleague_ws = nodes.operator_ws(0, &colleague).await;

    // Choosing "away" in one tab is the operator's status on both nodes.
    tab_a.send(json!({"type": "presence", "status": "away"})).await;
    let p = tab_b.expect("presence").await;
    assert_eq!((p["employee_id"].clone(), p["status"].clone()), (json!(operator), json!("away")));
    // Colleagues see them once, whichever node they ask.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for i in 0..2 {
        let r = reqwest::Client::new()
            .get(format!("{}/api/v1/presence", nodes.http(i)))
            .bearer_auth(&colleague)
            .send()
            .await
            .unwrap();
        let list: Value = r.json().await.unwrap();
        let mine: Vec<&Value> =
            list.as_array().unwrap().iter().filter(|c| c["employee_id"] == json!(operator)).collect();
        assert_eq!(mine.len(), 1, "node {i} lists the operator once: {list}");
        assert_eq!(mine[0]["status"], "away", "node {i}: {list}");
    }
    // A third tab, on a node they were not connected to, starts away too.
    let url = format!("ws://127.0.0.1:{}/api/v1/ws", nodes.ports[2]);
    let mut tab_c = Ws::connect(&url, &[("authorization", &format!("Bearer {token}"))]).await.unwrap();
    assert_eq!(tab_c.expect("welcome").await["presence"], "away");
    tab_c.close().await;

    // Blocked through node 0: the tab on node 1 is closed within a second.
    let started = Instant::now();
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/employees/{operator}/block", nodes.http(0)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(tab_b.ended(Duration::from_secs(1)).await, Ended::Closed(Some(4001)), "closed on the other node");
    assert!(started.elapsed() < Duration::from_secs(1), "within a second: {:?}", started.elapsed());
    assert_eq!(tab_a.ended(Duration::from_secs(1)).await, Ended::Closed(Some(4001)));
    nodes.stop().await;
}

/// What an operator's client saw, kept as the web app keeps it: by
/// conversation and sequence number.
#[derive(Default)]
struct Seen {
    /// (conversation, seq) → how many times it arrived.
    frames: HashMap<(String, i64), usize>,
}

impl Seen {
    fn note(&mut self, frame: &Value) {
        let items = match frame["type"].as_str() {
            Some("message") => vec![frame["message"].clone()],
            Some("messages") => frame["items"].as_array().cloned().unwrap_or_default(),
            _ => return,
        };
        for m in items {
            let key = (m["conversation_id"].as_str().unwrap_or_default().to_string(), m["seq"].as_i64().unwrap_or(0));
            *self.frames.entry(key).or_default() += 1;
        }
    }

    fn last_seq(&self, conversation: &str) -> i64 {
        self.frames.keys().filter(|(c, _)| c == conversation).map(|(_, s)| *s).max().unwrap_or(0)
    }
}

/// The operator's conversations, as the workplace lists them after reconnecting.
async fn my_conversations(base: &str, token: &str) -> Vec<Value> {
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1/conversations?limit=200"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["items"].as_array().cloned().unwrap_or_default()
}

/// Reconnects to `node` and catches up every conversation after the last
/// sequence number seen, as the workplace does.
async fn catch_up(nodes: &Nodes, node: usize, token: &str, seen: &mut Seen) -> Ws {
    let mut ws = nodes.operator_ws(node, token).await;
    for c in my_conversations(&nodes.http(node), token).await {
        let id = c["id"].as_str().unwrap().to_string();
        ws.send(json!({"type": "sync", "conversation_id": id, "after_seq": seen.last_seq(&id)})).await;
    }
    ws
}

/// Reads frames into `seen` for `within`; whether the connection ended.
async fn read_into(ws: &mut Ws, seen: &mut Seen, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next_frame(deadline)).await {
            Ok(Some(frame)) => seen.note(&frame),
            Ok(None) if tokio::time::Instant::now() < deadline => return true,
            _ => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_under_load_loses_and_repeats_nothing_for_its_clients() {
    let nats = Nats::start();
    let mut nodes = Nodes::start(3, &nats_env(&nats)).await;
    let (operator, token) = nodes.employee(Role::Operator).await;
    nodes.seed.store.set_chat_limit(operator, 100).await.unwrap();
    let mut seen = Seen::default();
    let mut op = nodes.operator_ws(1, &token).await;

    // Visitors on node 0 write as fast as acknowledgements come back.
    let acked = common::Acked::default();
    let load: Vec<_> =
        (0..8).map(|_| tokio::spawn(common::visitor(nodes.ports[0], nodes.widget, acked.clone()))).collect();
    read_into(&mut op, &mut seen, Duration::from_millis(1500)).await;
    nodes.kill(1); // the operator's node, maybe the leader
    assert!(read_into(&mut op, &mut seen, Duration::from_secs(2)).await, "the operator's connection ended");
    let mut op = catch_up(&nodes, 2, &token, &mut seen).await;
    read_into(&mut op, &mut seen, Duration::from_millis(1500)).await;
    for task in &load {
        task.abort();
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(acked.len() > 50, "the load ran: {} acknowledged", acked.len());
    read_into(&mut op, &mut seen, Duration::from_secs(2)).await;

    common::assert_all_stored(&nodes.url, &acked).await;
    for (key, (conversation, seq)) in &acked {
        let arrived = seen.frames.get(&(conversation.clone(), *seq)).copied().unwrap_or(0);
        assert!(arrived >= 1, "acknowledged {key} reached the operator after reconnecting");
    }
    // Conversations assigned through the dead node stay assigned, and the
    // operator's transcript of each (one copy per sequence number, as the
    // workplace keeps it; a frame may come twice around a reconnection)
    // is the stored one, without a gap.
    for c in my_conversations(&nodes.http(2), &token).await {
        assert_eq!((c["state"].as_str(), c["operator_id"].clone()), (Some("assigned"), json!(operator)), "{c}");
        let id = c["id"].as_str().unwrap().to_string();
        let stored =
            nodes.seed.store.conversation(ostrog_domain::ids::ConversationId(uuid::Uuid::parse_str(&id).unwrap()));
        let last = stored.await.unwrap().unwrap().last_seq;
        let mut seqs: Vec<i64> = seen.frames.keys().filter(|(c, _)| *c == id).map(|(_, s)| *s).collect();
        seqs.sort();
        assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "the operator has all of {id}, once each");
    }
    // A survivor leads once the dead node's lease has run out.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let leaders = [0, 2];
        let mut leading = 0;
        for i in leaders {
            leading += usize::from(nodes.readiness(i).await.1["leader"] == true);
        }
        if leading == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no surviving node took the lead");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    nodes.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_racing_for_a_thousand_queued_conversations_assign_each_exactly_once() {
    const CONVERSATIONS: usize = 1000;
    let nats = Nats::start();
    let nodes = Nodes::start(2, &nats_env(&nats)).await;
    // A thousand visitors write once each, on both nodes; nobody is online yet.
    let mut writers = tokio::task::JoinSet::new();
    let mut conversations: Vec<String> = Vec::new();
    let ports = nodes.ports.clone();
    let widget = nodes.widget;
    for i in 0..CONVERSATIONS {
        let port = ports[i % 2];
        writers.spawn(async move {
            let url = format!("ws://127.0.0.1:{port}/api/v1/widget/{widget}/ws");
            let mut ws = Ws::connect(&url, &[("origin", common::ORIGIN)]).await.unwrap();
            ws.send(json!({"type": "hello", "v": 1})).await;
            ws.expect("welcome").await;
            ws.say(&format!("visitor {i}")).await["conversation_id"].as_str().unwrap().to_string()
        });
        while writers.len() >= 50 {
            conversations.push(writers.join_next().await.unwrap().unwrap());
        }
    }
    while let Some(c) = writers.join_next().await {
        conversations.push(c.unwrap());
    }
    assert_eq!(conversations.iter().collect::<HashSet<_>>().len(), CONVERSATIONS);

    // Ten operators with room for all, half on each node; and a supervisor
    // on each node taking the same hundred by hand while routing runs.
    let mut takers = Vec::new();
    for node in 0..2 {
        let (_, token) = nodes.employee(Role::OperatorSupervisor).await;
        let (base, wanted) = (nodes.http(node), conversations[..100].to_vec());
        takers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut took = 0;
            for id in wanted {
                let r = client.post(format!("{base}/api/v1/conversations/{id}/take")).bearer_auth(&token).send().await;
                took += usize::from(r.unwrap().status() == 200);
            }
            took
        }));
    }
    // Operators come online while the supervisors take.
    let mut operators = Vec::new();
    let mut sockets = Vec::new();
    for i in 0..10 {
        let (id, token) = nodes.employee(Role::Operator).await;
        nodes.seed.store.set_chat_limit(id, 100).await.unwrap();
        sockets.push(nodes.operator_ws(i % 2, &token).await);
        operators.push(id);
    }
    let mut took = 0;
    for t in takers {
        took += t.await.unwrap();
    }

    // Everything is assigned, each conversation by exactly one event.
    let deadline = Instant::now() + Duration::from_secs(60);
    let ledger = &nodes.seed.ledger;
    let mut per_operator: HashMap<EmployeeId, usize> = HashMap::new();
    for id in &conversations {
        let id = ostrog_domain::ids::ConversationId(uuid::Uuid::parse_str(id).unwrap());
        let assignments = loop {
            let messages = ledger.messages(id, 0, None, 100).await.unwrap();
            let assigned: Vec<EmployeeId> = messages
                .iter()
                .filter_map(|m| match &m.body {
                    ostrog_domain::message::Body::Event(ostrog_domain::message::Event::Assigned { operator }) => {
                        Some(*operator)
                    }
                    _ => None,
                })
                .collect();
            if !assigned.is_empty() || Instant::now() > deadline {
                break assigned;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(assignments.len(), 1, "conversation {id:?} was assigned exactly once: {assignments:?}");
        let c = nodes.seed.store.conversation(id).await.unwrap().unwrap();
        assert_eq!(c.operator, Some(assignments[0]), "the stored operator is the one assigned");
        *per_operator.entry(assignments[0]).or_default() += 1;
    }
    assert!(took <= 100, "of the two supervisors taking the same hundred, one won each: {took}");
    for op in &operators {
        assert!(per_operator.get(op).copied().unwrap_or(0) <= 100, "no operator is over their limit");
    }
    let routed: usize = operators.iter().map(|op| per_operator.get(op).copied().unwrap_or(0)).sum();
    assert_eq!(routed + took, CONVERSATIONS, "routing assigned the rest: {per_operator:?}, {took} taken");
    drop(sockets);
    nodes.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_bus_stopped_messages_are_stored_and_delivered_after_catching_up() {
    let mut nats = Nats::start();
    let nodes = Nodes::start(2, &nats_env(&nats)).await;
    let admin = nodes.administrator().await;
    let (_, token) = nodes.employee(Role::Operator).await;
    let (blocked, blocked_token) = nodes.employee(Role::Operator).await;
    let mut op = nodes.operator_ws(1, &token).await;
    let (mut visitor, welcome) = nodes.visitor(0).await;
    let visitor_token = welcome["token"].as_str().unwrap().to_string();
    let ack = visitor.say("before the outage").await;
    let conversation = ack["conversation_id"].as_str().unwrap().to_string();
    op.receive("before the outage").await;

    nats.stop();
    let deadline = Instant::now() + Duration::from_secs(10);
    for i in 0..2 {
        loop {
            let (status, body) = nodes.readiness(i).await;
            if status == 503 {
                assert_eq!((body["status"].as_str(), body["bus"].as_str()), (Some("bus_down"), Some("nats down")));
                break;
            }
            assert!(Instant::now() < deadline, "node {i} never reported the bus down");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Still stored while the bus is down.
    let during = visitor.say("during the outage").await;
    assert!(during["seq"].as_i64().unwrap() > ack["seq"].as_i64().unwrap());
    // Revocation still reaches the other node, from the database.
    let mut victim = nodes.operator_ws(1, &blocked_token).await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/employees/{blocked}/block", nodes.http(0)))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(victim.ended(Duration::from_secs(3)).await, Ended::Closed(Some(4001)), "revoked without the bus");

    nats.resume();
    for i in 0..2 {
        nodes.wait_ready(i, Duration::from_secs(30)).await;
    }
    // The nodes may have missed events: they ask their clients to reconnect
    // (1012), and the clients catch up from the database by sequence number.
    assert_eq!(op.ended(Duration::from_secs(10)).await, Ended::Closed(Some(1012)), "resynchronised");
    let mut seen = Seen::default();
    seen.note(&json!({"type": "message", "message": {"conversation_id": conversation, "seq": ack["seq"]}}));
    let mut op = catch_up(&nodes, 1, &token, &mut seen).await;
    op.receive("during the outage").await;
    // The visitor too, with its token, on the other node.
    let url = format!("ws://127.0.0.1:{}/api/v1/widget/{}/ws", nodes.ports[1], nodes.widget);
    let mut back = Ws::connect(&url, &[("origin", common::ORIGIN)]).await.unwrap();
    back.send(json!({"type": "hello", "v": 1, "token": visitor_token})).await;
    back.expect("welcome").await;
    back.say("after the outage").await;
    op.receive("after the outage").await;
    drop(visitor);
    nodes.stop().await;
}

/// A node alone on PostgreSQL has nobody whose events it could miss: when
/// its database connections drop (a PostgreSQL restart, a failover, an
/// administrator's `pg_terminate_backend`), the bus's listener reconnects and
/// the clients stay connected; their next message is acknowledged. (With two
/// or more nodes the same loss does close them with 1012, to catch up: see
/// `with_the_bus_stopped_messages_are_stored_and_delivered_after_catching_up`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_node_keeps_its_sockets_when_its_database_connections_drop() {
    let nodes = Nodes::start(1, &[]).await;
    let (mut visitor, _) = nodes.visitor(0).await;
    let before = visitor.say("before the database hiccup").await;

    let pool = sqlx::PgPool::connect(&nodes.url).await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(ended.iter().filter(|e| **e).count() >= 2, "the node's pool and its bus listener were cut: {ended:?}");
    pool.close().await;

    // The listener notices at once and the node's next beat comes back
    // within a couple of seconds: before the fix, this closed with 1012.
    assert_eq!(visitor.ended(Duration::from_secs(5)).await, Ended::Open, "the socket stays open");
    let log = std::fs::read_to_string(nodes.dir.join("node0.log")).unwrap();
    assert!(log.contains("the bus connection was lost"), "the node noticed the loss:\n{log}");
    let after = say_until_acked(&mut visitor, "after the database hiccup").await;
    assert_eq!(after["conversation_id"], before["conversation_id"]);
    assert!(after["seq"].as_i64() > before["seq"].as_i64());
    drop(visitor);
    nodes.stop().await;
}

/// Sends `text` under one client id until it is acknowledged, as the widget
/// does (a write can fail once while the pool replaces its dead connections).
async fn say_until_acked(ws: &mut Ws, text: &str) -> Value {
    let frame = json!({"type": "send", "client_id": uuid::Uuid::new_v4(), "text": text});
    for _ in 0..5 {
        ws.send(frame.clone()).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while let Some(v) = ws.next_frame(deadline).await {
            match v["type"].as_str() {
                Some("ack") => return v,
                Some("error") if v["client_id"] == frame["client_id"] => break,
                _ => {}
            }
        }
    }
    panic!("{text:?} was never acknowledged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_on_one_sqlite_file_is_refused_with_a_clear_message() {
    let dir = std::env::temp_dir().join(format!("ostrog-single-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("ostrog.db").display());
    let port = free_port();
    let mut first = common::serve(&dir, &url, port, &[("OSTROG_SCANNER__ENABLED", "false")]);
    wait_listening(port).await;
    let second = Command::new(env!("CARGO_BIN_EXE_ostrog"))
        .args(["--database-url", &url, "--data-dir", dir.to_str().unwrap(), "serve"])
        .env("OSTROG_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("OSTROG_SCANNER__ENABLED", "false")
        .output()
        .unwrap();
    assert!(!second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains("serves one node only") && said.contains("PostgreSQL"), "{said}");
    first.kill().unwrap();
    first.wait().unwrap();
    // Once the first is gone, the file serves again.
    let mut again = common::serve(&dir, &url, port, &[("OSTROG_SCANNER__ENABLED", "false")]);
    wait_listening(port).await;
    again.kill().unwrap();
    again.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
