//! Search mode: a stored history of `--messages` messages in
//! `--conversations` conversations, then the server's search and history
//! answers timed over HTTP, as the workplace asks for them.
//!
//! The history is written through Ostrog's own library before the server
//! starts (sealed under each visitor's key and indexed, exactly as the
//! message path writes it), because only the reads are measured. Each
//! message holds words drawn from a vocabulary by Zipf's law, so that some
//! words are in almost every conversation and others in a few; words planted
//! in exactly one conversation check that search finds what it should.

use crate::fixture::{Nodes, Prepared};
use anyhow::Context;
use hdrhistogram::Histogram;
use ostrog_domain::ids::{ConversationId, EmployeeId, MessageId, VisitorId};
use ostrog_domain::message::{Author, Body};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct SearchPlan {
    pub messages: usize,
    pub conversations: usize,
    /// Messages of the one long conversation whose latest page is timed.
    pub long_history: usize,
    /// Queries per kind and per caller.
    pub queries: usize,
    /// Leave the data folder when done, and print where it is with the
    /// callers' session tokens.
    pub keep: bool,
}

/// Words of the vocabulary; word `i` is drawn with weight 1 / (i + 1).
const VOCABULARY: usize = 5_000;
const WORDS_PER_MESSAGE: usize = 8;
/// Messages stored per call of the library, over several conversations.
const SEED_BATCH: usize = 2_000;
/// The page the workplace asks for (`limit`), for the list and the history.
const PAGE: usize = 50;
const HISTORY_PAGE: usize = 200;

/// One kind of query, timed.
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// `operator` (their own conversations) or `manager` (every conversation).
    pub caller: &'static str,
    pub kind: &'static str,
    pub queries: usize,
    /// Conversations in the answers, summed over the queries.
    pub found: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchReport {
    pub mode: &'static str,
    pub messages: usize,
    pub conversations: usize,
    pub seed_s: f64,
    pub timings: Vec<Timing>,
}

impl SearchReport {
    pub fn human(&self) -> String {
        let mut out = format!(
            "search: {} messages in {} conversations (stored in {:.0} s)\n  {:<9} {:<22} {:>7} {:>7} {:>9} {:>9} {:>9}\n",
            self.messages,
            self.conversations,
            self.seed_s,
            "caller",
            "query",
            "queries",
            "found",
            "p50 ms",
            "p99 ms",
            "max ms"
        );
        for t in &self.timings {
            out.push_str(&format!(
                "  {:<9} {:<22} {:>7} {:>7} {:>9.1} {:>9.1} {:>9.1}\n",
                t.caller, t.kind, t.queries, t.found, t.p50_ms, t.p99_ms, t.max_ms
            ));
        }
        out
    }
}

/// A pronounceable word for each number, distinct for distinct numbers
/// (two or more syllables, so that the search indexes it).
fn word(mut i: usize) -> String {
    const SYLLABLES: [&str; 25] = [
        "ka", "ro", "mi", "te", "su", "na", "lo", "pe", "vi", "du", "ze", "ba", "go", "ri", "fa", "ne", "to", "lu",
        "sa", "me", "di", "ko", "pa", "we", "ju",
    ];
    let mut w = String::new();
    for _ in 0..2 {
        w.push_str(SYLLABLES[i % 25]);
        i /= 25;
    }
    while i > 0 {
        w.push_str(SYLLABLES[i % 25]);
        i /= 25;
    }
    w
}

/// Zipf's law over the vocabulary, sampled with a seeded generator: the
/// same plan writes the same history.
struct Words {
    cumulative: Vec<f64>,
    rng: StdRng,
}

impl Words {
    fn new() -> Self {
        let mut total = 0.0;
        let cumulative = (0..VOCABULARY)
            .map(|i| {
                total += 1.0 / (i as f64 + 1.0);
                total
            })
            .collect();
        Self { cumulative, rng: StdRng::seed_from_u64(0x9E37_79B9_7F4A_7C15) }
    }

    fn below(&mut self, n: usize) -> usize {
        self.rng.gen_range(0..n)
    }

    fn rank(&mut self) -> usize {
        let x = self.rng.r#gen::<f64>() * self.cumulative[VOCABULARY - 1];
        self.cumulative.partition_point(|c| *c < x).min(VOCABULARY - 1)
    }

    fn sentence(&mut self) -> String {
        (0..WORDS_PER_MESSAGE).map(|_| word(self.rank())).collect::<Vec<_>>().join(" ")
    }
}

/// A word no generated text holds: planted in conversation `i` alone.
fn planted(i: usize) -> String {
    format!("planted{i}")
}

/// What the seeding left for the queries.
struct Seeded {
    /// The operators; conversation `i` is assigned to `operators[i % len]`.
    operators: Vec<EmployeeId>,
    /// Conversations that hold one planted word each, by the word's number.
    planted: usize,
    long: ConversationId,
}

