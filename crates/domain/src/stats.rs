//! Conversation statistics, computed from stored events rather than kept as
//! counters, so that a report for any period and channel can be recomputed
//! and every figure traced back to the events that made it.
//!
//! These are the product's definitions; the reports, the CSV export and the
//! help pages all mean exactly this:
//!
//! - An *episode* is the span from `Opened` to the next `Closed`. A reopened
//!   conversation starts a new episode. An episode *belongs to the period* if
//!   its `Opened` is inside the period (half-open `[from, to)`), and to a
//!   channel by the channel of its `Opened` event.
//! - **received**: episodes opened in the period.
//! - **answered**: of those, episodes with at least one employee message.
//! - **missed**: of those, episodes closed without any employee message
//!   (an unanswered episode that is still open is neither answered nor missed).
//! - **closed**: episodes whose `Closed` is in the period, wherever they opened.
//! - **first response time**: the first employee message after the episode's
//!   first client message, minus that client message; averaged over the
//!   answered episodes opened in the period.
//! - **response time**: for every run of client messages, the time from the
//!   run's first message to the next employee message; averaged over all such
//!   pairs in the episodes opened in the period. A run nobody answered yet
//!   has no pair.
//! - **time to close**: `Closed − Opened`, averaged over the episodes closed
//!   in the period.
//! - **rating**: the average of the ratings of the episodes closed in the
//!   period, and how many there are. A client who rates twice replaces the
//!   first rating; values outside 1..=5 are ignored.
//!
//! Averages are in milliseconds, rounded to the nearest one, and `None` when
//! there is nothing to average.
//!
//! Per operator: an episode's counts, time to close and rating go to the
//! operator assigned when it closed (or now, if it is still open); episodes
//! never assigned count only in the totals. Response times go to the employee
//! who wrote the reply, since that is whose speed they measure.
//!
//! Figures describe the whole story of an episode as far as the events given
//! reach: an episode opened in the period and answered after it counts as
//! answered. Events outside an episode are ignored, except a rating (it
//! belongs to the episode just closed) and a client message stored just
//! before the `Opened` it caused (it is the reopened episode's first message).

use crate::clock::Millis;
use crate::ids::{ConversationId, EmployeeId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One stored fact about a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub conversation: ConversationId,
    pub channel: String,
    pub at: Millis,
    pub what: What,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// The conversation entered the queue (first client message, or reopened).
    Opened,
    /// The client (visitor) wrote.
    ClientMessage,
    /// An employee wrote a text reply; internal notes are not events here.
    EmployeeMessage(EmployeeId),
    /// Routing or taking assigned it.
    Assigned(EmployeeId),
    Transferred {
        from: EmployeeId,
        to: EmployeeId,
    },
    Closed,
    /// 1..=5, given after closing.
    Rated(u8),
}

/// The reported period, half-open: `from` is in it, `to` is not, so that
/// consecutive days neither overlap nor leave a gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: Millis,
    pub to: Millis,
}

impl Period {
    pub fn contains(self, at: Millis) -> bool {
        self.from <= at && at < self.to
    }
}

/// The figures of one scope (everyone, or one operator); see the module
/// documentation for what each means.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Figures {
    pub received: u64,
    pub answered: u64,
    pub missed: u64,
    pub closed: u64,
    pub first_response_ms: Option<i64>,
    pub response_ms: Option<i64>,
    pub close_ms: Option<i64>,
    pub rating: Option<f64>,
    pub ratings: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Report {
    pub total: Figures,
    pub per_operator: BTreeMap<EmployeeId, Figures>,
}

