//! Contact search, free of I/O: how text becomes index terms, how a query becomes words, and how the terms a
//! word matched become a ranked, explained hit.
//!
//! **Terms.** Text is folded (lower case, accents removed) and cut into words; each character of a script
//! written without spaces (Han, kana, Hangul) is a word of its own, so "太郎" finds "山田太郎". A contact's
//! terms are the words of its display, given and family names; each email address whole, its local part and
//! the pieces of that (`a.lovelace@x.org` gives `a.lovelace@x.org`, `a.lovelace`, `a`, `lovelace`); and each
//! phone number's digits reversed behind [`PHONE_MARK`], so that "ends with these digits" is a prefix lookup.
//! An organisation's terms are the words of its name.
//!
//! **Matching.** A query word matches a term *exactly*, as a *prefix* of it, or — for words of at least
//! [`TYPO_MIN_CHARS`] characters — with one *typo* (one letter added, left out, changed, or two neighbours
//! swapped). Typos are found in the vocabulary, not in the contacts: every name word ever indexed is stored
//! with its one-letter deletions (the symmetric-delete scheme), so "okafr" and "okafor" meet at "okafr".
//! A word of digits also matches the end of a phone number; a query that is a whole phone number in any
//! format (`+44 20 7946 0958`, `020-7946-0958`) is one such word.
//!
//! **Ranking.** Every word must match somewhere. Each word scores by its best match:
//!
//! | where            | exact | prefix | one typo |
//! |------------------|-------|--------|----------|
//! | a name           | 10    | 6      | 4        |
//! | an email address | 8     | 4      | —        |
//! | a phone number   | —     | 8 (its end) | —   |
//! | an organisation the contact is affiliated with | 3 | 2 | 1 |
//!
//! The score is the sum over the words; ties go to the older contact. Every hit says which word matched which
//! field, how, and through which term.
use std::collections::BTreeMap;

/// Query length limit, in characters.
pub const QUERY_MAX: usize = 200;
/// Words per query.
pub const QUERY_WORDS_MAX: usize = 20;
/// Words shorter than this match exactly or as a prefix, never with a typo ("ann" must not find "jan").
pub const TYPO_MIN_CHARS: usize = 4;
/// A prefix expands to at most this many vocabulary words (in byte order); a longer prefix narrows it.
pub const PREFIX_EXPANSION_MAX: u64 = 256;
/// Digits a word needs to be looked up as the end of a phone number.
pub const PHONE_SUFFIX_MIN_DIGITS: usize = 4;
/// Starts the term of a phone number (folding never produces it, so it cannot collide with a word).
pub const PHONE_MARK: char = '#';

/// Where a term was found, as a bit of `contact_terms.fields`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    DisplayName,
    GivenName,
    FamilyName,
    Emails,
    Phones,
    Organizations,
}

impl Field {
    /// The fields a contact's own terms come from, in the order ties are broken.
    pub const OWN: [Field; 5] = [Field::DisplayName, Field::GivenName, Field::FamilyName, Field::Emails, Field::Phones];

    pub fn bit(self) -> i32 {
        1 << (self as i32)
    }

    /// The request-facing name (as in `SearchContactsResult.matched_fields`).
    pub fn name(self) -> &'static str {
        match self {
            Self::DisplayName => "display_name",
            Self::GivenName => "given_name",
            Self::FamilyName => "family_name",
            Self::Emails => "emails",
            Self::Phones => "phones",
            Self::Organizations => "organizations",
        }
    }

    /// The fields whose bits are set in `bits`.
    pub fn of_bits(bits: i32) -> impl Iterator<Item = Field> {
        Self::OWN.into_iter().filter(move |f| bits & f.bit() != 0)
    }
}

/// How a word met a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchKind {
    Exact,
    Prefix,
    Typo,
}

