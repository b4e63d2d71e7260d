use super::*;

fn matched(id: &str, field: Field, kind: MatchKind, term: &str) -> Match {
    Match { id: id.into(), field, kind, term: term.into() }
}

#[test]
fn folding_removes_case_and_accents_and_reads_barred_letters_as_their_base() {
    assert_eq!(fold("  Zoë  MÜLLER-Lüdenscheidt "), "zoe muller ludenscheidt");
    assert_eq!(words("Đặng Thị Ørsted Łukasz"), ["dang", "thi", "orsted", "lukasz"]);
}

#[test]
fn names_in_spaceless_scripts_are_cut_into_characters() {
    assert_eq!(words("山田太郎"), ["山", "田", "太", "郎"]);
    assert_eq!(words("김민준"), ["김", "민", "준"]);
    assert_eq!(words("Иван Петров"), ["иван", "петров"]);
    assert_eq!(words("अनुराग").len(), 1, "a Devanagari name stays one word");
}

#[test]
fn a_contact_is_indexed_by_name_words_email_parts_and_reversed_phone_digits() {
    let terms = contact_terms(["Ada Lovelace", "Ada", "Lovelace"], ["A.Lovelace@Example.org"], ["+442079460958"]);
    let ada = Field::DisplayName.bit() | Field::GivenName.bit();
    assert_eq!(terms.get("ada"), Some(&ada));
    assert_eq!(
        terms.get("lovelace"),
        Some(&(Field::DisplayName.bit() | Field::FamilyName.bit() | Field::Emails.bit()))
    );
    assert_eq!(terms.get("a.lovelace@example.org"), Some(&Field::Emails.bit()));
    assert_eq!(terms.get("a.lovelace"), Some(&Field::Emails.bit()));
    assert_eq!(terms.get("#859064970244"), Some(&Field::Phones.bit()));
    assert!(!terms.contains_key("example"), "the domain would make everyone at it match: {terms:?}");
}

#[test]
fn only_letter_words_long_enough_get_typo_keys() {
    assert_eq!(typo_keys_of_term("okafor").len(), 6);
    assert!(typo_keys_of_term("okafor").contains(&"okafr".to_owned()));
    assert!(typo_keys_of_term("ann").is_empty());
    assert!(typo_keys_of_term("a.lovelace").is_empty());
    assert!(typo_keys_of_term("#8590649").is_empty());
    assert!(typo_keys_of_term("2024").is_empty());
}

#[test]
fn one_edit_means_one_insertion_deletion_substitution_or_swap() {
    assert!(within_one_edit("okafr", "okafor"));
    assert!(within_one_edit("okafor", "okafr"));
    assert!(within_one_edit("okafor", "okafar"));
    assert!(within_one_edit("okafor", "okaofr"));
    assert!(within_one_edit("okafor", "okafor"));
    assert!(!within_one_edit("okafor", "okfar"));
    assert!(!within_one_edit("okafor", "kaforo"));
    assert!(!within_one_edit("okafor", "okafori1"));
}

#[test]
fn a_word_meets_a_term_exactly_as_a_prefix_or_with_one_typo() {
    assert_eq!(Query::classify("okafor", "okafor"), Some(MatchKind::Exact));
    assert_eq!(Query::classify("oka", "okafor"), Some(MatchKind::Prefix));
    assert_eq!(Query::classify("okafr", "okafor"), Some(MatchKind::Typo));
    assert_eq!(Query::classify("jan", "ann"), None, "three-letter words carry no typo");
    assert_eq!(Query::classify("7946", "#859064970244"), None, "not its end");
    assert_eq!(Query::classify("0958", "#859064970244"), Some(MatchKind::Prefix));
}

#[test]
fn a_phone_number_in_any_format_is_one_word_of_its_significant_digits() {
    for typed in ["+44 20 7946 0958", "(020) 7946-0958", "020 7946 0958", "0044 20 7946 0958"] {
        let query = Query::parse("q", typed).expect("valid");
        assert!(query.words().len() == 1, "{typed}: {:?}", query.words());
        let word = &query.words()[0];
        assert!("442079460958".ends_with(word.as_str()), "{typed}: {word}");
        assert_eq!(Query::classify(word, "#859064970244"), Some(MatchKind::Prefix), "{typed}");
    }
    assert_eq!(Query::parse("q", "2024 report").expect("valid").words(), ["2024", "report"]);
}

#[test]
fn every_word_must_match_and_exact_ranks_above_prefix_above_typo() {
    let query = Query::parse("q", "okafor ada").expect("valid");
    let per_word = vec![
        vec![
            matched("exact", Field::FamilyName, MatchKind::Exact, "okafor"),
            matched("prefix", Field::FamilyName, MatchKind::Prefix, "okaforo"),
            matched("typo", Field::FamilyName, MatchKind::Typo, "okafo"),
            matched("alone", Field::FamilyName, MatchKind::Exact, "okafor"),
        ],
        vec![
            matched("exact", Field::GivenName, MatchKind::Exact, "ada"),
            matched("prefix", Field::GivenName, MatchKind::Exact, "ada"),
            matched("typo", Field::GivenName, MatchKind::Exact, "ada"),
        ],
    ];
    let hits = query.rank(&per_word);
    let ids: Vec<&str> = hits.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["exact", "prefix", "typo"]);
    let (_, best) = &hits[0];
    assert_eq!(best.score, 20.0);
    assert_eq!(best.matched_fields(), ["family_name", "given_name"]);
    assert_eq!(best.matches[0].kind, MatchKind::Exact);
    assert_eq!(hits[2].1.matches[0].term, "okafo");
}

#[test]
fn a_word_takes_its_best_match_and_ties_go_to_the_older_contact() {
    let query = Query::parse("q", "lovelace").expect("valid");
    let per_word = vec![vec![
        matched("b-newer", Field::Emails, MatchKind::Exact, "lovelace"),
        matched("b-newer", Field::FamilyName, MatchKind::Exact, "lovelace"),
        matched("a-older", Field::FamilyName, MatchKind::Exact, "lovelace"),
    ]];
    let hits = query.rank(&per_word);
    assert_eq!(hits.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["a-older", "b-newer"]);
    assert_eq!(hits[1].1.matches[0].field, Field::FamilyName);
    assert_eq!(hits[1].1.score, 10.0);
}

#[test]
fn an_organisation_match_scores_below_a_name_match() {
    assert!(MatchKind::Exact.points(Field::Organizations) < MatchKind::Typo.points(Field::FamilyName));
}

#[test]
fn an_empty_punctuation_only_oversized_or_control_bearing_query_is_rejected() {
    assert!(Query::parse("q", "   ").is_err());
    assert!(Query::parse("q", "ada\u{0}lovelace").is_err());
    assert!(Query::parse("q", "ada\nlovelace").is_err());
    assert!(Query::parse("q", "!!! ---").is_err());
    assert!(Query::parse("q", &"a".repeat(201)).is_err());
    assert!(Query::parse("q", &(0..21).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ")).is_err());
}

#[test]
fn query_words_keep_email_addresses_whole_and_drop_repeats() {
    assert_eq!(
        Query::parse("q", "A.Lovelace@Example.org ada ADA").expect("valid").words(),
        ["a.lovelace@example.org", "ada"]
    );
    assert_eq!(Query::parse("q", "Ann.").expect("valid").words(), ["ann"]);
}