/// The statistics of `period`, optionally for one channel only. `events`
/// may hold any conversations in any interleaving, as long as each
/// conversation's own events are in the order they happened.
pub fn report(events: &[Event], period: Period, channel: Option<&str>) -> Report {
    let mut conversations: BTreeMap<ConversationId, Track<'_>> = BTreeMap::new();
    for event in events {
        conversations.entry(event.conversation).or_default().apply(event);
    }
    let mut total = Tally::default();
    let mut per_operator: BTreeMap<EmployeeId, Tally> = BTreeMap::new();
    let episodes = conversations.into_values().flat_map(Track::into_episodes);
    for episode in episodes.filter(|e| channel.is_none_or(|c| e.channel == c)) {
        count(&episode, period, &mut total, &mut per_operator);
    }
    Report {
        total: total.figures(),
        per_operator: per_operator.into_iter().map(|(op, tally)| (op, tally.figures())).collect(),
    }
}

/// Adds one episode's contribution to the totals and to the operators'.
fn count(episode: &Episode<'_>, period: Period, total: &mut Tally, per: &mut BTreeMap<EmployeeId, Tally>) {
    if period.contains(episode.opened) {
        total.receive(episode);
        if let Some(op) = episode.operator {
            per.entry(op).or_default().receive(episode);
        }
        for (i, &(who, ms)) in episode.replies.iter().enumerate() {
            total.reply(ms, i == 0);
            per.entry(who).or_default().reply(ms, i == 0);
        }
    }
    if let Some(closed) = episode.closed.filter(|&at| period.contains(at)) {
        let ms = closed.saturating_sub(episode.opened);
        total.close(ms, episode.rating);
        if let Some(op) = episode.operator {
            per.entry(op).or_default().close(ms, episode.rating);
        }
    }
}

/// One conversation's episodes, built event by event.
#[derive(Default)]
struct Track<'a> {
    open: Option<Episode<'a>>,
    done: Vec<Episode<'a>>,
    /// A client message outside an episode, waiting for the `Opened` it causes.
    waiting: Option<Millis>,
}

impl<'a> Track<'a> {
    fn apply(&mut self, event: &'a Event) {
        let at = event.at;
        match (self.open.as_mut(), event.what) {
            (Some(_), What::Closed) => self.close(at),
            (Some(episode), what) => episode.apply(at, what),
            (None, What::Opened) => self.open(event),
            (None, What::ClientMessage) => {
                self.waiting.get_or_insert(at);
            }
            (None, What::Rated(stars)) => {
                if let Some(episode) = self.done.last_mut() {
                    episode.rate(stars);
                }
            }
            (None, _) => {}
        }
    }

    fn open(&mut self, event: &'a Event) {
        let mut episode = Episode::new(&event.channel, event.at);
        if let Some(at) = self.waiting.take() {
            episode.apply(at, What::ClientMessage);
        }
        self.open = Some(episode);
    }

    fn close(&mut self, at: Millis) {
        if let Some(mut episode) = self.open.take() {
            episode.closed = Some(at);
            self.done.push(episode);
        }
    }

    fn into_episodes(self) -> impl Iterator<Item = Episode<'a>> {
        self.done.into_iter().chain(self.open)
    }
}

struct Episode<'a> {
    channel: &'a str,
    opened: Millis,
    closed: Option<Millis>,
    /// Assigned now, or when the episode closed.
    operator: Option<EmployeeId>,
    answered: bool,
    /// Start of the client messages not answered yet.
    run_start: Option<Millis>,
    /// Who answered each run, and how long it took; the first is the first
    /// response, because the first run starts at the first client message.
    replies: Vec<(EmployeeId, i64)>,
    rating: Option<u8>,
}

impl<'a> Episode<'a> {
    fn new(channel: &'a str, opened: Millis) -> Self {
        Episode {
            channel,
            opened,
            closed: None,
            operator: None,
            answered: false,
            run_start: None,
            replies: Vec::new(),
            rating: None,
        }
    }

    fn apply(&mut self, at: Millis, what: What) {
        match what {
            What::ClientMessage => {
                self.run_start.get_or_insert(at);
            }
            What::EmployeeMessage(who) => {
                self.answered = true;
                if let Some(start) = self.run_start.take() {
                    self.replies.push((who, at.saturating_sub(start)));
                }
            }
            What::Assigned(op) | What::Transferred { to: op, .. } => self.operator = Some(op),
            // Already open; closing is the track's business; ratings come after closing.
            What::Opened | What::Closed | What::Rated(_) => {}
        }
    }