impl MatchKind {
    pub fn points(self, field: Field) -> Option<f64> {
        use Field::*;
        use MatchKind::*;
        match (field, self) {
            (DisplayName | GivenName | FamilyName, Exact) => Some(10.0),
            (DisplayName | GivenName | FamilyName, Prefix) => Some(6.0),
            (DisplayName | GivenName | FamilyName, Typo) => Some(4.0),
            (Emails, Exact) => Some(8.0),
            (Emails, Prefix) => Some(4.0),
            (Phones, Prefix | Exact) => Some(8.0),
            (Organizations, Exact) => Some(3.0),
            (Organizations, Prefix) => Some(2.0),
            (Organizations, Typo) => Some(1.0),
            (Emails | Phones, Typo) => None,
        }
    }
}

/// A validated query: 1 to [`QUERY_WORDS_MAX`] words.
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
        if value.chars().any(char::is_control) {
            return Err(FieldViolation::new(field, "must be one line without control characters"));
        }
        liaison_runtime::api::validate::unmangled(field, value)?;
        let mut words = match phone_query(value) {
            Some(digits) => vec![digits],
            None => query_words(value),
        };
        let mut seen = std::collections::HashSet::new();
        words.retain(|w| seen.insert(w.clone()));
        if words.is_empty() {
            return Err(FieldViolation::new(field, "must contain a letter or digit to search for"));
        }
        if words.len() > QUERY_WORDS_MAX {
            return Err(FieldViolation::new(field, format!("must have at most {QUERY_WORDS_MAX} words")));
        }
        Ok(Self { words })
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The terms a word looks up: its prefix range in the vocabulary (`[from, to)` in byte order) and, for a
    /// word of digits, the range of phone numbers ending with them.
    pub fn prefix_ranges(word: &str) -> Vec<(String, String)> {
        let mut ranges = vec![(word.to_owned(), format!("{word}{}", char::MAX))];
        if let Some(digits) = phone_digits(word) {
            let term = phone_term(&digits);
            ranges.push((term.clone(), format!("{term}{}", char::MAX)));
        }
        ranges
    }

    /// The keys under which a word's one-typo neighbours are found (none for short words): terms stored under
    /// the word itself or one of its deletions, and terms equal to one of its deletions.
    pub fn typo_keys(word: &str) -> Vec<String> {
        if !typo_eligible(word) {
            return Vec::new();
        }
        let mut keys = deletions(word);
        keys.push(word.to_owned());
        keys
    }

    /// How `word` meets `term`, if at all (`term` from a lookup of this word; this decides what it found).
    pub fn classify(word: &str, term: &str) -> Option<MatchKind> {
        if term == word {
            return Some(MatchKind::Exact);
        }
        if let Some(digits) = phone_digits(word)
            && term.starts_with(&phone_term(&digits))
        {
            return Some(MatchKind::Prefix);
        }
        if term.starts_with(word) {
            return Some(MatchKind::Prefix);
        }
        if typo_eligible(word) && within_one_edit(word, term) {
            return Some(MatchKind::Typo);
        }
        None
    }

    /// Ranks the matches gathered for each word (`per_word[i]` for `words()[i]`) into hits, best first.
    /// A contact missing from some word's matches is not a hit.
    pub fn rank(&self, per_word: &[Vec<Match>]) -> Vec<(String, Hit)> {
        let mut best: BTreeMap<&str, Vec<Option<&Match>>> = BTreeMap::new();
        for (i, matches) in per_word.iter().enumerate() {
            for m in matches {
                let slots = best.entry(m.id.as_str()).or_insert_with(|| vec![None; self.words.len()]);
                let Some(slot) = slots.get_mut(i) else { continue };
                if slot.is_none_or(|current| m.better_than(current)) {
                    *slot = Some(m);
                }
            }
        }
        let mut hits: Vec<(String, Hit)> = best
            .into_iter()
            .filter_map(|(id, slots)| {
                let found: Vec<&Match> = slots.into_iter().collect::<Option<_>>()?;
                let score = found.iter().map(|m| m.points()).sum();
                let explained = found
                    .iter()
                    .zip(&self.words)
                    .map(|(m, word)| WordMatch {
                        word: word.clone(),
                        field: m.field,
                        kind: m.kind,
                        term: display_term(&m.term),
                    })
                    .collect();
                Some((id.to_owned(), Hit { score, matches: explained }))
            })
            .collect();
        hits.sort_by(|(a, x), (b, y)| y.score.total_cmp(&x.score).then_with(|| a.cmp(b)));
        hits
    }
}

