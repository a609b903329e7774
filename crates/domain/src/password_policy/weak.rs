//! Finds the predictable parts of a password and measures what is left.
//!
//! The password is lower-cased and scanned for weak spans: words of the
//! common-password list (also behind leetspeak), years, repeats, sequences
//! and keyboard walks. The password is then read as the cheapest chain of
//! weak spans and single characters, as zxcvbn does, with strength counted
//! in "units" of roughly ten guesses each, zxcvbn's price for one
//! unpredictable character:
//!
//! - a character no weak span covers: 1 unit;
//! - a common-list word of rank r: as many units as r has decimal digits
//!   (rank 2 "password" is 1 unit, rank 1010 "garden" is 4), since an
//!   attacker tries the list in order;
//! - a year, repeat, sequence or keyboard walk: 2 units (which pattern,
//!   where it starts, how long), and 1 unit when it directly continues a
//!   pattern of the same kind (`qwertyuiop` + `asdfgh`, `1qaz` + `2wsx`).
//!
//! A span never costs more than its length, so calling a span weak can only
//! lower the estimate. This is a deliberately small cousin of zxcvbn: no
//! other dictionaries, dates only as bare years, no reversed words.

use super::COMMON;
use std::sync::LazyLock;

/// Why a password was found predictable. Declared (and so found and sorted)
/// patterns first: between equally cheap readings a pattern wins, as it
/// explains `1234567890` better than "it is on the list" does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Weakness {
    Repeated,
    Sequence,
    KeyboardWalk,
    TooCommon,
}

impl Weakness {
    /// The order that wins a tie for the reason given: a common word first,
    /// as the advice it implies (pick other words) fixes the most.
    const BY_PRIORITY: [Weakness; 4] =
        [Weakness::TooCommon, Weakness::Repeated, Weakness::Sequence, Weakness::KeyboardWalk];

    /// The stable reason code the web app translates.
    pub(super) fn code(self) -> &'static str {
        match self {
            Weakness::Repeated => "repeated",
            Weakness::Sequence => "sequence",
            Weakness::KeyboardWalk => "keyboard_walk",
            Weakness::TooCommon => "too_common",
        }
    }

    /// Patterns (unlike list words) are cheap to chain: the next one is
    /// usually the obvious continuation of the last.
    fn chains(self) -> bool {
        self != Weakness::TooCommon
    }
}

/// A weak part of the password, as character positions `start..end`.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    kind: Weakness,
    credit: usize,
}

impl Span {
    fn new(start: usize, end: usize, kind: Weakness, credit: usize) -> Self {
        Self { start, end, kind, credit: credit.min(end - start) }
    }
}

/// Units a year, repeat, sequence or walk is worth.
const PATTERN_CREDIT: usize = 2;
/// List words shorter than this are everywhere in ordinary text.
const MIN_WORD: usize = 4;
/// Shorter runs of letters or keys occur by chance in random strings.
const MIN_RUN: usize = 3;

/// Alphabets in order, for sequences such as `abcd`, `7890`, `абвг`.
const ALPHABETS: [&str; 3] = ["abcdefghijklmnopqrstuvwxyz", "01234567890", "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"];

/// Keys in a straight line on QWERTY and ЙЦУКЕН keyboards: rows left to right,
/// columns top to bottom (the `1qaz2wsx` family). Walks go either way.
const KEYBOARD_LINES: [&str; 34] = [
    "`1234567890-=",
    "~!@#$%^&*()_+",
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "1qaz",
    "2wsx",
    "3edc",
    "4rfv",
    "5tgb",
    "6yhn",
    "7ujm",
    "8ik,",
    "9ol.",
    "0p;/",
    "-['",
    "=]",
    "ё1234567890-=",
    "йцукенгшщзхъ",
    "фывапролджэ",
    "ячсмитьбю.",
    "1йфя",
    "2цыч",
    "3увс",
    "4кам",
    "5епи",
    "6нрт",
    "7гоь",
    "8шлб",
    "9щдю",
    "0зж.",
    "-хэ",
    "=ъ",
    "!\"№;%:?*()_+",
];

/// The longest entry of the common list, in characters.
static LONGEST_WORD: LazyLock<usize> = LazyLock::new(|| COMMON.keys().map(|w| w.chars().count()).max().unwrap_or(0));

/// The reason to refuse `password`, or `None` if it is worth at least
/// `required` units.
pub(super) fn refusal(password: &str, required: usize) -> Option<Weakness> {
    let chars: Vec<char> = password.chars().map(|c| c.to_lowercase().next().unwrap_or(c)).collect();
    let (strength, covered) = cover(&weak_spans(&chars), chars.len());
    if strength >= required {
        return None;
    }
    // Below the bar with nothing weak found cannot happen while the bar is
    // under the minimum length; "too_common" is the honest fallback.
    let mut reason = (Weakness::TooCommon, 0);
    for kind in Weakness::BY_PRIORITY {
        if covered[kind as usize] > reason.1 {
            reason = (kind, covered[kind as usize]);
        }
    }
    Some(reason.0)
}