    fn rate(&mut self, stars: u8) {
        if (1..=5).contains(&stars) {
            self.rating = Some(stars);
        }
    }
}

/// An average being accumulated, without overflow.
#[derive(Default)]
struct Mean {
    sum: i128,
    n: u64,
}

impl Mean {
    fn add(&mut self, value: i64) {
        self.sum = self.sum.saturating_add(i128::from(value));
        self.n = self.n.saturating_add(1);
    }

    /// Rounded to the nearest millisecond, halves up.
    fn get(&self) -> Option<i64> {
        let n = i128::from(self.n);
        (n > 0).then(|| {
            let rounded = self.sum.saturating_mul(2).saturating_add(n).div_euclid(2 * n);
            i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX })
        })
    }
}

#[derive(Default)]
struct Tally {
    received: u64,
    answered: u64,
    missed: u64,
    closed: u64,
    first_response: Mean,
    response: Mean,
    close: Mean,
    rating_sum: u64,
    ratings: u64,
}

impl Tally {
    fn receive(&mut self, episode: &Episode<'_>) {
        self.received += 1;
        if episode.answered {
            self.answered += 1;
        } else if episode.closed.is_some() {
            self.missed += 1;
        }
    }

    fn reply(&mut self, ms: i64, first: bool) {
        if first {
            self.first_response.add(ms);
        }
        self.response.add(ms);
    }

    fn close(&mut self, ms: i64, rating: Option<u8>) {
        self.closed += 1;
        self.close.add(ms);
        if let Some(stars) = rating {
            self.rating_sum += u64::from(stars);
            self.ratings += 1;
        }
    }

    fn figures(&self) -> Figures {
        // Exact: both are far below 2^53.
        let rating = (self.ratings > 0).then(|| self.rating_sum as f64 / self.ratings as f64);
        Figures {
            received: self.received,
            answered: self.answered,
            missed: self.missed,
            closed: self.closed,
            first_response_ms: self.first_response.get(),
            response_ms: self.response.get(),
            close_ms: self.close.get(),
            rating,
            ratings: self.ratings,
        }
    }
}

pub const CSV_HEADER: &str =
    "scope,operator_id,received,answered,missed,closed,first_response_ms,response_ms,close_ms,rating,ratings";

/// The report as CSV: the header, then the totals row if `include_total`,
/// then one row per operator in `operators`, in that order. An operator
/// without figures gets a row of zeros, so an operator asking for their own
/// figures always sees their row. The caller picks the scope its
/// permissions allow: own row only, totals only, or everything.
pub fn to_csv(report: &Report, include_total: bool, operators: &[EmployeeId]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    if include_total {
        push_row(&mut out, "total", "", &report.total);
    }
    let zero = Figures::default();
    for op in operators {
        push_row(&mut out, "operator", &op.to_string(), report.per_operator.get(op).unwrap_or(&zero));
    }
    out
}

