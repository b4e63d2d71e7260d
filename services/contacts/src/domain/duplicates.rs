//! Duplicate detection: which pairs of live contacts are probably the same person, why, and how likely.
//!
//! Evidence comes from two places. Shared keys (an email address or phone number held by two contacts) are found
//! by the store with one query over `contact_keys`. Names are compared here: a contact's *name key* is its display
//! name folded (case and accents removed, see [`search::fold`]) with its words sorted, so word order does not
//! matter either. Equal keys are `SAME_NAME`; keys a typo or two apart are `SIMILAR_NAME`.
//!
//! Comparing every pair of a register of 10,000 contacts would be 50 million comparisons, so names are blocked
//! with the *sorted-neighbourhood* method: the distinct name keys are sorted, and each is compared with the next
//! [`NAME_WINDOW`] keys; then again with the keys sorted by their reversed text, so a typo near the start of a
//! name (which moves it far away in the first order) is still caught near its end. That is `O(n log n)` and about
//! `2 × NAME_WINDOW` comparisons per contact; a pair of names typo'd both at the start and at the end can be
//! missed, which is the price of not comparing everything.
//!
//! # Score
//!
//! Each reason found contributes a weight `w` (counted once, however many addresses the two share):
//!
//! | reason         | w                                          |
//! |----------------|--------------------------------------------|
//! | `SAME_EMAIL`   | 0.9                                        |
//! | `SAME_PHONE`   | 0.8                                        |
//! | `SAME_NAME`    | 0.6                                        |
//! | `SIMILAR_NAME` | 0.6 × Jaro-Winkler similarity of the keys  |
//!
//! and the reasons combine as independent evidence: `score = 1 − Π (1 − w)`. One shared email alone scores 0.9,
//! an identical name alone 0.6, a shared email and phone 0.98, all of email, phone and name 0.992; the score stays
//! below 1 and only grows with more evidence. Scores are rounded to millionths so that pages are stable.
use super::search;
use std::collections::{BTreeMap, HashMap, HashSet};

/// How many following keys each name key is compared with, in each of the two sort orders.
pub const NAME_WINDOW: usize = 10;
/// A value (address, number or name key) held by more contacts than this is not paired on its own: a switchboard
/// number or a very common name says little about any two of its holders and would produce thousands of pairs.
pub const GROUP_MAX: usize = 100;
/// The pairs FindDuplicateContacts lists: the best of the register. Merging some and asking again shows the next;
/// a list this long is kept (until the next write) for its later pages.
pub const PAIRS_MAX: usize = 4_000;

pub const SAME_EMAIL_WEIGHT: f64 = 0.9;
pub const SAME_PHONE_WEIGHT: f64 = 0.8;
pub const SAME_NAME_WEIGHT: f64 = 0.6;
/// Multiplied by the Jaro-Winkler similarity of the two name keys.
pub const SIMILAR_NAME_WEIGHT: f64 = 0.6;

/// Why two contacts look like the same person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    SameEmail,
    SamePhone,
    SameName,
    SimilarName,
}

impl Reason {
    pub fn to_wire(self) -> i32 {
        use liaison_proto::contacts::v1::DuplicateReason as W;
        (match self {
            Self::SameEmail => W::SameEmail,
            Self::SamePhone => W::SamePhone,
            Self::SameName => W::SameName,
            Self::SimilarName => W::SimilarName,
        }) as i32
    }
}

/// One reason, with what matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub reason: Reason,
    /// The shared address or number, or the two display names.
    pub detail: String,
    /// The weight this evidence contributes (see the module documentation).
    pub weight: f64,
}

/// A live contact as duplicate detection sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub display_name: String,
}

/// Two contacts that are probably the same person: `contact` is the older (smaller UUIDv7 id).
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub contact: String,
    pub duplicate: String,
    /// The score in millionths, 0..=1,000,000.
    pub score_micros: u32,
    /// Evidence in reason order.
    pub evidence: Vec<Evidence>,
}

impl Pair {
    pub fn score(&self) -> f64 {
        f64::from(self.score_micros) / 1e6
    }