/// One term a word met in one field of one contact (or organisation).
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// The contact's id (or the organisation's, when organisations are searched).
    pub id: String,
    pub field: Field,
    pub kind: MatchKind,
    pub term: String,
}

impl Match {
    pub fn points(&self) -> f64 {
        self.kind.points(self.field).unwrap_or(0.0)
    }

    fn better_than(&self, other: &Match) -> bool {
        (self.points(), std::cmp::Reverse(self.field), std::cmp::Reverse(&self.term))
            > (other.points(), std::cmp::Reverse(other.field), std::cmp::Reverse(&other.term))
    }
}

/// How one query word matched a hit.
#[derive(Debug, Clone, PartialEq)]
pub struct WordMatch {
    pub word: String,
    pub field: Field,
    pub kind: MatchKind,
    /// The indexed word it met (a phone number's digits in their order).
    pub term: String,
}

/// How well a contact matched, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub score: f64,
    pub matches: Vec<WordMatch>,
}

impl Hit {
    /// The fields that matched, each once, in the order of the words.
    pub fn matched_fields(&self) -> Vec<&'static str> {
        let mut fields: Vec<&'static str> = Vec::new();
        for m in &self.matches {
            if !fields.contains(&m.field.name()) {
                fields.push(m.field.name());
            }
        }
        fields
    }
}

/// The index terms of a contact with the fields each comes from (a bit set of [`Field::bit`]), in term order.
pub fn contact_terms<'a>(
    names: [&str; 3],
    emails: impl IntoIterator<Item = &'a str>,
    phones: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<String, i32> {
    let mut terms: BTreeMap<String, i32> = BTreeMap::new();
    let fields = [Field::DisplayName, Field::GivenName, Field::FamilyName];
    for (name, field) in names.into_iter().zip(fields) {
        for word in words(name) {
            *terms.entry(word).or_default() |= field.bit();
        }
    }
    for email in emails {
        for term in email_terms(email) {
            *terms.entry(term).or_default() |= Field::Emails.bit();
        }
    }
    for phone in phones {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        if !digits.is_empty() {
            *terms.entry(phone_term(&digits)).or_default() |= Field::Phones.bit();
        }
    }
    terms
}

/// The index terms of an organisation's name.
pub fn organization_terms(display_name: &str) -> Vec<String> {
    let mut terms = words(display_name);
    terms.sort();
    terms.dedup();
    terms
}

/// The typo keys a vocabulary term is stored under: its one-letter deletions, for a name word long enough to
/// carry a typo (none for email addresses and phone numbers).
pub fn typo_keys_of_term(term: &str) -> Vec<String> {
    if !typo_eligible(term) {
        return Vec::new();
    }
    deletions(term)
}

/// The words of a name: folded, cut at anything that is not a letter or digit, spaceless scripts cut into
/// characters.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in fold(text).split(|c: char| !c.is_alphanumeric()) {
        push_word(&mut out, word);
    }
    out
}

/// The words of a query: like [`words`], but a word with `@`, `.` or `+` inside stays whole (an email address
/// or its local part).
fn query_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in fold(text).split(' ') {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        if word.chars().any(|c| matches!(c, '@' | '.' | '+')) {
            out.push(word.to_owned());
        } else {
            push_word(&mut out, word);
        }
    }
    out
}

fn push_word(out: &mut Vec<String>, word: &str) {
    if word.is_empty() {
        return;
    }
    if !word.chars().any(is_spaceless_script) {
        out.push(word.to_owned());
        return;
    }
    let mut run = String::new();
    for c in word.chars() {
        if is_spaceless_script(c) {
            if !run.is_empty() {
                out.push(std::mem::take(&mut run));
            }
            out.push(c.to_string());
        } else {
            run.push(c);
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
}

/// Han, kana and Hangul: names written without spaces between their parts.
fn is_spaceless_script(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK Extension A
        | 0x4E00..=0x9FFF    // CJK Unified Ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK Compatibility Ideographs
        | 0x20000..=0x3134F) // CJK Extensions B–G
}

fn email_terms(email: &str) -> Vec<String> {
    let email = email.to_lowercase();
    let local = email.rsplit_once('@').map_or(email.as_str(), |(local, _)| local).to_owned();
    let mut terms = vec![email.clone(), local.clone()];
    terms.extend(local.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty()).map(fold));
    terms.retain(|t| !t.is_empty());
    terms
}

