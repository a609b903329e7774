//! Routing rules: what happens to a conversation as it starts, decided from
//! what is known then (where it came from, the page, the language, the
//! first message, whether the visitor signed in). Rules are checked in
//! order and the first one that matches decides: a team, labels, a
//! priority. One rule decides so that the dry-run can name it, and the
//! person ordering the rules sees the outcome without adding effects up.

use crate::error::DomainError;
use crate::ids::{ChannelId, LabelId, TeamId, WidgetId};
use crate::language::Language;
use serde::{Deserialize, Serialize};

/// Rules an installation may have.
pub const MAX_RULES: usize = 100;
pub const MAX_NAME: usize = 80;
/// Entries of one list condition (sources, words…) at most.
pub const MAX_ENTRIES: usize = 50;
/// Characters of one word, phrase or address fragment at most.
pub const MAX_TEXT: usize = 200;
/// The channel kinds a conversation starts through.
pub const CHANNELS: [&str; 4] = ["widget", "telegram", "vk", "webhook"];

/// Where a conversation came from: one of the widgets or connected channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    Widget(WidgetId),
    Channel(ChannelId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    Normal,
    /// Routed before every normal conversation, whatever their wait.
    High,
}

/// What a rule asks of a starting conversation: each condition given must
/// hold; a rule with none matches every conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Channel kinds (`widget`, `telegram`, `vk`, `webhook`); any of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    /// Particular widgets or channels; any of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
    /// Part of the page address the visitor writes from, without regard
    /// to case (`/checkout`, `shop.example.ru`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_contains: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<Language>,
    /// Words or phrases in the first message, any of them, as whole words
    /// without regard to case; a trailing `*` matches any ending
    /// (`возврат*` also finds "возврата", "возвратом").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<String>,
    /// Whether the visitor came with an identity the company's site signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<bool>,
}

/// What a matching rule does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<TeamId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<LabelId>,
    #[serde(default)]
    pub priority: Priority,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    #[serde(default = "enabled")]
    pub enabled: bool,
    #[serde(default)]
    pub when: Conditions,
    #[serde(default)]
    pub then: Actions,
}

fn enabled() -> bool {
    true
}

/// What is known of a conversation as it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Start {
    /// The channel kind: `widget`, `telegram`, `vk` or `webhook`.
    pub channel: String,
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default)]
    pub page: Option<String>,
    #[serde(default)]
    pub language: Option<Language>,
    /// The first message's text.
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub signed: bool,
}

/// How one rule fared against a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "condition")]
pub enum Verdict {
    Matched,
    Disabled,
    /// The first condition that did not hold, by its field name.
    Failed(&'static str),
}

impl Start {
    /// A start through `channel` with nothing else known.
    pub fn through(channel: &str) -> Start {
        Start { channel: channel.into(), source: None, page: None, language: None, text: String::new(), signed: false }
    }
}

impl Rule {
    /// Trims and checks every field; the team and labels named are checked
    /// against the catalogues by the caller.
    pub fn validated(mut self) -> Result<Rule, DomainError> {
        self.name = self.name.split_whitespace().collect::<Vec<_>>().join(" ");
        if !(1..=MAX_NAME).contains(&self.name.chars().count()) || self.name.chars().any(char::is_control) {
            return Err(DomainError::Invalid("name"));
        }
        let w = &mut self.when;
        dedup_checked(&mut w.channels, "channels", |c| CHANNELS.contains(&c.as_str()))?;
        dedup_checked(&mut w.sources, "sources", |_| true)?;
        dedup_checked(&mut w.languages, "languages", |_| true)?;
        w.words = w.words.iter().map(|x| normalized(x)).collect();
        dedup_checked(&mut w.words, "words", |x| text_ok(x) && !tokens(x.trim_end_matches('*')).is_empty())?;
        if let Some(p) = &w.page_contains {
            let p = p.trim().to_lowercase();
            if !text_ok(&p) {
                return Err(DomainError::Invalid("page_contains"));
            }
            w.page_contains = Some(p);
        }
        dedup_checked(&mut self.then.labels, "labels", |_| true)?;
        if self.then.labels.len() > crate::label::MAX_PER_CONVERSATION {
            return Err(DomainError::Invalid("labels"));
        }
        Ok(self)
    }