/// Every weak span, patterns before list words so they win ties. The same
/// stretch is often found many times (`aaaa` repeats with every unit, a word
/// in every leet variant); keeping it once bounds the cover's work.
fn weak_spans(chars: &[char]) -> Vec<Span> {
    let mut spans = repeats(chars);
    spans.extend(sequences(chars));
    spans.extend(keyboard_walks(chars));
    spans.extend(common_words(chars));
    spans.extend(years(chars));
    spans.sort_by_key(|s| (s.start, s.end, s.kind, s.credit));
    spans.dedup_by_key(|s| (s.start, s.end, s.kind));
    spans
}

/// The cheapest reading of the password as weak spans and single characters:
/// its strength in units, and how many characters each kind of weakness
/// covered in that reading.
///
/// A shortest-path over positions. A span may be cut short where the next
/// one starts, which lets overlapping spans share characters; the state
/// remembers the kind of the last span so that a chained pattern is charged
/// its discount.
fn cover(spans: &[Span], len: usize) -> (usize, [usize; 4]) {
    // best[j][state]: cheapest cost of reading chars[..j] ending in `state`
    // (0: a single character, 1 + kind: a span of that kind), with the step
    // that got there.
    let mut best: Vec<[Option<Step>; 5]> = vec![[None; 5]; len + 1];
    best[0][0] = Some(Step { cost: 0, from: 0, state: 0 });
    for j in 1..=len {
        for state in 0..5 {
            relax(&mut best, j, 0, j - 1, state, 1);
        }
        for span in spans.iter().filter(|s| s.start < j && j <= s.end) {
            let to = 1 + span.kind as usize;
            for state in 0..5 {
                let chained = state == to && span.kind.chains();
                relax(&mut best, j, to, span.start, state, if chained { 1 } else { span.credit });
            }
        }
    }
    let mut covered = [0; 4];
    let Some((mut state, strength)) = cheapest(&best[len]) else { return (len, covered) };
    let mut j = len;
    while let Some(step) = best[j][state].filter(|_| j > 0) {
        if state > 0 {
            covered[state - 1] += j - step.from;
        }
        (j, state) = (step.from, step.state);
    }
    (strength, covered)
}

/// How a reading of a prefix was reached: at what cost, from which position
/// and state.
#[derive(Debug, Clone, Copy)]
struct Step {
    cost: usize,
    from: usize,
    state: usize,
}

/// Reach `best[j][to]` from `best[from][state]` for `cost` more, if cheaper.
/// Ties keep the first found, so patterns (found first) beat list words.
fn relax(best: &mut [[Option<Step>; 5]], j: usize, to: usize, from: usize, state: usize, cost: usize) {
    let Some(start) = best.get(from).and_then(|row| row[state]) else { return };
    let candidate = Step { cost: start.cost + cost, from, state };
    if let Some(slot) = best.get_mut(j).map(|row| &mut row[to])
        && slot.is_none_or(|old| candidate.cost < old.cost)
    {
        *slot = Some(candidate);
    }
}

fn cheapest(row: &[Option<Step>; 5]) -> Option<(usize, usize)> {
    (0..5).filter_map(|state| row[state].map(|step| (state, step.cost))).min_by_key(|&(_, cost)| cost)
}

/// Common-list words of at least `MIN_WORD` characters, as typed or behind
/// leetspeak (`p@$$w0rd`). A `1` may stand for `i` or `l`, so both are tried.
fn common_words(chars: &[char]) -> Vec<Span> {
    let variants = [chars.to_vec(), unleet(chars, 'i'), unleet(chars, 'l')];
    let mut spans = Vec::new();
    for variant in &variants {
        for start in 0..variant.len() {
            let mut word = String::new();
            for (offset, &c) in variant[start..].iter().take(*LONGEST_WORD).enumerate() {
                word.push(c);
                let len = offset + 1;
                if let (true, Some(&rank)) = (len >= MIN_WORD, COMMON.get(word.as_str())) {
                    spans.push(Span::new(start, start + len, Weakness::TooCommon, digits(rank)));
                }
            }
        }
    }
    spans
}

fn unleet(chars: &[char], one: char) -> Vec<char> {
    let undo = |c| match c {
        '0' => 'o',
        '1' => one,
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        other => other,
    };
    chars.iter().map(|&c| undo(c)).collect()
}

