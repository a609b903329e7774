//! Finding personal data in message text, to show it masked: bank card
//! numbers (Luhn), Russian passport series and number, SNILS and a person's
//! INN (their check digits), phone numbers and e-mail addresses.
//!
//! Numbers are found as runs of digits joined by single separators (space,
//! `-`, `.`, brackets, a leading `+`), standing apart from letters and other
//! digits. Each run is tried as, in order: a card (13–19 digits passing
//! Luhn), a SNILS (11 digits with a valid check number, written `XXX-XXX-XXX
//! YY` or bare), a person's INN (12 digits, both check digits), a phone
//! (`+` and 10–15 digits, or 11 digits starting with 7 or 8, or 10 starting
//! with 9), a passport (10 digits written `DD DD DDDDDD` or `DDDD DDDDDD`).
//! A 10-digit INN names an organisation, not a person, and is left alone.
//! Masking keeps the separators and only the digits that help recognise
//! the value (`4276 **** **** 1234`, `+7 (***) ***-**-67`).

use serde::{Deserialize, Serialize};
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Card,
    Passport,
    Snils,
    Inn,
    Phone,
    Email,
}

impl Category {
    pub const ALL: [Category; 6] =
        [Category::Card, Category::Passport, Category::Snils, Category::Inn, Category::Phone, Category::Email];

    pub fn name(self) -> &'static str {
        match self {
            Category::Card => "card",
            Category::Passport => "passport",
            Category::Snils => "snils",
            Category::Inn => "inn",
            Category::Phone => "phone",
            Category::Email => "email",
        }
    }
}

/// One value found: where it is in the text (bytes) and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub category: Category,
    pub range: Range<usize>,
}

/// Longest run of digits considered (a card has at most 19).
const MAX_DIGITS: usize = 19;

/// Every value of the `wanted` categories in `text`, in order.
pub fn find(text: &str, wanted: &[Category]) -> Vec<Finding> {
    let mut found: Vec<Finding> = digit_runs(text)
        .into_iter()
        .filter_map(|range| classify(&text[range.clone()]).map(|category| Finding { category, range }))
        .chain(emails(text).into_iter().map(|range| Finding { category: Category::Email, range }))
        .filter(|f| wanted.contains(&f.category))
        .collect();
    found.sort_by_key(|f| f.range.start);
    // An e-mail such as `79161234567@mail.ru` holds a digit run: keep the e-mail.
    let mut kept: Vec<Finding> = Vec::with_capacity(found.len());
    for f in found {
        match kept.last_mut() {
            Some(last) if f.range.start < last.range.end => {
                if f.category == Category::Email {
                    *last = f;
                }
            }
            _ => kept.push(f),
        }
    }
    kept
}

/// The text with every finding masked, and the findings (ranges in `text`).
pub fn mask(text: &str, wanted: &[Category]) -> (String, Vec<Finding>) {
    let findings = find(text, wanted);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in &findings {
        out.push_str(&text[at..f.range.start]);
        out.push_str(&masked(&text[f.range.clone()], f.category));
        at = f.range.end;
    }
    out.push_str(&text[at..]);
    (out, findings)
}

/// One value as it is shown masked.
pub fn masked(value: &str, category: Category) -> String {
    if category == Category::Email {
        let (local, domain) = value.split_once('@').unwrap_or((value, ""));
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let (keep_start, keep_end) = match category {
        Category::Card => (4, 4),
        Category::Phone if value.starts_with('+') => {
            (value.chars().skip(1).take_while(char::is_ascii_digit).count().min(3), 2)
        }
        Category::Phone if digits == 11 => (1, 2),
        _ => (0, 2),
    };
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen <= keep_start || seen > digits - keep_end { c } else { '*' }
        })
        .collect()
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '(' | ')')
}