/// Writes the history: closed conversations spread over the prepared
/// operators, the long one first, then the rest in batches.
async fn seed(prepared: &Prepared, plan: &SearchPlan) -> anyhow::Result<Seeded> {
    use ostrog_domain::conversation::State;
    use ostrog_store::{ConversationRecord, NewMessage, Source, VisitorRecord};
    let app = &prepared.app;
    let operators: Vec<EmployeeId> = prepared.operators.clone();
    anyhow::ensure!(!operators.is_empty() && plan.conversations > 0, "at least one operator and one conversation");
    let mut owners = Vec::with_capacity(plan.conversations);
    for i in 0..plan.conversations {
        let visitor = VisitorRecord {
            id: VisitorId::random(),
            source: Source::Widget(prepared.widget),
            external: None,
            created_at: app.now(),
        };
        app.store.create_visitor(&visitor, None).await?;
        let conversation = ConversationRecord {
            id: ConversationId::random(),
            visitor_id: visitor.id,
            channel: "widget".into(),
            state: State::Closed,
            operator: Some(operators[i % operators.len()]),
            last_seq: 0,
            created_at: app.now(),
            updated_at: app.now(),
        };
        app.store.create_conversation(&conversation).await?;
        owners.push((conversation.id, visitor.id));
        if i % 1_000 == 999 {
            app.store.maintain().await?;
        }
    }
    let mut words = Words::new();
    let planted_count = plan.conversations.min(1_000);
    let rest = plan.messages.saturating_sub(plan.long_history + planted_count);
    // The long conversation, then one planted word in each of the first
    // conversations, then the rest spread at random.
    let targets = std::iter::repeat_n(0, plan.long_history)
        .chain(0..planted_count)
        .chain((0..rest).map(|_| words.below(plan.conversations)))
        .collect::<Vec<_>>();
    for (n, chunk) in targets.chunks(SEED_BATCH).enumerate() {
        let batch = chunk
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let at = n * SEED_BATCH + k;
                let (conversation_id, visitor) = owners[i];
                let mut text = words.sentence();
                if (plan.long_history..plan.long_history + planted_count).contains(&at) {
                    text = format!("{text} {}", planted(i));
                }
                NewMessage {
                    id: MessageId::random(),
                    conversation_id,
                    client_key: None,
                    author: Author::Visitor(visitor),
                    body: Body::Text(text),
                    at: app.now(),
                }
            })
            .collect();
        for outcome in app.ledger.append_messages(batch).await? {
            outcome?;
        }
        // What the server does every second: without it, SQLite's
        // write-ahead log would hold the whole history.
        app.store.maintain().await?;
    }
    Ok(Seeded { operators, planted: planted_count, long: owners[0].0 })
}

/// Seeds the prepared database, starts the server on it, then times the queries.
pub async fn run(
    prepared: Prepared,
    plan: &SearchPlan,
    server_bin: &Path,
    nodes: &Nodes,
) -> anyhow::Result<SearchReport> {
    let started = Instant::now();
    let seeded = seed(&prepared, plan).await?;
    let seed_s = started.elapsed().as_secs_f64();
    let manager = prepared.employee_token(ostrog_domain::role::Role::Manager, "manager").await?;
    let operator = prepared.operator_tokens.first().cloned().context("an operator")?;
    // `server` lives until the queries are done: dropping it stops the server.
    let (fixture, server) = crate::fixture::start(prepared, server_bin, nodes).await?;
    let client = Client { authority: fixture.endpoint()?.authority };
    let callers = [("operator", &operator), ("manager", &manager)];
    // A pass that is not counted: a server in use has its caches filled.
    let warmup = SearchPlan { queries: plan.queries.min(20), ..plan.clone() };
    for (caller, token) in callers {
        for kind in KINDS {
            client.time(caller, token, kind, &warmup, &seeded).await?;
        }
    }
    let mut timings = Vec::new();
    for (caller, token) in callers {
        for kind in KINDS {
            timings.push(client.time(caller, token, kind, plan, &seeded).await?);
        }
    }
    timings.push(client.time_history(&manager, &seeded, plan).await?);
    if plan.keep
        && let Some(dir) = server.keep_data()
    {
        eprintln!("data kept in {}\noperator token {operator}\nmanager token {manager}", dir.display());
    }
    Ok(SearchReport { mode: "search", messages: plan.messages, conversations: plan.conversations, seed_s, timings })
}

/// The queries: a word in nearly every conversation, one of middling
/// frequency, rare ones, a word in one conversation, a word in none, and
/// two words together.
const KINDS: [&str; 6] = ["common word", "middling word", "rare word", "word in one", "word in none", "two words"];