    /// A key that sorts pairs best first (highest score, then by the two ids): pages resume after one.
    pub fn sort_key(&self) -> String {
        format!("{:07}/{}/{}", 1_000_000 - self.score_micros.min(1_000_000), self.contact, self.duplicate)
    }
}

/// A score in millionths, for a threshold given as 0..1.
pub fn micros(score: f64) -> u32 {
    (score.clamp(0.0, 1.0) * 1e6).round() as u32
}

/// `1 − Π (1 − w)` over the strongest evidence of each reason.
pub fn score(evidence: &[Evidence]) -> f64 {
    let mut strongest: BTreeMap<Reason, f64> = BTreeMap::new();
    for e in evidence {
        let w = strongest.entry(e.reason).or_insert(0.0);
        *w = w.max(e.weight.clamp(0.0, 1.0));
    }
    1.0 - strongest.values().map(|w| 1.0 - w).product::<f64>()
}

/// The contacts a new contact probably duplicates, best first, at most `max`: `holders` are `(key, person)` for
/// each live contact holding one of the new contact's keys (`email:…`, `phone:…`, `name:{name key}`), found by
/// index. Its name is also compared with theirs for a similar spelling.
pub fn likely_duplicates(new: &Person, holders: &[(String, Person)], max: usize) -> Vec<(Person, f64, Vec<Evidence>)> {
    let new_key = name_key(&new.display_name);
    let mut by_person: BTreeMap<&str, (&Person, Vec<Evidence>)> = BTreeMap::new();
    for (key, person) in holders {
        if person.id == new.id {
            continue;
        }
        let (_, evidence) = by_person.entry(person.id.as_str()).or_insert_with(|| (person, Vec::new()));
        if let Some(address) = key.strip_prefix("email:") {
            evidence.push(Evidence {
                reason: Reason::SameEmail,
                detail: address.to_owned(),
                weight: SAME_EMAIL_WEIGHT,
            });
        } else if let Some(number) = key.strip_prefix("phone:") {
            evidence.push(Evidence { reason: Reason::SamePhone, detail: number.to_owned(), weight: SAME_PHONE_WEIGHT });
        }
    }
    let mut found: Vec<(Person, f64, Vec<Evidence>)> = by_person
        .into_values()
        .filter_map(|(person, mut evidence)| {
            evidence.extend(compare_names(
                &new.display_name,
                &new_key,
                &person.display_name,
                &name_key(&person.display_name),
            ));
            evidence.sort_by(|x, y| x.reason.cmp(&y.reason).then_with(|| x.detail.cmp(&y.detail)));
            let score = f64::from(micros(score(&evidence))) / 1e6;
            (!evidence.is_empty()).then(|| (person.clone(), score, evidence))
        })
        .collect();
    found.sort_by(|(a, x, _), (b, y, _)| y.total_cmp(x).then_with(|| a.id.cmp(&b.id)));
    found.truncate(max);
    found
}

/// The name key: folded display name, words sorted.
pub fn name_key(display_name: &str) -> String {
    let folded = search::fold(display_name);
    let mut words: Vec<&str> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    words.sort_unstable();
    words.join(" ")
}

