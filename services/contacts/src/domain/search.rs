//! Contact search: which contacts a query matches and how well, free of I/O.
//!
//! A query is folded (case and accents removed) into words; a contact matches when every word is found in its
//! names, email addresses or the names of its organisations. Each word scores by where it is found best:
//!
//! | where the word is found                         | points |
//! |-------------------------------------------------|--------|
//! | a whole word of the display, given or family name | 10   |
//! | the start of a word of a name                   | 6      |
//! | inside a name                                   | 3      |
//! | a whole email address or its local part         | 8      |
//! | inside an email address                         | 2      |
//! | a word (or the start of one) of an organisation name | 2 |
//!
//! The score is the sum over the words; ties are broken by age (older contacts first).

/// Query length limit, in characters.
pub const QUERY_MAX: usize = 200;

/// A validated query: 1 to 20 folded words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    words: Vec<String>,
}

impl Query {
    pub fn parse(field: &str, value: &str) -> Result<Self, liaison_runtime::FieldViolation> {
        use liaison_runtime::FieldViolation;
        if value.chars().count() > QUERY_MAX {
            return Err(FieldViolation::new(field, format!("must be at most {QUERY_MAX} characters")));
        }
        let mut words: Vec<String> = fold(value).split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect();
        words.dedup();
        if words.is_empty() {
            return Err(FieldViolation::new(field, "must contain a letter or digit to search for"));
        }
        if words.len() > 20 {
            return Err(FieldViolation::new(field, "must have at most 20 words"));
        }
        Ok(Self { words })
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Scores a contact; `None` when some word is found nowhere.
    pub fn score(&self, candidate: &Candidate<'_>) -> Option<Hit> {
        let names: Vec<String> = candidate.names.iter().map(|n| fold(n)).collect();
        let emails: Vec<String> = candidate.emails.iter().map(|e| e.to_lowercase()).collect();
        let organizations: Vec<String> = candidate.organizations.iter().map(|o| fold(o)).collect();
        let mut total = 0.0;
        let mut matched = Vec::new();
        for word in &self.words {
            let mut best: Option<(f64, &'static str)> = None;
            let mut consider = |points: f64, field: &'static str| {
                if best.is_none_or(|(p, _)| points > p) {
                    best = Some((points, field));
                }
            };
            for (name, field) in names.iter().zip(NAME_FIELDS) {
                if name.split(' ').any(|w| w == word) {
                    consider(10.0, field);
                } else if name.split(' ').any(|w| w.starts_with(word.as_str())) {
                    consider(6.0, field);
                } else if name.contains(word.as_str()) {
                    consider(3.0, field);
                }
            }
            for email in &emails {
                let local = email.split('@').next().unwrap_or_default();
                if email == word || local == word {
                    consider(8.0, "emails");
                } else if email.contains(word.as_str()) {
                    consider(2.0, "emails");
                }
            }
            for organization in &organizations {
                if organization.split(' ').any(|w| w.starts_with(word.as_str())) || organization.contains(word.as_str())
                {
                    consider(2.0, "organizations");
                }
            }
            let (points, field) = best?;
            total += points;
            if !matched.contains(&field) {
                matched.push(field);
            }
        }
        Some(Hit { score: total, matched_fields: matched })
    }
}

const NAME_FIELDS: [&str; 3] = ["display_name", "given_name", "family_name"];

/// What a contact offers to a query.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// Display, given and family name, in that order.
    pub names: [&'a str; 3],
    pub emails: Vec<&'a str>,
    pub organizations: Vec<&'a str>,
}

/// How well a contact matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub score: f64,
    pub matched_fields: Vec<&'static str>,
}

/// Text folded for matching: lower case, accents removed, runs of non-alphanumerics collapsed to one space.
pub fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '@' || c == '.' || c == '+' {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate<'a>(names: [&'a str; 3], emails: Vec<&'a str>, organizations: Vec<&'a str>) -> Candidate<'a> {
        Candidate { names, emails, organizations }
    }

    #[test]
    fn every_word_must_match_somewhere() {
        let query = Query::parse("q", "Ada water").expect("valid");
        let ada = candidate(["Ada Lovelace", "Ada", "Lovelace"], vec![], vec!["Water Board"]);
        let hit = query.score(&ada).expect("match");
        assert_eq!(hit.matched_fields, ["display_name", "organizations"]);
        let other = candidate(["Ada Lovelace", "", ""], vec![], vec![]);
        assert!(query.score(&other).is_none());
    }

    #[test]
    fn whole_words_rank_above_prefixes_and_prefixes_above_substrings() {
        let query = Query::parse("q", "ann").expect("valid");
        let exact = query.score(&candidate(["Ann Smith", "", ""], vec![], vec![])).expect("hit").score;
        let prefix = query.score(&candidate(["Anna Smith", "", ""], vec![], vec![])).expect("hit").score;
        let inside = query.score(&candidate(["Joann Smith", "", ""], vec![], vec![])).expect("hit").score;
        assert!(exact > prefix && prefix > inside, "{exact} > {prefix} > {inside}");
    }

    #[test]
    fn accents_and_case_are_ignored() {
        let query = Query::parse("q", "ZOE muller").expect("valid");
        assert!(query.score(&candidate(["Zoë Müller", "", ""], vec![], vec![])).is_some());
    }

    #[test]
    fn an_email_local_part_matches() {
        let query = Query::parse("q", "a.lovelace").expect("valid");
        let hit = query.score(&candidate(["Ada", "", ""], vec!["a.lovelace@example.org"], vec![])).expect("hit");
        assert_eq!(hit.score, 8.0);
    }

    #[test]
    fn an_empty_or_punctuation_only_query_is_rejected() {
        assert!(Query::parse("q", "   ").is_err());
        assert!(Query::parse("q", "!!! ---").is_err());
        assert!(Query::parse("q", &"a".repeat(201)).is_err());
    }

    #[test]
    fn folding_removes_case_and_accents() {
        assert_eq!(fold("  Zoë  MÜLLER-Lüdenscheidt "), "zoe muller ludenscheidt");
    }
}