/// Byte ranges of digit runs that stand apart from words.
fn digit_runs(text: &str) -> Vec<Range<usize>> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let opens = c.is_ascii_digit()
            || (matches!(c, '+' | '(') && chars.get(i + 1).is_some_and(|(_, n)| n.is_ascii_digit() || *n == '('));
        let after_word = i > 0 && chars[i - 1].1.is_alphanumeric();
        if !opens || after_word {
            i += 1;
            continue;
        }
        // Extend over digits and at most two separators in a row.
        let (mut j, mut last_digit, mut gap, mut digits) = (i, None, 0, 0);
        while j < chars.len() {
            let c = chars[j].1;
            if c.is_ascii_digit() {
                last_digit = Some(j);
                gap = 0;
                digits += 1;
            } else if (is_separator(c) || (c == '+' && j == i)) && gap < 2 {
                gap += 1;
            } else {
                break;
            }
            j += 1;
        }
        if let Some(end) = last_digit {
            let touches_word = chars.get(end + 1).is_some_and(|(_, n)| n.is_alphanumeric());
            if digits <= MAX_DIGITS && !touches_word {
                runs.push(start..chars[end].0 + 1);
            }
            i = end + 1;
        } else {
            i = j.max(i + 1);
        }
    }
    runs
}

fn classify(run: &str) -> Option<Category> {
    let d: Vec<u32> = run.chars().filter_map(|c| c.to_digit(10)).collect();
    let plain_groups = run.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
    if (13..=19).contains(&d.len()) && plain_groups && !run.starts_with('+') && luhn(&d) {
        return Some(Category::Card);
    }
    if d.len() == 11 && snils_format(run) && snils_valid(&d) {
        return Some(Category::Snils);
    }
    if d.len() == 12 && plain_groups && inn12_valid(&d) {
        return Some(Category::Inn);
    }
    if run.starts_with('+') && (10..=15).contains(&d.len()) {
        return Some(Category::Phone);
    }
    if d.len() == 11 && matches!(d[0], 7 | 8) {
        return Some(Category::Phone);
    }
    if d.len() == 10 && passport_format(run) {
        return Some(Category::Passport);
    }
    if d.len() == 10 && d[0] == 9 {
        return Some(Category::Phone);
    }
    None
}

/// The Luhn check of card numbers.
pub fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    sum.is_multiple_of(10)
}

/// `XXX-XXX-XXX YY`, `XXX-XXX-XXX-YY`, `XXX XXX XXX YY` or eleven bare digits.
fn snils_format(run: &str) -> bool {
    let groups: Vec<&str> = run.split([' ', '-']).collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    run.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '-') && (lengths == [3, 3, 3, 2] || lengths == [11])
}

/// SNILS check number: the first nine digits weighted 9..1, modulo 101.
pub fn snils_valid(d: &[u32]) -> bool {
    if d.len() != 11 {
        return false;
    }
    let sum: u32 = d[..9].iter().enumerate().map(|(i, &x)| x * (9 - i as u32)).sum();
    let check = match sum {
        s if s < 100 => s,
        100 | 101 => 0,
        s => match s % 101 {
            100 => 0,
            r => r,
        },
    };
    check == d[9] * 10 + d[10]
}