/// Decimal digits of a (1-based) rank: the list's units of guessing work.
fn digits(rank: usize) -> usize {
    rank.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// Years 1900–2099, the favourite padding after a word.
fn years(chars: &[char]) -> Vec<Span> {
    let spans = chars.windows(4).enumerate().filter(|(_, w)| {
        matches!(w, ['1', '9', a, b] | ['2', '0', a, b]
        if a.is_ascii_digit() && b.is_ascii_digit())
    });
    spans.map(|(start, _)| Span::new(start, start + 4, Weakness::TooCommon, PATTERN_CREDIT)).collect()
}

/// A short unit said at least twice in a row (`aaa`, `abab`,
/// `passwordpassword`); a single character needs three.
fn repeats(chars: &[char]) -> Vec<Span> {
    let mut spans = Vec::new();
    for unit in 1..=chars.len() / 2 {
        let min_len = (2 * unit).max(MIN_RUN);
        let mut start = 0;
        for i in 0..=chars.len() - unit {
            if i + unit < chars.len() && chars.get(i) == chars.get(i + unit) {
                continue;
            }
            if i - start + unit >= min_len {
                spans.push(Span::new(start, i + unit, Weakness::Repeated, PATTERN_CREDIT));
            }
            start = i + 1;
        }
    }
    spans
}

/// Runs through an alphabet by a fixed step either way (`abc`, `9876`,
/// `aceg`); steps of two need one more character to stand out from chance.
fn sequences(chars: &[char]) -> Vec<Span> {
    let mut spans = Vec::new();
    for alphabet in ALPHABETS {
        for (step, min_len) in [(1, MIN_RUN), (-1, MIN_RUN), (2, MIN_RUN + 1), (-2, MIN_RUN + 1)] {
            spans.extend(runs_along(chars, alphabet, step, min_len, Weakness::Sequence));
        }
    }
    spans
}

/// Neighbouring keys along one keyboard row or column, either way.
fn keyboard_walks(chars: &[char]) -> Vec<Span> {
    let mut spans = Vec::new();
    for line in KEYBOARD_LINES {
        for step in [1, -1] {
            spans.extend(runs_along(chars, line, step, MIN_RUN, Weakness::KeyboardWalk));
        }
    }
    spans
}

/// Maximal runs of at least `min_len` characters in which each character
/// sits `step` places after the previous one in `line`.
fn runs_along(chars: &[char], line: &str, step: isize, min_len: usize, kind: Weakness) -> Vec<Span> {
    let line: Vec<char> = line.chars().collect();
    // A character may sit in a line twice (the 0 of `01234567890`).
    let follows = |a: char, b: char| {
        let next = |x: usize| x.checked_add_signed(step).and_then(|y| line.get(y));
        line.iter().enumerate().any(|(x, &l)| l == a && next(x) == Some(&b))
    };
    let mut spans = Vec::new();
    let mut start = 0;
    for i in 1..=chars.len() {
        let continues = matches!((chars.get(i - 1), chars.get(i)), (Some(&a), Some(&b)) if follows(a, b));
        if continues {
            continue;
        }
        if i - start >= min_len {
            spans.push(Span::new(start, i, kind, PATTERN_CREDIT));
        }
        start = i;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strength(password: &str) -> usize {
        let chars: Vec<char> = password.chars().collect();
        cover(&weak_spans(&chars), chars.len()).0
    }

    #[test]
    fn unpredictable_characters_count_one_unit_each() {
        assert_eq!(strength("kT9vR2mQ8xW4pL7z"), 16);
        assert_eq!(strength(""), 0);
    }

    #[test]
    fn list_words_cost_the_digits_of_their_rank() {
        assert_eq!(digits(1), 1);
        assert_eq!(digits(9), 1);
        assert_eq!(digits(10), 2);
        assert_eq!(digits(1010), 4);
        assert_eq!(strength("password"), 1);
        assert_eq!(strength("p@$$w0rd"), 1);
    }

    #[test]
    fn chained_patterns_cost_one_unit_after_the_first() {
        assert_eq!(strength("qwertyuiopasdfgh"), 3);
        assert_eq!(strength("7ujm8ik,9ol.0p;/"), 5);
    }

    #[test]
    fn runs_need_their_minimum_length() {
        assert!(repeats(&['a', 'a']).is_empty());
        assert_eq!(repeats(&['a', 'a', 'a']).len(), 1);
        assert!(repeats(&['a', 'b', 'c', 'a', 'b']).is_empty());
        let ab: Vec<char> = "xabcy".chars().collect();
        assert_eq!(sequences(&ab).len(), 1);
        let ace: Vec<char> = "ace".chars().collect();
        assert!(sequences(&ace).is_empty(), "a step of two needs four characters");
    }

    #[test]
    fn a_span_never_costs_more_than_its_length() {
        assert_eq!(Span::new(0, 4, Weakness::TooCommon, 5).credit, 4);
    }
}