/// A whole-query phone number (`+44 20 7946 0958`, `(020) 7946-0958`): its digits, leading zeros (a national
/// trunk prefix) and a `00`/`+` international prefix dropped, so it matches the end of the E.164 form.
fn phone_query(value: &str) -> Option<String> {
    // "+44 (0)20 …": the bracketed trunk zero is dialled only from inside the country.
    let value = value.replacen("(0)", "", 1);
    let value = value.as_str();
    let compact: String =
        value.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}' | '/')).collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if digits.len() < PHONE_SUFFIX_MIN_DIGITS || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Something typed with separators or a + is a phone number; plain digits stay a word (they can match
    // a name or an email too, and match phone endings anyway).
    if compact.len() == value.trim().len() && !value.trim_start().starts_with('+') {
        return None;
    }
    Some(digits.trim_start_matches('0').to_owned()).filter(|d| d.len() >= PHONE_SUFFIX_MIN_DIGITS)
}

/// The digits of a word that can be the end of a phone number.
fn phone_digits(word: &str) -> Option<String> {
    (word.chars().all(|c| c.is_ascii_digit()) && word.len() >= PHONE_SUFFIX_MIN_DIGITS).then(|| word.to_owned())
}

/// The term of a phone number's digits: reversed, so that a suffix is a prefix.
fn phone_term(digits: &str) -> String {
    std::iter::once(PHONE_MARK).chain(digits.chars().rev()).collect()
}

/// A term as a person reads it (a phone term's digits back in order).
fn display_term(term: &str) -> String {
    match term.strip_prefix(PHONE_MARK) {
        Some(reversed) => reversed.chars().rev().collect(),
        None => term.to_owned(),
    }
}

/// Whether a word can carry a typo: long enough, and letters (numbers and addresses are exact).
fn typo_eligible(word: &str) -> bool {
    word.chars().count() >= TYPO_MIN_CHARS
        && word.chars().all(char::is_alphanumeric)
        && !word.chars().all(|c| c.is_ascii_digit())
}

/// Each string made by leaving out one character.
fn deletions(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out: Vec<String> = (0..chars.len())
        .map(|skip| chars.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, c)| c).collect())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether one insertion, deletion, substitution or swap of neighbours turns `a` into `b` (or they are equal).
pub fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() { (&a, &b) } else { (&b, &a) };
    match long.len() - short.len() {
        0 => {
            let differ: Vec<usize> = (0..short.len()).filter(|&i| short[i] != long[i]).collect();
            match differ.as_slice() {
                [] | [_] => true,
                [i, j] => *j == i + 1 && short[*i] == long[*j] && short[*j] == long[*i],
                _ => false,
            }
        }
        1 => {
            let first = (0..short.len()).find(|&i| short[i] != long[i]).unwrap_or(short.len());
            short[first..] == long[first + 1..]
        }
        _ => false,
    }
}

/// Text folded for matching: lower case, accents removed, runs of non-alphanumerics collapsed to one space.
pub fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    // Decomposed to drop accents, then composed again: Hangul syllables decompose into letters that are not marks.
    for c in text.nfd().filter(|c| !is_combining_mark(*c)).nfc().flat_map(char::to_lowercase) {
        let c = fold_letter(c);
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

/// Letters that carry no combining mark to strip but are read as a base letter ("Đặng" is found as "dang").
fn fold_letter(c: char) -> char {
    match c {
        'đ' | 'ð' => 'd',
        'ø' => 'o',
        'ł' => 'l',
        'ı' => 'i',
        'ħ' => 'h',
        other => other,
    }
}

#[cfg(test)]
mod tests;