/// How many typos two name keys may differ by and still be `SIMILAR_NAME`, by the length of the shorter one:
/// none under 4 characters ("Ada" and "Ida" are different people), one up to 7, two from 8.
pub fn typo_budget(shorter_len: usize) -> usize {
    match shorter_len {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// The name evidence between two contacts, if any: `SAME_NAME` for equal keys, `SIMILAR_NAME` for keys within
/// the typo budget.
pub fn compare_names(a_display: &str, a_key: &str, b_display: &str, b_key: &str) -> Option<Evidence> {
    if a_key.is_empty() || b_key.is_empty() {
        return None;
    }
    let detail = || format!("'{a_display}' / '{b_display}'");
    if a_key == b_key {
        return Some(Evidence { reason: Reason::SameName, detail: detail(), weight: SAME_NAME_WEIGHT });
    }
    let a: Vec<char> = a_key.chars().collect();
    let b: Vec<char> = b_key.chars().collect();
    if !within_typos(&a, &b) {
        return None;
    }
    Some(Evidence { reason: Reason::SimilarName, detail: detail(), weight: SIMILAR_NAME_WEIGHT * jaro_winkler(&a, &b) })
}

/// The optimal-string-alignment distance (Levenshtein plus adjacent transpositions, each one typo) between `a`
/// and `b` if it is at most `max`; `None` as soon as it cannot be. Only the diagonal band `|i − j| ≤ max` is
/// computed: cells outside it are more than `max` anyway.
pub fn osa_distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let over = max + 1;
    let width = b.len() + 1;
    let mut before: Vec<usize> = vec![over; width];
    let mut previous: Vec<usize> = (0..width).map(|j| j.min(over)).collect();
    let mut current: Vec<usize> = vec![over; width];
    for i in 1..=a.len() {
        current.fill(over);
        current[0] = i.min(over);
        let mut row_min = current[0];
        for j in i.saturating_sub(max).max(1)..=(i + max).min(b.len()) {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (previous[j] + 1).min(current[j - 1] + 1).min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            current[j] = d.min(over);
            row_min = row_min.min(current[j]);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    let distance = previous[b.len()];
    (distance <= max).then_some(distance)
}

/// Whether two different name keys are within the typo budget of the shorter one.
fn within_typos(a: &[char], b: &[char]) -> bool {
    let budget = typo_budget(a.len().min(b.len()));
    budget > 0 && osa_distance(a, b, budget).is_some()
}

/// Character counts of a key in 32 buckets, for [`bag_distance`].
type Bag = [u8; 32];

fn bag(key: &[char]) -> Bag {
    let mut counts = [0u8; 32];
    for c in key {
        let bucket = &mut counts[(u32::from(*c) % 32) as usize];
        *bucket = bucket.saturating_add(1);
    }
    counts
}

/// A lower bound of the edit distance, much cheaper to compute: each typo adds or removes at most one character
/// of each bucket, so keys whose bags differ by more than the budget cannot be within it.
fn bag_distance(a: &Bag, b: &Bag) -> usize {
    let (mut more, mut fewer) = (0usize, 0usize);
    for (x, y) in a.iter().zip(b) {
        if x > y {
            more += usize::from(x - y);
        } else {
            fewer += usize::from(y - x);
        }
    }
    more.max(fewer)
}

/// Jaro-Winkler similarity, 0 (nothing in common) to 1 (equal), with the usual prefix scale 0.1 over at most
/// four characters.
pub fn jaro_winkler(a: &[char], b: &[char]) -> f64 {
    let jaro = jaro(a, b);
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
    jaro + prefix as f64 * 0.1 * (1.0 - jaro)
}

fn jaro(a: &[char], b: &[char]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let reach = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut b_taken = vec![false; b.len()];
    let mut a_matches = Vec::new();
    for (i, ca) in a.iter().enumerate() {
        let start = i.saturating_sub(reach);
        let end = (i + reach + 1).min(b.len());
        for j in start..end {
            if !b_taken[j] && b[j] == *ca {
                b_taken[j] = true;
                a_matches.push(*ca);
                break;
            }
        }
    }
    if a_matches.is_empty() {
        return 0.0;
    }
    let b_matches = b.iter().zip(&b_taken).filter(|(_, taken)| **taken).map(|(c, _)| *c);
    let transpositions = a_matches.iter().zip(b_matches).filter(|(x, y)| **x != *y).count() / 2;
    let m = a_matches.len() as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - transpositions as f64) / m) / 3.0
}

/// Every probable pair among `people` (live contacts), given the keys they share (`(key, contact id)` rows with
/// keys `email:…` / `phone:…`, as `contact_keys` stores them). Pairs come out best first.
pub fn find(people: &[Person], shared_keys: &[(String, String)]) -> Vec<Pair> {
    find_best(people, shared_keys, PAIRS_MAX)
}

/// Like [`find`], keeping only the `max` best pairs: each candidate pair is scored as it is found and kept in a
/// bounded heap, so memory stays `O(max)` however many names sit a typo apart (a register of 100,000 held 1.4 GiB
/// of candidate pairs before).
pub fn find_best(people: &[Person], shared_keys: &[(String, String)], max: usize) -> Vec<Pair> {
    // id → (name key, display name)
    let name_keys: HashMap<&str, (String, &str)> =
        people.iter().map(|p| (p.id.as_str(), (name_key(&p.display_name), p.display_name.as_str()))).collect();
    // (older id, newer id) → key evidence found so far.
    let mut pairs: HashMap<(&str, &str), Vec<Evidence>> = HashMap::new();

    // Shared addresses and numbers, grouped by key; only live people count.
    let mut holders: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (key, id) in shared_keys {
        if let Some((id, _)) = name_keys.get_key_value(id.as_str()) {
            holders.entry(key.as_str()).or_default().push(id);
        }
    }
    for (key, ids) in &holders {
        let (reason, weight, value) = if let Some(address) = key.strip_prefix("email:") {
            (Reason::SameEmail, SAME_EMAIL_WEIGHT, address)
        } else if let Some(number) = key.strip_prefix("phone:") {
            (Reason::SamePhone, SAME_PHONE_WEIGHT, number)
        } else {
            continue;
        };
        let mut sharing = HashSet::new();
        pair_within(ids, &mut |a, b| sharing.extend(ordered(a, b)));
        for pair in sharing {
            pairs.entry(pair).or_default().push(Evidence { reason, detail: value.to_owned(), weight });
        }
    }

    // Names: the people of each distinct key, then neighbouring keys in two sort orders.
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, (key, _)) in &name_keys {
        if !key.is_empty() {
            by_key.entry(key.as_str()).or_default().push(id);
        }
    }
    let mut best = Best::new(max);
    // A pair that shares a key is scored below, with its name evidence added to its key evidence.
    let mut name_pair = |a: &str, b: &str| {
        let Some((a, b)) = ordered(a, b) else { return };
        if pairs.contains_key(&(a, b)) {
            return;
        }
        // The ids as `name_keys` holds them: they live as long as `people`, as the kept pairs must.
        let (Some((a, (a_key, a_name))), Some((b, (b_key, b_name)))) =
            (name_keys.get_key_value(a), name_keys.get_key_value(b))
        else {
            return;
        };
        if let Some(evidence) = compare_names(a_name, a_key, b_name, b_key) {
            best.offer(a, b, vec![evidence]);
        }
    };
    for ids in by_key.values() {
        pair_within(ids, &mut name_pair);
    }
    // Distinct keys by index: `forward` is their sorted order, `backward` the order of their reversed text.
    let groups: Vec<&Vec<&str>> = by_key.values().collect();
    let spelled: Vec<Vec<char>> = by_key.keys().map(|k| k.chars().collect()).collect();
    let bags: Vec<Bag> = spelled.iter().map(|k| bag(k)).collect();
    let forward: Vec<usize> = (0..spelled.len()).collect();
    let mut backward = forward.clone();
    backward.sort_unstable_by(|x, y| spelled[*x].iter().rev().cmp(spelled[*y].iter().rev()));
    let mut compared: HashSet<(usize, usize)> = HashSet::new();
    for order in [&forward, &backward] {
        for (i, a) in order.iter().enumerate() {
            for b in order.iter().skip(i + 1).take(NAME_WINDOW) {
                let pair = (*a.min(b), *a.max(b));
                let (x, y) = (&spelled[pair.0], &spelled[pair.1]);
                if compared.insert(pair)
                    && bag_distance(&bags[pair.0], &bags[pair.1]) <= typo_budget(x.len().min(y.len()))
                    && within_typos(x, y)
                {
                    pair_across(groups[pair.0], groups[pair.1], &mut name_pair);
                }
            }
        }
    }
    for ((a, b), mut evidence) in pairs {
        let (Some((a_key, a_name)), Some((b_key, b_name))) = (name_keys.get(a), name_keys.get(b)) else { continue };
        evidence.extend(compare_names(a_name, a_key, b_name, b_key));
        if !evidence.is_empty() {
            best.offer(a, b, evidence);
        }
    }
    best.into_sorted()
}

