//! Labels: named, coloured tags on conversations ("Оплата", "Жалоба"), set by
//! whoever handles the conversation and managed with the settings. Colours
//! come from a fixed palette, each checked for contrast in both themes of
//! the web app, so a label is always readable and no style is ever taken
//! from input.

use crate::error::DomainError;
use serde::{Deserialize, Serialize};

pub const MAX_NAME: usize = 40;
/// Labels on one conversation at most: a list row stays one line.
pub const MAX_PER_CONVERSATION: usize = 10;
/// Labels an installation may define.
pub const MAX_LABELS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    Grey,
    Red,
    Orange,
    Yellow,
    Green,
    Teal,
    Blue,
    Purple,
}

impl Colour {
    pub const ALL: [Colour; 8] = [
        Colour::Grey,
        Colour::Red,
        Colour::Orange,
        Colour::Yellow,
        Colour::Green,
        Colour::Teal,
        Colour::Blue,
        Colour::Purple,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Colour::Grey => "grey",
            Colour::Red => "red",
            Colour::Orange => "orange",
            Colour::Yellow => "yellow",
            Colour::Green => "green",
            Colour::Teal => "teal",
            Colour::Blue => "blue",
            Colour::Purple => "purple",
        }
    }

    pub fn parse(s: &str) -> Option<Colour> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// A label as someone names it, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub name: String,
    pub colour: Colour,
}

impl Draft {
    /// Trims the name and collapses its inner spaces.
    pub fn validated(self) -> Result<Draft, DomainError> {
        let name = self.name.split_whitespace().collect::<Vec<_>>().join(" ");
        if !(1..=MAX_NAME).contains(&name.chars().count()) || name.chars().any(char::is_control) {
            return Err(DomainError::Invalid("name"));
        }
        Ok(Draft { name, colour: self.colour })
    }
}

/// What makes two names the same label: case and spacing aside.
pub fn name_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_compared_without_case() {
        let d = Draft { name: "  Оплата   картой ".into(), colour: Colour::Green }.validated().unwrap();
        assert_eq!(d.name, "Оплата картой");
        assert_eq!(name_key("ОПЛАТА  картой"), name_key(&d.name));
        for bad in ["", "   ", "a\u{0}b", &"я".repeat(MAX_NAME + 1)] {
            assert_eq!(Draft { name: bad.into(), colour: Colour::Red }.validated(), Err(DomainError::Invalid("name")));
        }
    }

    #[test]
    fn colours_round_trip() {
        for c in Colour::ALL {
            assert_eq!(Colour::parse(c.name()), Some(c));
            assert_eq!(serde_json::to_value(c).unwrap(), c.name());
        }
        assert_eq!(Colour::parse("#ff0000"), None);
    }
}