/// A person's INN: both check digits.
pub fn inn12_valid(d: &[u32]) -> bool {
    const W1: [u32; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    const W2: [u32; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
    let check = |w: &[u32]| w.iter().zip(d).map(|(w, x)| w * x).sum::<u32>() % 11 % 10;
    d.len() == 12 && check(&W1) == d[10] && check(&W2) == d[11]
}

/// `DD DD DDDDDD` or `DDDD DDDDDD`.
fn passport_format(run: &str) -> bool {
    let lengths: Vec<usize> = run.split(' ').map(str::len).collect();
    run.chars().all(|c| c.is_ascii_digit() || c == ' ') && (lengths == [2, 2, 6] || lengths == [4, 6])
}

/// Byte ranges of e-mail addresses.
fn emails(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let local = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    let host = |b: u8| b.is_ascii_alphanumeric() || b".-".contains(&b);
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@') {
        let start = bytes[..at].iter().rposition(|&b| !local(b)).map_or(0, |p| p + 1);
        let mut end = at + 1 + bytes[at + 1..].iter().position(|&b| !host(b)).unwrap_or(bytes.len() - at - 1);
        while end > at + 1 && bytes[end - 1] == b'.' {
            end -= 1; // a sentence's full stop
        }
        let domain = &text[at + 1..end];
        let tld_ok = domain.rsplit_once('.').is_some_and(|(name, tld)| {
            !name.is_empty() && tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic())
        });
        if start < at && tld_ok && found.last().is_none_or(|r: &Range<usize>| r.end <= start) {
            found.push(start..end);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked_all(text: &str) -> String {
        mask(text, &Category::ALL).0
    }

    fn kinds(text: &str) -> Vec<Category> {
        find(text, &Category::ALL).into_iter().map(|f| f.category).collect()
    }

    #[test]
    fn card_numbers_pass_luhn_and_keep_four_and_four() {
        assert_eq!(masked_all("Карта 4276 3800 1234 5679, спасибо"), "Карта 4276 **** **** 5679, спасибо");
        assert_eq!(masked_all("card: 4276380012345679."), "card: 4276********5679.");
        assert_eq!(kinds("4276 3800 1234 5675"), [], "a wrong check digit is not a card");
        assert_eq!(kinds("4276 3800 1234 5679 1234"), [], "more than 19 digits in a run");
    }

    #[test]
    fn snils_and_inn_need_their_check_digits() {
        // 112-233-445 95: the classic valid SNILS example.
        assert_eq!(masked_all("СНИЛС 112-233-445 95"), "СНИЛС ***-***-*** 95");
        assert_eq!(kinds("112-233-445 96"), [], "wrong check number");
        assert_eq!(kinds("ИНН 500100732259"), [Category::Inn]);
        assert_eq!(masked_all("ИНН 500100732259"), "ИНН **********59");
        assert_eq!(kinds("ИНН 500100732258"), [], "wrong check digit");
        assert_eq!(kinds("ИНН организации 7707083893"), [], "an organisation's INN is not personal data");
        assert!(snils_valid(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 6, 4]) && !snils_valid(&[1; 5]));
    }

    #[test]
    fn phones_in_the_ways_people_write_them() {
        assert_eq!(masked_all("звоните +7 (916) 123-45-67"), "звоните +7 (***) ***-**-67");
        assert_eq!(masked_all("8 916 123 45 67"), "8 *** *** ** 67");
        assert_eq!(masked_all("9161234567"), "********67");
        assert_eq!(masked_all("+44 20 7946 0958"), "+44 ** **** **58");
        assert_eq!(kinds("заказ 1042, 5 штук, 29.11.2026"), [], "orders, counts and dates are not phones");
    }

    #[test]
    fn passports_by_their_written_form() {
        assert_eq!(masked_all("паспорт 45 08 123456"), "паспорт ** ** ****56");
        assert_eq!(kinds("4508 123456"), [Category::Passport]);
        assert_eq!(kinds("4508123456"), [], "ten bare digits not starting with 9 are not recognised");
    }

    #[test]
    fn emails_keep_their_first_letter_and_domain() {
        assert_eq!(masked_all("пишите ivan.petrov@example.ru."), "пишите i***@example.ru.");
        assert_eq!(masked_all("79161234567@mail.ru"), "7***@mail.ru", "the e-mail wins over the digits in it");
        assert_eq!(kinds("@handle, a@b, x@y.z1"), []);
    }

    #[test]
    fn only_the_wanted_categories_and_words_are_left_alone() {
        let text = "4276 3800 1234 5679 и ivan@example.ru";
        assert_eq!(mask(text, &[Category::Email]).0, "4276 3800 1234 5679 и i***@example.ru");
        assert_eq!(kinds("abc4276380012345679"), [], "glued to a word");
        assert_eq!(kinds("ключ 4276380012345679x"), []);
        assert_eq!(kinds(""), []);
    }

    #[test]
    fn ranges_point_at_the_values_in_the_original_text() {
        let text = "Тел.: +7 916 123-45-67, почта a@b.ru";
        let found = find(text, &Category::ALL);
        assert_eq!(&text[found[0].range.clone()], "+7 916 123-45-67");
        assert_eq!(&text[found[1].range.clone()], "a@b.ru");
    }

    #[test]
    fn any_text_is_scanned_without_panicking() {
        for text in ["+", "(", "((((1", "1 - - 2", "@", "a@", "@b.ru", "ё1ё2ё", "++7 916", "1)", "٣٤٥"] {
            let (out, _) = mask(text, &Category::ALL);
            assert!(!out.is_empty() || text.is_empty());
        }
    }
}