/// Only numbers and UUIDs go in, so no cell needs quoting.
fn push_row(out: &mut String, scope: &str, operator: &str, f: &Figures) {
    let cell = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let cells = [
        scope.to_string(),
        operator.to_string(),
        f.received.to_string(),
        f.answered.to_string(),
        f.missed.to_string(),
        f.closed.to_string(),
        cell(f.first_response_ms),
        cell(f.response_ms),
        cell(f.close_ms),
        f.rating.map(|r| format!("{r:.2}")).unwrap_or_default(),
        f.ratings.to_string(),
    ];
    out.push_str(&cells.join(","));
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{HOUR, MINUTE};
    use uuid::Uuid;

    const DAY_START: Millis = 1_700_006_400_000;
    const DAY: Period = Period { from: DAY_START, to: DAY_START + 24 * HOUR };

    fn at(hour: i64, minute: i64) -> Millis {
        DAY_START + hour * HOUR + minute * MINUTE
    }

    fn employee(n: u128) -> EmployeeId {
        EmployeeId(Uuid::from_u128(n))
    }

    /// Collects a conversation's events in order.
    struct Script {
        events: Vec<Event>,
    }

    impl Script {
        fn conversation(&mut self, n: u128, channel: &str, steps: &[(Millis, What)]) {
            let conversation = ConversationId(Uuid::from_u128(n));
            for &(at, what) in steps {
                self.events.push(Event { conversation, channel: channel.to_string(), at, what });
            }
        }
    }

    fn min(minutes: i64) -> Option<i64> {
        Some(minutes * MINUTE)
    }

    /// The scripted day: operators A, B and C; every figure below is worked
    /// out by hand in the comments.
    fn day() -> (Vec<Event>, [EmployeeId; 3]) {
        use What::*;
        let (a, b, c) = (employee(0xA), employee(0xB), employee(0xC));
        let mut s = Script { events: Vec::new() };
        // 1: A answers in 2 min, then a run of two messages in 3 min; closed after 20 min, rated 5.
        s.conversation(
            1,
            "web",
            &[
                (at(9, 0), Opened),
                (at(9, 0), ClientMessage),
                (at(9, 1), Assigned(a)),
                (at(9, 2), EmployeeMessage(a)),
                (at(9, 5), ClientMessage),
                (at(9, 6), ClientMessage),
                (at(9, 8), EmployeeMessage(a)),
                (at(9, 20), Closed),
                (at(9, 21), Rated(5)),
            ],
        );
        // 2: A answers in 4 min, transfers to B, B answers in 1 min; B's at close: 30 min, rated 3.
        s.conversation(
            2,
            "web",
            &[
                (at(10, 0), Opened),
                (at(10, 0), ClientMessage),
                (at(10, 0), Assigned(a)),
                (at(10, 4), EmployeeMessage(a)),
                (at(10, 10), Transferred { from: a, to: b }),
                (at(10, 11), ClientMessage),
                (at(10, 12), EmployeeMessage(b)),
                (at(10, 30), Closed),
                (at(10, 31), Rated(3)),
            ],
        );
        // 3: missed by C on telegram, closed after 40 min.
        s.conversation(
            3,
            "telegram",
            &[
                (at(11, 0), Opened),
                (at(11, 0), ClientMessage),
                (at(11, 2), ClientMessage),
                (at(11, 3), Assigned(c)),
                (at(11, 40), Closed),
            ],
        );
        // 4: B's episode (6 min, closed after 10, rated 4); reopened by a
        // message stored before its Opened, then A's episode (5 min and
        // 1 min, closed after 15, not rated).
        s.conversation(
            4,
            "web",
            &[
                (at(12, 0), Opened),
                (at(12, 0), ClientMessage),
                (at(12, 1), Assigned(b)),
                (at(12, 6), EmployeeMessage(b)),
                (at(12, 10), Closed),
                (at(12, 11), Rated(4)),
                (at(13, 0), ClientMessage),
                (at(13, 0), Opened),
                (at(13, 2), Assigned(a)),
                (at(13, 5), EmployeeMessage(a)),
                (at(13, 7), ClientMessage),
                (at(13, 8), EmployeeMessage(a)),
                (at(13, 15), Closed),
            ],
        );
        // 5: opened the day before, closed today by A after 30 min, rated 1:
        // counts as closed (and its rating) but not as received or for response times.
        s.conversation(
            5,
            "web",
            &[
                (at(0, -10), Opened),
                (at(0, -10), ClientMessage),
                (at(0, -9), Assigned(a)),
                (at(0, -5), EmployeeMessage(a)),
                (at(0, 20), Closed),
                (at(0, 21), Rated(1)),
            ],
        );
        // 6: still open and unassigned: received, in the totals only.
        s.conversation(6, "web", &[(at(23, 0), Opened), (at(23, 0), ClientMessage)]);
        // 7: the next day, not in the period at all.
        s.conversation(
            7,
            "web",
            &[
                (at(24, 1), Opened),
                (at(24, 1), ClientMessage),
                (at(24, 2), Assigned(a)),
                (at(24, 3), EmployeeMessage(a)),
                (at(24, 4), Closed),
                (at(24, 5), Rated(2)),
            ],
        );
        // 8: still open with C, answered in 3 min, last message unanswered.
        s.conversation(
            8,
            "web",
            &[
                (at(22, 0), Opened),
                (at(22, 0), ClientMessage),
                (at(22, 1), Assigned(c)),
                (at(22, 3), EmployeeMessage(c)),
                (at(22, 5), ClientMessage),
            ],
        );
        (s.events, [a, b, c])
    }

    #[test]
    fn totals_of_the_scripted_day() {
        let (events, _) = day();
        let r = report(&events, DAY, None);
        let expected = Figures {
            // 1, 2, 3, 4a, 4b, 6, 8
            received: 7,
            // 1, 2, 4a, 4b, 8
            answered: 5,
            // 3
            missed: 1,
            // 1, 2, 3, 4a, 4b, 5
            closed: 6,
            // (2 + 4 + 6 + 5 + 3) / 5
            first_response_ms: min(4),
            // (2 + 3 + 4 + 1 + 6 + 5 + 1 + 3) / 8 = 3.125 min
            response_ms: Some(187_500),
            // (20 + 30 + 40 + 10 + 15 + 30) / 6 = 24 min 10 s
            close_ms: Some(1_450_000),
            // (5 + 3 + 4 + 1) / 4
            rating: Some(3.25),
            ratings: 4,
        };
        assert_eq!(r.total, expected);
    }

    #[test]
    fn per_operator_figures_of_the_scripted_day() {
        let (events, [a, b, c]) = day();
        let r = report(&events, DAY, None);
        assert_eq!(r.per_operator.keys().copied().collect::<Vec<_>>(), vec![a, b, c]);
        let for_a = Figures {
            // 1, 4b
            received: 2,
            answered: 2,
            missed: 0,
            // 1, 4b, 5
            closed: 3,
            // first replies in 1, 2 (before the transfer) and 4b: (2 + 4 + 5) / 3
            first_response_ms: Some(220_000),
            // (2 + 3 + 4 + 5 + 1) / 5
            response_ms: min(3),
            // (20 + 15 + 30) / 3
            close_ms: Some(1_300_000),
            // (5 + 1) / 2
            rating: Some(3.0),
            ratings: 2,
        };
        let for_b = Figures {
            // 2 (transferred to B), 4a
            received: 2,
            answered: 2,
            missed: 0,
            closed: 2,
            // 4a only: in 2, A replied first
            first_response_ms: min(6),
            // (1 + 6) / 2
            response_ms: Some(210_000),
            // (30 + 10) / 2
            close_ms: min(20),
            // (3 + 4) / 2
            rating: Some(3.5),
            ratings: 2,
        };
        let for_c = Figures {
            // 3, 8
            received: 2,
            answered: 1,
            missed: 1,
            closed: 1,
            first_response_ms: min(3),
            response_ms: min(3),
            close_ms: min(40),
            rating: None,
            ratings: 0,
        };
        assert_eq!(r.per_operator.get(&a), Some(&for_a));
        assert_eq!(r.per_operator.get(&b), Some(&for_b));
        assert_eq!(r.per_operator.get(&c), Some(&for_c));
    }

    #[test]
    fn a_channel_filter_keeps_only_that_channel() {
        let (events, [_, _, c]) = day();
        let r = report(&events, DAY, Some("telegram"));
        let missed = Figures { received: 1, missed: 1, closed: 1, close_ms: min(40), ..Figures::default() };
        assert_eq!(r.total, missed);
        assert_eq!(r.per_operator.into_iter().collect::<Vec<_>>(), vec![(c, missed)]);

        let web = report(&events, DAY, Some("web"));
        assert_eq!((web.total.received, web.total.answered, web.total.missed, web.total.closed), (6, 5, 0, 5));
        assert_eq!(report(&events, DAY, Some("email")), Report::default());
    }

    #[test]
    fn the_interleaving_of_conversations_does_not_matter() {
        let (mut events, _) = day();
        let sorted = report(&events, DAY, None);
        events.sort_by_key(|e| e.at); // stable: each conversation keeps its order
        assert_eq!(report(&events, DAY, None), sorted);
    }

    #[test]
    fn odd_events_are_tolerated() {
        use What::*;
        let a = employee(1);
        let mut s = Script { events: Vec::new() };
        s.conversation(
            1,
            "web",
            &[
                (at(1, 0), EmployeeMessage(a)), // before any episode: ignored
                (at(1, 1), Opened),
                (at(1, 1), Opened),             // duplicate: ignored
                (at(1, 2), EmployeeMessage(a)), // answered, but nothing to respond to yet
                (at(1, 3), ClientMessage),
                (at(1, 3), Rated(5)), // before closing: ignored
                (at(1, 4), Closed),
                (at(1, 5), Rated(9)), // out of range: ignored
                (at(1, 6), Rated(2)),
                (at(1, 7), Rated(4)), // replaces the 2
            ],
        );
        let r = report(&s.events, DAY, None);
        let expected = Figures {
            received: 1,
            answered: 1,
            closed: 1,
            close_ms: min(3),
            rating: Some(4.0),
            ratings: 1,
            ..Default::default()
        };
        assert_eq!(r.total, expected);
        assert_eq!(r.per_operator, BTreeMap::new(), "never assigned, and no reply to a client message");
    }

    #[test]
    fn averages_round_to_the_nearest_millisecond() {
        let mut m = Mean::default();
        assert_eq!(m.get(), None);
        m.add(1);
        m.add(2);
        assert_eq!(m.get(), Some(2));
        m.add(0);
        assert_eq!(m.get(), Some(1));
    }

    fn small_report() -> (Report, EmployeeId, EmployeeId) {
        let (a, b) = (employee(0xA), employee(0xB));
        let total = Figures {
            received: 3,
            answered: 2,
            missed: 1,
            closed: 3,
            first_response_ms: Some(120_000),
            response_ms: Some(90_500),
            close_ms: Some(600_000),
            rating: Some(10.0 / 3.0),
            ratings: 3,
        };
        let own = Figures { received: 1, missed: 1, closed: 1, close_ms: Some(5), ..Figures::default() };
        (Report { total, per_operator: BTreeMap::from([(a, own)]) }, a, b)
    }

    #[test]
    fn csv_of_everything() {
        let (r, a, b) = small_report();
        let expected = "\
scope,operator_id,received,answered,missed,closed,first_response_ms,response_ms,close_ms,rating,ratings
total,,3,2,1,3,120000,90500,600000,3.33,3
operator,00000000-0000-0000-0000-00000000000a,1,0,1,1,,,5,,0
operator,00000000-0000-0000-0000-00000000000b,0,0,0,0,,,,,0
";
        assert_eq!(to_csv(&r, true, &[a, b]), expected);
    }

    #[test]
    fn csv_of_own_figures_or_totals_only() {
        let (r, a, _) = small_report();
        let own = "\
scope,operator_id,received,answered,missed,closed,first_response_ms,response_ms,close_ms,rating,ratings
operator,00000000-0000-0000-0000-00000000000a,1,0,1,1,,,5,,0
";
        assert_eq!(to_csv(&r, false, &[a]), own);
        let totals = "\
scope,operator_id,received,answered,missed,closed,first_response_ms,response_ms,close_ms,rating,ratings
total,,3,2,1,3,120000,90500,600000,3.33,3
";
        assert_eq!(to_csv(&r, true, &[]), totals);
    }

    #[test]
    fn the_period_is_half_open() {
        assert!(DAY.contains(DAY_START));
        assert!(!DAY.contains(DAY_START + 24 * HOUR));
        assert!(!DAY.contains(DAY_START - 1));
    }
}
