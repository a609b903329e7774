//! The tariff and what the usage of a period costs under it. Amounts are
//! integers in minor units (kopecks, cents) so that nothing is lost to
//! floating point, and every product and sum saturates instead of
//! overflowing: a bill is never allowed to wrap around to a small number.

use crate::csv::text as csv_text;
use crate::error::DomainError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The highest price accepted, in minor units: ten million roubles per seat
/// or message is far beyond any real tariff and keeps products well inside
/// `i64` for any realistic quantity.
pub const MAX_PRICE: i64 = 1_000_000_000;
pub const MAX_CHANNEL_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tariff {
    /// ISO 4217 code, three uppercase letters.
    pub currency: String,
    /// Minor units per active seat per period.
    pub seat_price: i64,
    /// Channel → minor units per message. A channel not listed is free.
    pub message_prices: BTreeMap<String, i64>,
}

impl Default for Tariff {
    /// Free until someone sets a price.
    fn default() -> Self {
        Tariff { currency: "RUB".to_string(), seat_price: 0, message_prices: BTreeMap::new() }
    }
}

impl Tariff {
    pub fn validate(&self) -> Result<(), DomainError> {
        if !valid_currency(&self.currency) {
            return Err(DomainError::Invalid("currency"));
        }
        if !valid_price(self.seat_price) {
            return Err(DomainError::Invalid("seat_price"));
        }
        let valid_entry = |(channel, &price): (&String, &i64)| valid_channel(channel) && valid_price(price);
        if !self.message_prices.iter().all(valid_entry) {
            return Err(DomainError::Invalid("message_prices"));
        }
        Ok(())
    }
}

/// Only the shape is checked (three uppercase ASCII letters), not the ISO
/// list, which changes more often than this code.
pub fn valid_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

pub fn valid_price(price: i64) -> bool {
    (0..=MAX_PRICE).contains(&price)
}

/// Channel names are identifiers (`web`, `telegram`): 1–32 of `[a-z0-9_]`.
pub fn valid_channel(name: &str) -> bool {
    (1..=MAX_CHANNEL_LEN).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// What was used in a period.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Usage {
    pub active_seats: u64,
    /// Channel → conversations; reported, not charged.
    pub conversations: BTreeMap<String, u64>,
    /// Channel → messages; charged at the channel's price.
    pub messages: BTreeMap<String, u64>,
}

/// Amounts in minor units of the tariff's currency.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Cost {
    pub seats: i64,
    /// One entry per channel with messages, priced or not.
    pub per_channel: BTreeMap<String, i64>,
    pub total: i64,
}

/// What `u` costs under `t`. Saturating throughout: a result at `i64::MAX`
/// means "more than can be represented", never a wrapped value.
pub fn cost(t: &Tariff, u: &Usage) -> Cost {
    let seats = amount(t.seat_price, u.active_seats);
    let per_channel: BTreeMap<String, i64> = u
        .messages
        .iter()
        .map(|(channel, &n)| (channel.clone(), amount(t.message_prices.get(channel).copied().unwrap_or(0), n)))
        .collect();
    let total = per_channel.values().fold(seats, |sum, &a| sum.saturating_add(a));
    Cost { seats, per_channel, total }
}

fn amount(price: i64, quantity: u64) -> i64 {
    price.saturating_mul(i64::try_from(quantity).unwrap_or(i64::MAX))
}

pub const CSV_HEADER: &str = "item,channel,quantity,amount_minor,currency";