impl Seeded {
    /// The `q` of query `n` of a kind.
    fn text(&self, kind: &str, n: usize) -> String {
        match kind {
            "common word" => word(0),
            "middling word" => word(100 + n % 100),
            "rare word" => word(VOCABULARY - 1 - n % 1_000),
            "word in one" => planted(n % self.planted),
            "word in none" => format!("nowhere{n}"),
            _ => format!("{} {}", word(5 + n % 10), word(1_000 + n % 100)),
        }
    }
}

struct Client {
    authority: String,
}

impl Client {
    async fn time(
        &self,
        caller: &'static str,
        token: &str,
        kind: &'static str,
        plan: &SearchPlan,
        seeded: &Seeded,
    ) -> anyhow::Result<Timing> {
        let mut histogram = Histogram::<u64>::new(3)?;
        let mut found = 0;
        for n in 0..plan.queries {
            let q = seeded.text(kind, n).replace(' ', "+");
            let path = format!("/api/v1/conversations?limit={PAGE}&q={q}");
            let (elapsed, body) = self.get(&path, token).await?;
            histogram.record(elapsed.as_micros() as u64)?;
            let count = items(&body)?;
            found += count;
            check(caller, kind, n, count, seeded)?;
        }
        Ok(timing(caller, kind, plan.queries, found, &histogram))
    }

    /// The latest page of the long conversation, as the workplace opens it.
    async fn time_history(&self, token: &str, seeded: &Seeded, plan: &SearchPlan) -> anyhow::Result<Timing> {
        let mut histogram = Histogram::<u64>::new(3)?;
        let mut found = 0;
        let path = format!("/api/v1/conversations/{}/messages?before={}&limit={HISTORY_PAGE}", seeded.long.0, i64::MAX);
        for _ in 0..plan.queries {
            let (elapsed, body) = self.get(&path, token).await?;
            histogram.record(elapsed.as_micros() as u64)?;
            found = items(&body)?;
            anyhow::ensure!(found == HISTORY_PAGE.min(plan.long_history), "a history page of {found} messages");
        }
        Ok(timing("manager", "latest history page", plan.queries, found, &histogram))
    }

    /// One `GET` on a connection of its own; the time to the whole answer.
    async fn get(&self, path: &str, token: &str) -> anyhow::Result<(Duration, Vec<u8>)> {
        let started = Instant::now();
        let head = format!("GET {path} HTTP/1.1\r\nAuthorization: Bearer {token}\r\n");
        let answer = crate::http::exchange(&self.authority, &head, &[]).await?;
        let elapsed = started.elapsed();
        anyhow::ensure!(answer.status() == 200, "GET {path}: {}", answer.head);
        Ok((elapsed, answer.body))
    }
}

fn items(body: &[u8]) -> anyhow::Result<usize> {
    let value: serde_json::Value = serde_json::from_slice(body).context("a JSON answer")?;
    value["items"].as_array().map(Vec::len).context("an answer without items")
}

/// What each query must find: the bench measures correct answers only.
fn check(caller: &str, kind: &str, n: usize, count: usize, seeded: &Seeded) -> anyhow::Result<()> {
    let expected = match (caller, kind) {
        (_, "word in none") => Some(0),
        ("manager", "word in one") => Some(1),
        // The operator owns the planted conversations numbered like them.
        ("operator", "word in one") => Some(usize::from((n % seeded.planted).is_multiple_of(seeded.operators.len()))),
        ("manager", "common word") => Some(PAGE),
        _ => None,
    };
    match expected {
        Some(e) if e != count => anyhow::bail!("{caller} searching ({kind}, query {n}) found {count}, not {e}"),
        _ => Ok(()),
    }
}

fn timing(caller: &'static str, kind: &'static str, queries: usize, found: usize, h: &Histogram<u64>) -> Timing {
    let ms = |us: u64| us as f64 / 1000.0;
    Timing {
        caller,
        kind,
        queries,
        found,
        p50_ms: ms(h.value_at_quantile(0.5)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        max_ms: ms(h.max()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_distinct_and_searchable() {
        let words: std::collections::HashSet<String> = (0..VOCABULARY).map(word).collect();
        assert_eq!(words.len(), VOCABULARY);
        assert!(words.iter().all(|w| w.len() >= 4 && w.chars().all(|c| c.is_ascii_lowercase())));
        assert!(!words.iter().any(|w| w.starts_with("planted") || w.starts_with("nowhere")));
    }

    #[test]
    fn zipf_puts_the_first_word_far_ahead_of_the_last() {
        let mut words = Words::new();
        let mut counts = vec![0usize; VOCABULARY];
        for _ in 0..200_000 {
            counts[words.rank()] += 1;
        }
        // Weight 1 against 1/5000: about 22,000 draws against 4.
        assert!(counts[0] > 15_000, "{}", counts[0]);
        assert!(counts[VOCABULARY - 1] < 50, "{}", counts[VOCABULARY - 1]);
        assert!(counts[100] > 100 && counts[100] < 400, "{}", counts[100]);
    }
}