/// At most `max` pairs, the best of those offered (highest score, then the smaller ids).
struct Best<'a> {
    max: usize,
    /// A max-heap whose top is the worst pair kept.
    heap: std::collections::BinaryHeap<Kept<'a>>,
}

/// A kept pair, ordered worst-last: by score descending, then by ids (so the heap's top is the worst).
struct Kept<'a> {
    score_micros: u32,
    contact: &'a str,
    duplicate: &'a str,
    evidence: Vec<Evidence>,
}

impl Kept<'_> {
    fn rank(&self) -> (std::cmp::Reverse<u32>, &str, &str) {
        (std::cmp::Reverse(self.score_micros), self.contact, self.duplicate)
    }
}

impl PartialEq for Kept<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.rank() == other.rank()
    }
}
impl Eq for Kept<'_> {}
impl PartialOrd for Kept<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Kept<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl<'a> Best<'a> {
    fn new(max: usize) -> Self {
        Self { max, heap: std::collections::BinaryHeap::new() }
    }

    fn offer(&mut self, contact: &'a str, duplicate: &'a str, mut evidence: Vec<Evidence>) {
        let score_micros = micros(score(&evidence));
        let kept = Kept { score_micros, contact, duplicate, evidence: Vec::new() };
        if self.heap.len() >= self.max && self.heap.peek().is_none_or(|worst| kept >= *worst) {
            return;
        }
        evidence.sort_by(|x, y| x.reason.cmp(&y.reason).then_with(|| x.detail.cmp(&y.detail)));
        self.heap.push(Kept { evidence, ..kept });
        if self.heap.len() > self.max {
            self.heap.pop();
        }
    }