    pub fn check(&self, start: &Start) -> Verdict {
        if !self.enabled {
            return Verdict::Disabled;
        }
        let w = &self.when;
        let failed = if !w.channels.is_empty() && !w.channels.contains(&start.channel) {
            Some("channels")
        } else if !w.sources.is_empty() && !start.source.is_some_and(|s| w.sources.contains(&s)) {
            Some("sources")
        } else if w.page_contains.as_ref().is_some_and(|p| !page_has(start.page.as_deref(), p)) {
            Some("page_contains")
        } else if !w.languages.is_empty() && !start.language.is_some_and(|l| w.languages.contains(&l)) {
            Some("languages")
        } else if !w.words.is_empty() && !has_any_word(&start.text, &w.words) {
            Some("words")
        } else if w.signed.is_some_and(|s| s != start.signed) {
            Some("signed")
        } else {
            None
        };
        failed.map_or(Verdict::Matched, Verdict::Failed)
    }
}

/// The first rule that matches `start`, by its position.
pub fn first_match(rules: &[Rule], start: &Start) -> Option<usize> {
    rules.iter().position(|r| r.check(start) == Verdict::Matched)
}

/// Checks a whole rule list: each rule, and their number.
pub fn validated(rules: Vec<Rule>) -> Result<Vec<Rule>, DomainError> {
    if rules.len() > MAX_RULES {
        return Err(DomainError::Invalid("rules"));
    }
    rules.into_iter().map(Rule::validated).collect()
}

fn dedup_checked<T: PartialEq>(
    list: &mut Vec<T>,
    field: &'static str,
    ok: impl Fn(&T) -> bool,
) -> Result<(), DomainError> {
    if list.len() > MAX_ENTRIES || !list.iter().all(ok) {
        return Err(DomainError::Invalid(field));
    }
    let mut seen: Vec<T> = Vec::with_capacity(list.len());
    for x in list.drain(..) {
        if !seen.contains(&x) {
            seen.push(x);
        }
    }
    *list = seen;
    Ok(())
}

fn text_ok(s: &str) -> bool {
    (1..=MAX_TEXT).contains(&s.chars().count()) && !s.chars().any(char::is_control)
}

/// A word or phrase as matched: lowercase, single spaces.
fn normalized(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The words of a text as search sees them: lowercase letters and digits.
fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

fn page_has(page: Option<&str>, part: &str) -> bool {
    page.is_some_and(|p| p.to_lowercase().contains(part))
}

/// Whether one of `phrases` occurs in `text` as whole words in a row (the
/// last one as a prefix when the phrase ends in `*`).
fn has_any_word(text: &str, phrases: &[String]) -> bool {
    let words = tokens(text);
    phrases.iter().any(|phrase| {
        let prefix = phrase.ends_with('*');
        let wanted = tokens(phrase.trim_end_matches('*'));
        let Some((last, rest)) = wanted.split_last() else { return false };
        words.windows(wanted.len()).any(|w| {
            let (got_last, got_rest) = (&w[wanted.len() - 1], &w[..wanted.len() - 1]);
            got_rest == rest && if prefix { got_last.starts_with(last.as_str()) } else { got_last == last }
        })
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule(when: Conditions) -> Rule {
        Rule { name: "r".into(), enabled: true, when, then: Actions::default() }.validated().unwrap()
    }

    fn start(text: &str) -> Start {
        Start {
            channel: "widget".into(),
            source: None,
            page: Some("https://shop.example.ru/Checkout/pay".into()),
            language: Some(Language::Ru),
            text: text.into(),
            signed: false,
        }
    }

    #[test]
    fn words_match_whole_words_phrases_and_prefixes_without_case() {
        let r = rule(Conditions {
            words: vec!["  Возврат* ".into(), "не пришёл".into()], ..Default::default()
        });
        assert_eq!(r.when.words, vec!["возврат*", "не пришёл"]);
        assert_eq!(r.check(&start("Хочу оформить ВОЗВРАТА товара")), Verdict::Matched);
        assert_eq!(r.check(&start("Заказ не пришёл, помогите")), Verdict::Matched);
        assert_eq!(r.check(&start("Заказ не  пришёл.")), Verdict::Matched);
        assert_eq!(r.check(&start("Заказ не пришёлся")), Verdict::Failed("words"));
        assert_eq!(r.check(&start("невозврат")), Verdict::Failed("words"));
        let exact = rule(Conditions { words: vec!["оплата".into()], ..Default::default() });
        assert_eq!(exact.check(&start("оплатами")), Verdict::Failed("words"));
    }

    #[test]
    fn every_condition_given_must_hold_and_the_first_failing_is_named() {
        let widget = WidgetId::random();
        let r = rule(Conditions {
            channels: vec!["widget".into()],
            sources: vec![Source::Widget(widget)],
            page_contains: Some("/CHECKOUT".into()),
            languages: vec![Language::Ru],
            signed: Some(true),
            ..Default::default()
        });
        let mut s = Start { source: Some(Source::Widget(widget)), signed: true, ..start("") };
        assert_eq!(r.check(&s), Verdict::Matched, "the page is compared without case");
        s.signed = false;
        assert_eq!(r.check(&s), Verdict::Failed("signed"));
        s.language = None;
        assert_eq!(r.check(&s), Verdict::Failed("languages"), "an unknown language does not match");
        s.page = None;
        assert_eq!(r.check(&s), Verdict::Failed("page_contains"));
        s.source = Some(Source::Channel(ChannelId::random()));
        assert_eq!(r.check(&s), Verdict::Failed("sources"));
        s.channel = "telegram".into();
        assert_eq!(r.check(&s), Verdict::Failed("channels"));
    }

    #[test]
    fn the_first_enabled_match_decides() {
        let mut off = rule(Conditions::default());
        off.enabled = false;
        let words = rule(Conditions { words: vec!["оплата".into()], ..Default::default() });
        let any = rule(Conditions::default());
        let rules = [off.clone(), words, any];
        assert_eq!(off.check(&start("")), Verdict::Disabled);
        assert_eq!(first_match(&rules, &start("вопрос про оплата")), Some(1));
        assert_eq!(first_match(&rules, &start("привет")), Some(2));
        assert_eq!(first_match(&rules[..2], &start("привет")), None);
    }

    #[test]
    fn bad_rules_name_their_field() {
        let bad = |when: Conditions| {
            Rule { name: "r".into(), enabled: true, when, then: Actions::default() }.validated().unwrap_err()
        };
        assert_eq!(
            bad(Conditions { channels: vec!["fax".into()], ..Default::default() }),
            DomainError::Invalid("channels")
        );
        assert_eq!(bad(Conditions { words: vec!["***".into()], ..Default::default() }), DomainError::Invalid("words"));
        assert_eq!(
            bad(Conditions { words: vec!["w".repeat(MAX_TEXT + 1)], ..Default::default() }),
            DomainError::Invalid("words")
        );
        assert_eq!(
            bad(Conditions { page_contains: Some(" ".into()), ..Default::default() }),
            DomainError::Invalid("page_contains")
        );
        let nameless = Rule { name: " ".into(), enabled: true, when: Conditions::default(), then: Actions::default() };
        assert_eq!(nameless.validated().unwrap_err(), DomainError::Invalid("name"));
        let many = vec![rule(Conditions::default()); MAX_RULES + 1];
        assert_eq!(validated(many).unwrap_err(), DomainError::Invalid("rules"));
    }

    #[test]
    fn rules_read_strictly() {
        let json = r#"{"name":"Оплата","when":{"words":["оплат*"]},"then":{"priority":"high"}}"#;
        let r: Rule = serde_json::from_str(json).unwrap();
        assert!(r.enabled && r.then.priority == Priority::High);
        assert!(serde_json::from_str::<Rule>(r#"{"name":"x","when":{"colour":"red"}}"#).is_err());
    }
}