/// The usage and its cost as CSV, `c` being `cost(_, u)`: seats, then
/// conversations per channel (not charged: empty amount), then messages per
/// channel, then the total.
pub fn to_csv(u: &Usage, c: &Cost, currency: &str) -> String {
    let currency = csv_text(currency);
    let mut rows = vec![CSV_HEADER.to_string(), format!("seats,,{},{},{currency}", u.active_seats, c.seats)];
    for (channel, n) in &u.conversations {
        rows.push(format!("conversations,{},{n},,{currency}", csv_text(channel)));
    }
    for (channel, n) in &u.messages {
        let amount = c.per_channel.get(channel).copied().unwrap_or(0);
        rows.push(format!("messages,{},{n},{amount},{currency}", csv_text(channel)));
    }
    rows.push(format!("total,,,{},{currency}", c.total));
    let mut out = rows.join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tariff(seat_price: i64, prices: &[(&str, i64)]) -> Tariff {
        Tariff {
            currency: "RUB".to_string(),
            seat_price,
            message_prices: prices.iter().map(|&(c, p)| (c.to_string(), p)).collect(),
        }
    }

    fn counts(entries: &[(&str, u64)]) -> BTreeMap<String, u64> {
        entries.iter().map(|&(c, n)| (c.to_string(), n)).collect()
    }

    #[test]
    fn the_default_tariff_is_free_and_valid() {
        let t = Tariff::default();
        assert_eq!(t, tariff(0, &[]));
        assert_eq!(t.validate(), Ok(()));
        assert_eq!(cost(&t, &Usage { active_seats: 10, ..Usage::default() }).total, 0);
    }

    #[test]
    fn currencies_are_three_uppercase_letters() {
        for good in ["RUB", "USD", "EUR"] {
            assert_eq!(Tariff { currency: good.to_string(), ..Tariff::default() }.validate(), Ok(()), "{good}");
        }
        for bad in ["", "rub", "Rub", "RU", "RUBL", "R1B", "RU ", "ÄBC"] {
            let t = Tariff { currency: bad.to_string(), ..Tariff::default() };
            assert_eq!(t.validate(), Err(DomainError::Invalid("currency")), "{bad:?}");
        }
    }

    #[test]
    fn prices_are_between_zero_and_the_maximum() {
        assert_eq!(tariff(MAX_PRICE, &[("web", MAX_PRICE), ("sms", 0)]).validate(), Ok(()));
        for bad in [-1, MAX_PRICE + 1, i64::MIN, i64::MAX] {
            assert_eq!(tariff(bad, &[]).validate(), Err(DomainError::Invalid("seat_price")), "{bad}");
            assert_eq!(tariff(0, &[("web", bad)]).validate(), Err(DomainError::Invalid("message_prices")), "{bad}");
        }
    }

    #[test]
    fn channel_names_are_short_identifiers() {
        let longest = "a".repeat(MAX_CHANNEL_LEN);
        for good in ["web", "telegram_2", "0", longest.as_str()] {
            assert!(valid_channel(good), "{good:?}");
            assert_eq!(tariff(0, &[(good, 1)]).validate(), Ok(()));
        }
        let too_long = "a".repeat(MAX_CHANNEL_LEN + 1);
        for bad in ["", "Web", "we-b", "we b", "веб", "web,sms", too_long.as_str()] {
            assert!(!valid_channel(bad), "{bad:?}");
            assert_eq!(tariff(0, &[(bad, 1)]).validate(), Err(DomainError::Invalid("message_prices")));
        }
    }

    #[test]
    fn tariffs_deserialize_strictly() {
        let json = r#"{"currency":"EUR","seat_price":150000,"message_prices":{"web":5,"telegram":10}}"#;
        let parsed: Result<Tariff, _> = serde_json::from_str(json);
        assert_eq!(
            parsed.ok(),
            Some(Tariff { currency: "EUR".to_string(), ..tariff(150_000, &[("telegram", 10), ("web", 5)]) })
        );
        let unknown = r#"{"currency":"EUR","seat_price":1,"message_prices":{},"discount":50}"#;
        assert!(serde_json::from_str::<Tariff>(unknown).is_err());
        let t = tariff(7, &[("web", 3)]);
        let round_trip = serde_json::to_string(&t).ok().and_then(|s| serde_json::from_str::<Tariff>(&s).ok());
        assert_eq!(round_trip, Some(t));
    }

    #[test]
    fn the_cost_of_seats_and_messages() {
        let t = tariff(150_000, &[("web", 10), ("telegram", 25), ("unused", 99)]);
        let u = Usage {
            active_seats: 3,
            conversations: counts(&[("web", 40), ("telegram", 5)]),
            messages: counts(&[("web", 100), ("telegram", 8), ("email", 50)]),
        };
        let c = cost(&t, &u);
        let expected = Cost {
            seats: 450_000,
            // email has no price: free, but listed
            per_channel: BTreeMap::from([
                ("email".to_string(), 0),
                ("telegram".to_string(), 200),
                ("web".to_string(), 1_000),
            ]),
            total: 451_200,
        };
        assert_eq!(c, expected);
    }

    #[test]
    fn the_cost_saturates_instead_of_overflowing() {
        let t = tariff(MAX_PRICE, &[("web", MAX_PRICE), ("free", 0)]);
        let u = Usage {
            active_seats: u64::MAX,
            conversations: BTreeMap::new(),
            messages: counts(&[("web", 10_000_000_000), ("free", u64::MAX)]),
        };
        let c = cost(&t, &u);
        assert_eq!(c.seats, i64::MAX);
        assert_eq!(c.per_channel.get("web"), Some(&i64::MAX), "10^9 × 10^10 does not fit");
        assert_eq!(c.per_channel.get("free"), Some(&0));
        assert_eq!(c.total, i64::MAX);

        // Nor does a sum of amounts that each fit.
        let t = tariff(MAX_PRICE, &[("web", MAX_PRICE)]);
        let u = Usage { active_seats: 5_000_000_000, messages: counts(&[("web", 5_000_000_000)]), ..Usage::default() };
        let c = cost(&t, &u);
        assert_eq!(
            (c.seats, c.per_channel.get("web").copied()),
            (5_000_000_000_000_000_000, Some(5_000_000_000_000_000_000))
        );
        assert_eq!(c.total, i64::MAX);

        // An unvalidated negative price cannot wrap either.
        assert_eq!(cost(&tariff(i64::MIN, &[]), &Usage { active_seats: 2, ..Usage::default() }).total, i64::MIN);
    }

    #[test]
    fn csv_of_usage_and_cost() {
        let t = tariff(150_000, &[("web", 10), ("telegram", 25)]);
        let u = Usage {
            active_seats: 3,
            conversations: counts(&[("web", 40)]),
            messages: counts(&[("web", 100), ("telegram", 8), ("email", 50)]),
        };
        let expected = "\
item,channel,quantity,amount_minor,currency
seats,,3,450000,RUB
conversations,web,40,,RUB
messages,email,50,0,RUB
messages,telegram,8,200,RUB
messages,web,100,1000,RUB
total,,,451200,RUB
";
        assert_eq!(to_csv(&u, &cost(&t, &u), "RUB"), expected);
    }

    #[test]
    fn csv_text_cells_are_neither_split_nor_formulas() {
        let u = Usage { messages: counts(&[("a,\"b\"", 1), ("=1+1", 2)]), ..Usage::default() };
        let expected = "\
item,channel,quantity,amount_minor,currency
seats,,0,0,EUR
messages,'=1+1,2,0,EUR
messages,\"a,\"\"b\"\"\",1,0,EUR
total,,,0,EUR
";
        assert_eq!(to_csv(&u, &cost(&Tariff::default(), &u), "EUR"), expected);
    }
}