    fn into_sorted(self) -> Vec<Pair> {
        let mut found: Vec<Pair> = self
            .heap
            .into_iter()
            .map(|k| Pair {
                contact: k.contact.to_owned(),
                duplicate: k.duplicate.to_owned(),
                score_micros: k.score_micros,
                evidence: k.evidence,
            })
            .collect();
        found.sort_by_cached_key(Pair::sort_key);
        found
    }
}

/// Every pair within one group (the holders of one value), unless the group is too large to mean anything.
fn pair_within<'a>(group: &[&'a str], pair: &mut impl FnMut(&'a str, &'a str)) {
    if group.len() > GROUP_MAX {
        return;
    }
    for (i, x) in group.iter().enumerate() {
        for y in &group[i + 1..] {
            pair(x, y);
        }
    }
}

/// Every pair across two groups (the holders of two similar names), unless either is too large.
fn pair_across<'a>(a: &[&'a str], b: &[&'a str], pair: &mut impl FnMut(&'a str, &'a str)) {
    if a.len() > GROUP_MAX || b.len() > GROUP_MAX {
        return;
    }
    for x in a {
        for y in b {
            pair(x, y);
        }
    }
}

/// `(older, newer)` by id (UUIDv7 ids sort by creation); `None` for one contact with itself.
fn ordered<'a>(a: &'a str, b: &'a str) -> Option<(&'a str, &'a str)> {
    match a.cmp(b) {
        std::cmp::Ordering::Less => Some((a, b)),
        std::cmp::Ordering::Greater => Some((b, a)),
        std::cmp::Ordering::Equal => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, name: &str) -> Person {
        Person { id: id.into(), display_name: name.into() }
    }

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn only_the_best_pairs_are_kept_and_in_the_order_all_of_them_would_have() {
        let people: Vec<Person> = (0..30)
            .map(|i| person(&format!("id-{i:02}"), ["Ada Lovelace", "Ada Lovelac", "Ada Lovelace"][i % 3]))
            .collect();
        let keys = vec![
            ("email:shared@example.org".to_owned(), "id-05".to_owned()),
            ("email:shared@example.org".to_owned(), "id-07".to_owned()),
        ];
        let all = find_best(&people, &keys, usize::MAX);
        assert!(all.len() > 100, "enough candidates to cut: {}", all.len());
        for max in [1, 7, 50] {
            let best = find_best(&people, &keys, max);
            assert_eq!(best, all[..max], "the best {max}");
        }
        assert_eq!((all[0].contact.as_str(), all[0].duplicate.as_str()), ("id-05", "id-07"), "the shared email first");
    }

    #[test]
    fn a_new_contact_is_told_of_the_holders_of_its_email_and_name_best_first() {
        let new = person("new", "Ada Lovelace");
        let holders = vec![
            ("name:ada lovelace".to_owned(), person("twin", "Lovelace, Ada")),
            ("email:ada@example.org".to_owned(), person("same-email", "A. Lovelace")),
            ("email:ada@example.org".to_owned(), person("twin", "Lovelace, Ada")),
            ("email:ada@example.org".to_owned(), person("new", "Ada Lovelace")),
        ];
        let found = likely_duplicates(&new, &holders, 10);
        let ids: Vec<&str> = found.iter().map(|(p, _, _)| p.id.as_str()).collect();
        assert_eq!(ids, ["twin", "same-email"], "itself is never its own duplicate");
        let reasons: Vec<Reason> = found[0].2.iter().map(|e| e.reason).collect();
        assert_eq!(reasons, [Reason::SameEmail, Reason::SameName]);
        assert!((found[0].1 - 0.96).abs() < 1e-9, "{}", found[0].1);
        assert_eq!(likely_duplicates(&new, &holders, 1).len(), 1);
    }

    #[test]
    fn name_keys_ignore_case_accents_and_word_order() {
        assert_eq!(name_key("Zoë  MÜLLER"), name_key("muller, zoe"));
        assert_eq!(name_key("Ada Lovelace"), "ada lovelace");
        assert_eq!(name_key("  --  "), "");
    }

    #[test]
    fn the_edit_distance_counts_a_transposition_as_one_typo_and_stops_early() {
        assert_eq!(osa_distance(&chars("john smith"), &chars("jonh smith"), 2), Some(1));
        assert_eq!(osa_distance(&chars("kitten"), &chars("sitting"), 3), Some(3));
        assert_eq!(osa_distance(&chars("kitten"), &chars("sitting"), 2), None);
        assert_eq!(osa_distance(&chars("abc"), &chars("abc"), 0), Some(0));
        assert_eq!(osa_distance(&chars("a"), &chars("abcdef"), 2), None);
    }

    #[test]
    fn the_bag_distance_never_exceeds_the_edit_distance() {
        for (a, b) in [("john smith", "jonh smith"), ("kitten", "sitting"), ("zoë", "zoe"), ("ab", "abcd"), ("x", "")]
        {
            let (a, b) = (chars(a), chars(b));
            let edit = osa_distance(&a, &b, 10).expect("within 10");
            assert!(bag_distance(&bag(&a), &bag(&b)) <= edit, "{a:?} {b:?}");
        }
    }

    #[test]
    fn jaro_winkler_matches_the_textbook_values() {
        let jw = |a: &str, b: &str| jaro_winkler(&chars(a), &chars(b));
        assert!((jw("martha", "marhta") - 0.9611).abs() < 1e-3);
        assert!((jw("dwayne", "duane") - 0.84).abs() < 1e-3);
        assert!((jw("dixon", "dicksonx") - 0.8133).abs() < 1e-3);
        assert_eq!(jw("same", "same"), 1.0);
        assert_eq!(jw("abc", "xyz"), 0.0);
    }

    #[test]
    fn short_names_need_to_be_equal_and_longer_ones_may_differ_by_a_typo_or_two() {
        let reason = |a: &str, b: &str| compare_names(a, &name_key(a), b, &name_key(b)).map(|e| e.reason);
        assert_eq!(reason("Ada", "Ida"), None);
        assert_eq!(reason("Ada", "ADA"), Some(Reason::SameName));
        assert_eq!(reason("Anna", "Anne"), Some(Reason::SimilarName));
        assert_eq!(reason("Jon Smith", "John Smith"), Some(Reason::SimilarName));
        assert_eq!(reason("Jon Smyth", "John Smith"), Some(Reason::SimilarName));
        assert_eq!(reason("Jane Smith", "John Smith"), None);
        assert_eq!(reason("Smith, John", "john SMITH"), Some(Reason::SameName));
    }

    #[test]
    fn the_score_combines_reasons_as_independent_evidence() {
        let e = |reason, weight| Evidence { reason, detail: String::new(), weight };
        assert!((score(&[e(Reason::SameEmail, 0.9)]) - 0.9).abs() < 1e-9);
        assert!((score(&[e(Reason::SameEmail, 0.9), e(Reason::SamePhone, 0.8)]) - 0.98).abs() < 1e-9);
        let all = [e(Reason::SameEmail, 0.9), e(Reason::SamePhone, 0.8), e(Reason::SameName, 0.6)];
        assert!((score(&all) - 0.992).abs() < 1e-9);
        // Two shared addresses are one reason, counted once.
        assert!((score(&[e(Reason::SameEmail, 0.9), e(Reason::SameEmail, 0.9)]) - 0.9).abs() < 1e-9);
        assert_eq!(score(&[]), 0.0);
    }

    #[test]
    fn pairs_carry_every_reason_and_come_best_first() {
        let people = [
            person("01", "Ada Lovelace"),
            person("02", "Lovelace Ada"),
            person("03", "Charles Babbage"),
            person("04", "Charles Babage"),
            person("05", "Someone Else"),
        ];
        let keys = [
            ("email:ada@example.org".to_owned(), "01".to_owned()),
            ("email:ada@example.org".to_owned(), "02".to_owned()),
            ("phone:+33123456789".to_owned(), "03".to_owned()),
            ("phone:+33123456789".to_owned(), "05".to_owned()),
        ];
        let pairs = find(&people, &keys);
        let summary: Vec<(&str, &str, Vec<Reason>)> = pairs
            .iter()
            .map(|p| (p.contact.as_str(), p.duplicate.as_str(), p.evidence.iter().map(|e| e.reason).collect()))
            .collect();
        assert_eq!(
            summary,
            [
                ("01", "02", vec![Reason::SameEmail, Reason::SameName]),
                ("03", "05", vec![Reason::SamePhone]),
                ("03", "04", vec![Reason::SimilarName]),
            ]
        );
        assert_eq!(pairs[0].score_micros, 960_000);
        assert_eq!(pairs[1].score_micros, 800_000);
        assert!(pairs[2].score() > 0.5 && pairs[2].score() < 0.6, "{}", pairs[2].score());
        assert_eq!(pairs[0].evidence[0].detail, "ada@example.org");
    }

    #[test]
    fn keys_of_people_not_listed_are_ignored() {
        let people = [person("01", "Ada"), person("02", "Bob")];
        let keys =
            [("email:x@example.org".to_owned(), "01".to_owned()), ("email:x@example.org".to_owned(), "09".to_owned())];
        assert!(find(&people, &keys).is_empty());
    }

    #[test]
    fn a_typo_at_the_start_of_a_name_is_found_through_the_reversed_order() {
        // Many names sort between "bohn weatherby" and "john weatherby"; their ends are neighbours.
        let mut people: Vec<Person> =
            (0..200).map(|i| person(&format!("{i:04}"), &format!("Candidate{i:03} Person"))).collect();
        people.push(person("8000", "John Weatherby"));
        people.push(person("8001", "Bohn Weatherby"));
        let pairs = find(&people, &[]);
        assert!(pairs.iter().any(|p| p.contact == "8000" && p.duplicate == "8001"), "{pairs:?}");
    }

    #[test]
    fn ten_thousand_contacts_are_compared_quickly_and_not_pairwise() {
        let given = ["Ada", "Bob", "Carla", "Dmitri", "Eve", "Farid", "Greta", "Hugo", "Ines", "Jonas"];
        // Pseudo-random eight-letter family names (a linear congruential generator, for reproducibility).
        let mut seed: u64 = 42;
        let mut letter = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (b'a' + ((seed >> 33) % 26) as u8) as char
        };
        let people: Vec<Person> = (0..10_000)
            .map(|i| {
                let family: String = (0..8).map(|_| letter()).collect();
                person(&format!("{i:05}"), &format!("{} {family}", given[i % given.len()]))
            })
            .chain([person("99998", "Greta Thunberg"), person("99999", "Greta Thunberq")])
            .collect();
        let started = std::time::Instant::now();
        let pairs = find(&people, &[]);
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
        assert!(pairs.iter().any(|p| p.contact == "99998" && p.duplicate == "99999"));
    }

    #[test]
    fn a_name_shared_by_very_many_people_pairs_nobody_by_name_alone() {
        let people: Vec<Person> = (0..=GROUP_MAX).map(|i| person(&format!("{i:04}"), "Test Person")).collect();
        assert!(find(&people, &[]).is_empty());
        let few: Vec<Person> = (0..3).map(|i| person(&format!("{i:04}"), "Test Person")).collect();
        assert_eq!(find(&few, &[]).len(), 3);
    }
}
