//! Satisfaction (CSAT) of a group of conversations: how many ratings, their
//! average, and the share of satisfied visitors (4 or 5 of 5, the usual
//! CSAT definition), so teams and labels can be compared by either.

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    ratings: u64,
    sum: u64,
    satisfied: u64,
}

/// A score as reported.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub ratings: u64,
    /// The mean rating, 1–5, to two decimals; none without ratings.
    pub average: Option<f64>,
    /// Percent of ratings of 4 or 5, to one decimal; none without ratings.
    pub satisfied_percent: Option<f64>,
}

impl Score {
    /// Counts one rating; values outside 1..=5 are ignored.
    pub fn add(&mut self, rating: u8) {
        if (1..=5).contains(&rating) {
            self.ratings += 1;
            self.sum += u64::from(rating);
            self.satisfied += u64::from(rating >= 4);
        }
    }

    pub fn summary(&self) -> Summary {
        let of = |x: u64, scale: f64, places: f64| {
            (self.ratings > 0).then(|| (x as f64 * scale / self.ratings as f64 * places).round() / places)
        };
        Summary {
            ratings: self.ratings,
            average: of(self.sum, 1.0, 100.0),
            satisfied_percent: of(self.satisfied, 100.0, 10.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_and_share_of_satisfied() {
        let mut s = Score::default();
        assert_eq!(s.summary(), Summary { ratings: 0, average: None, satisfied_percent: None });
        for r in [5, 4, 2, 0, 6] {
            s.add(r);
        }
        assert_eq!(s.summary(), Summary { ratings: 3, average: Some(3.67), satisfied_percent: Some(66.7) });
    }
}
