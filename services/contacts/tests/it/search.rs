//! Search as a user meets it: typos, accents, prefixes, other scripts, phone numbers and organisations; ranking
//! that says why; pages that stay put while the register changes; the same answers on both engines; and an
//! index that stays equal to a rebuild from the rows whatever changes them.
use crate::helpers::*;
use crate::organizations::create_organization;
use liaison_proto::contacts::v1::*;
use liaison_testkit::{Call, Engine, on_both_databases};

on_both_databases!(
    search_finds_people_despite_typos_accents_prefixes_scripts_and_phone_formats,
    search_ranks_exact_above_prefix_above_typo_and_says_how_each_word_matched,
    search_pages_stay_put_when_a_better_hit_appears_between_pages,
    organisations_are_found_by_the_words_of_their_name_like_contacts,
    the_search_index_equals_a_rebuild_after_any_sequence_of_changes,
);

async fn add(client: &mut Client, contact: Contact) -> Contact {
    create_given(client, contact).await
}

fn person(display_name: &str, given_name: &str, family_name: &str) -> Contact {
    Contact {
        display_name: display_name.into(),
        given_name: given_name.into(),
        family_name: family_name.into(),
        time_zone: "Europe/London".into(),
        ..Default::default()
    }
}

async fn search(client: &mut Client, query: &str) -> Vec<SearchContactsResult> {
    client
        .search_contacts(SearchContactsRequest { query: query.into(), page_size: Some(100), page_token: String::new() })
        .ok()
        .await
        .results
}

fn names(results: &[SearchContactsResult]) -> Vec<String> {
    results.iter().map(|r| r.contact.as_ref().expect("contact").display_name.clone()).collect()
}

async fn affiliate(client: &mut Client, contact: &str, organization: &str) {
    client
        .create_affiliation(CreateAffiliationRequest {
            affiliation: Some(Affiliation {
                contact: contact.into(),
                organization: organization.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .ok()
        .await;
}

/// A small register in several scripts, the same on every engine.
async fn register(client: &mut Client) {
    let mut chidi = person("Chidi Okafor", "Chidi", "Okafor");
    chidi.email = "chidi.okafor@example.org".into();
    chidi.phone = "+44 20 7946 0958".into();
    let chidi = add(client, chidi).await;
    add(client, person("Zoë Müller", "Zoë", "Müller")).await;
    add(client, person("山田太郎", "太郎", "山田")).await;
    add(client, person("Иван Петров", "Иван", "Петров")).await;
    add(client, person("Đặng Văn Lâm", "Lâm", "Đặng")).await;
    let ada = add(client, person("Ada Lovelace", "Ada", "Lovelace")).await;
    add(client, person("Ngozi Okafora", "Ngozi", "Okafora")).await;
    add(client, person("Emeka Okafer", "Emeka", "Okafer")).await;
    let harbour = create_organization(client, "Harbour Authority").await;
    affiliate(client, &ada.name, &harbour.name).await;
    affiliate(client, &chidi.name, &harbour.name).await;
}

async fn search_finds_people_despite_typos_accents_prefixes_scripts_and_phone_formats(engine: Engine) {
    let mut app = app(engine).await;
    register(&mut app.client).await;
    let first = |results: Vec<SearchContactsResult>| names(&results).first().cloned().unwrap_or_default();
    // One typo: a letter left out, changed, or two swapped.
    assert_eq!(first(search(&mut app.client, "Okafr").await), "Chidi Okafor");
    assert_eq!(first(search(&mut app.client, "chdi").await), "Chidi Okafor");
    assert_eq!(first(search(&mut app.client, "lovleace").await), "Ada Lovelace");
    // Accents and case, both ways.
    assert_eq!(names(&search(&mut app.client, "zoe MULLER").await), ["Zoë Müller"]);
    assert_eq!(names(&search(&mut app.client, "dang lam").await), ["Đặng Văn Lâm"]);
    // Prefixes while typing.
    assert_eq!(first(search(&mut app.client, "lov").await), "Ada Lovelace");
    // Other scripts: Cyrillic by case-folded words, Han by characters.
    assert_eq!(names(&search(&mut app.client, "петров").await), ["Иван Петров"]);
    assert_eq!(names(&search(&mut app.client, "太郎").await), ["山田太郎"]);
    // A phone number in any format finds the stored E.164 number by its end.
    for typed in ["020 7946 0958", "+44 (0)20 7946-0958", "7946 0958", "0958"] {
        let found = search(&mut app.client, typed).await;
        assert_eq!(names(&found), ["Chidi Okafor"], "{typed}");
        assert_eq!(found[0].matched_fields, ["phones"], "{typed}");
    }
    // The words of an organisation the contact works for, with the person's own words.
    let found = search(&mut app.client, "ada harbour").await;
    assert_eq!(names(&found), ["Ada Lovelace"]);
    assert_eq!(found[0].matched_fields, ["display_name", "organizations"]);
    assert_eq!(names(&search(&mut app.client, "harbor").await), ["Chidi Okafor", "Ada Lovelace"]);
    // Email addresses and their parts.
    assert_eq!(names(&search(&mut app.client, "chidi.okafor@example.org").await), ["Chidi Okafor"]);
    assert!(search(&mut app.client, "nobody here").await.is_empty());
}

async fn search_ranks_exact_above_prefix_above_typo_and_says_how_each_word_matched(engine: Engine) {
    let mut app = app(engine).await;
    register(&mut app.client).await;
    let found = search(&mut app.client, "okafor").await;
    assert_eq!(names(&found), ["Chidi Okafor", "Ngozi Okafora", "Emeka Okafer"]);
    let kinds: Vec<SearchMatchKind> = found.iter().map(|r| r.matches[0].kind()).collect();
    assert_eq!(kinds, [SearchMatchKind::Exact, SearchMatchKind::Prefix, SearchMatchKind::Typo]);
    assert!(found[0].score > found[1].score && found[1].score > found[2].score, "{found:?}");
    let typo = &found[2].matches[0];
    assert_eq!((typo.word.as_str(), typo.term.as_str()), ("okafor", "okafer"));
    assert_eq!(typo.field, "display_name");
    // A phone match names the digits it met, in their order.
    let phone = &search(&mut app.client, "7946 0958").await[0].matches[0];
    assert_eq!(
        (phone.field.as_str(), phone.kind(), phone.term.as_str()),
        ("phones", SearchMatchKind::Prefix, "442079460958")
    );
}

async fn search_pages_stay_put_when_a_better_hit_appears_between_pages(engine: Engine) {
    let mut app = app(engine).await;
    let mut old = Vec::new();
    for n in 0..6 {
        old.push(add(&mut app.client, person(&format!("Stable Personne{n}"), "", "")).await.display_name);
    }
    let page =
        |token: String| SearchContactsRequest { query: "stable person".into(), page_size: Some(3), page_token: token };
    let first = app.client.search_contacts(page(String::new())).ok().await;
    assert_eq!(names(&first.results), old[..3]);
    // A contact that ranks above all of them arrives between the pages: the next page goes on from where the
    // first stopped, neither repeating nor skipping.
    add(&mut app.client, person("Stable Person", "", "")).await;
    let second = app.client.search_contacts(page(first.next_page_token.clone())).ok().await;
    assert_eq!(names(&second.results), old[3..]);
    assert!(second.next_page_token.is_empty());
    let again = app.client.search_contacts(page(String::new())).ok().await;
    assert_eq!(names(&again.results)[0], "Stable Person");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_gives_the_same_answers_on_both_engines() {
    if liaison_testkit::postgres_admin_url().is_none() {
        eprintln!("skipped: LIAISON_TEST_POSTGRES_URL is not set");
        return;
    }
    let (mut sqlite, mut postgres) = (app(Engine::Sqlite).await, app(Engine::Postgres).await);
    register(&mut sqlite.client).await;
    register(&mut postgres.client).await;
    // What a user sees of a hit (ids differ between the two registers).
    let seen = |results: Vec<SearchContactsResult>| -> Vec<(String, String, Vec<String>, Vec<SearchMatch>)> {
        results
            .into_iter()
            .map(|r| {
                let name = r.contact.map(|c| c.display_name).unwrap_or_default();
                (name, r.score.to_string(), r.matched_fields, r.matches)
            })
            .collect()
    };
    let queries = [
        "okafor",
        "Okafr",
        "oka",
        "zoe",
        "MULLER",
        "太",
        "петров",
        "harbor",
        "ada harbour",
        "0958",
        "chidi.okafor",
        "dang",
        "o",
        "lovelace ada",
        "e",
    ];
    for query in queries {
        let on_sqlite = seen(search(&mut sqlite.client, query).await);
        assert!(!on_sqlite.is_empty() || query == "e", "{query} finds nothing: the comparison would prove little");
        assert_eq!(on_sqlite, seen(search(&mut postgres.client, query).await), "{query}");
    }
}

async fn organisations_are_found_by_the_words_of_their_name_like_contacts(engine: Engine) {
    let mut app = app(engine).await;
    register(&mut app.client).await;
    create_organization(&mut app.client, "Port Authority of Lagos").await;
    let search = async |client: &mut Client, query: &str| -> Vec<SearchOrganizationsResult> {
        client
            .search_organizations(SearchOrganizationsRequest { query: query.into(), ..Default::default() })
            .ok()
            .await
            .results
    };
    let names = |results: &[SearchOrganizationsResult]| -> Vec<String> {
        results.iter().map(|r| r.organization.as_ref().expect("organization").display_name.clone()).collect()
    };
    assert_eq!(names(&search(&mut app.client, "authority").await), ["Harbour Authority", "Port Authority of Lagos"]);
    let found = search(&mut app.client, "harbor auth").await;
    assert_eq!(names(&found), ["Harbour Authority"]);
    let kinds: Vec<SearchMatchKind> = found[0].matches.iter().map(SearchMatch::kind).collect();
    assert_eq!(kinds, [SearchMatchKind::Typo, SearchMatchKind::Prefix]);
    assert_eq!(names(&search(&mut app.client, "LAGOS port").await), ["Port Authority of Lagos"]);
    assert!(search(&mut app.client, "okafor").await.is_empty(), "people are not organisations");
    let status = app
        .client
        .search_organizations(SearchOrganizationsRequest {
            query: " ! ".into(),
            page_size: Some(0),
            ..Default::default()
        })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["query", "page_size"]);
}

/// One change to the register, as the property test draws them.
#[derive(Debug, Clone)]
enum Change {
    Create { name: usize, phone: bool },
    Rename { who: usize, name: usize },
    Delete { who: usize },
    Undelete { who: usize },
    Merge { survivor: usize, merged: usize },
    Unmerge { who: usize },
    Import { name: usize },
    RenameOrganization { name: usize },
}

const WORDS: [&str; 8] = ["Okafor", "Zoë", "Müller", "Ada", "Lovelace", "山田", "Петров", "Nguyễn"];

fn changes() -> impl proptest::strategy::Strategy<Value = Vec<Change>> {
    use proptest::prelude::*;
    let change = prop_oneof![
        3 => (0..64usize, any::<bool>()).prop_map(|(name, phone)| Change::Create { name, phone }),
        2 => (0..16usize, 0..64usize).prop_map(|(who, name)| Change::Rename { who, name }),
        1 => (0..16usize).prop_map(|who| Change::Delete { who }),
        1 => (0..16usize).prop_map(|who| Change::Undelete { who }),
        1 => (0..16usize, 0..16usize).prop_map(|(survivor, merged)| Change::Merge { survivor, merged }),
        1 => (0..16usize).prop_map(|who| Change::Unmerge { who }),
        1 => (0..64usize).prop_map(|name| Change::Import { name }),
        1 => (0..64usize).prop_map(|name| Change::RenameOrganization { name }),
    ];
    proptest::collection::vec(change, 1..25)
}

fn drawn_name(n: usize) -> (String, String) {
    (WORDS[n % WORDS.len()].to_owned(), WORDS[(n / WORDS.len()) % WORDS.len()].to_owned())
}

/// Applies a change through the API; changes the rules refuse (deleting a deleted contact, merging a contact
/// into itself) are refused by the service and change nothing, which the index must follow too.
async fn apply(client: &mut Client, people: &mut Vec<String>, organization: &str, change: &Change) {
    let pick = |people: &Vec<String>, i: usize| people.get(i % people.len().max(1)).cloned().unwrap_or_default();
    match change.clone() {
        Change::Create { name, phone } => {
            let (given, family) = drawn_name(name);
            let mut contact = person(&format!("{given} {family}"), &given, &family);
            contact.email = format!("p{}.{name}@example.org", people.len());
            if phone {
                contact.phone = format!("+3361234{:04}", people.len());
            }
            let created = add(client, contact).await;
            affiliate(client, &created.name, organization).await;
            people.push(created.name);
        }
        Change::Rename { who, name } => {
            let (given, family) = drawn_name(name);
            let contact =
                Contact { name: pick(people, who), display_name: format!("{family} {given}"), ..Default::default() };
            let mask = prost_types::FieldMask { paths: vec!["display_name".into()] };
            let _ =
                client.update_contact(UpdateContactRequest { contact: Some(contact), update_mask: Some(mask) }).await;
        }
        Change::Delete { who } => {
            let _ = client.delete_contact(DeleteContactRequest { name: pick(people, who), ..Default::default() }).await;
        }
        Change::Undelete { who } => {
            let _ =
                client.undelete_contact(UndeleteContactRequest { name: pick(people, who), ..Default::default() }).await;
        }
        Change::Merge { survivor, merged } => {
            let request = MergeContactsRequest {
                survivor: pick(people, survivor),
                merged: pick(people, merged),
                ..Default::default()
            };
            let _ = client.merge_contacts(request).await;
        }
        Change::Unmerge { who } => {
            let _ = client.unmerge_contacts(UnmergeContactsRequest { merged: pick(people, who) }).await;
        }
        Change::Import { name } => {
            let (given, family) = drawn_name(name);
            let file = format!(
                "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:{given} {family}\r\nN:{family};{given};;;\r\nEMAIL:import{name}@example.org\r\nEND:VCARD\r\n"
            );
            let options = ImportOptions {
                format: ContactFormat::Vcard as i32,
                duplicate_policy: DuplicatePolicy::Update as i32,
                ..Default::default()
            };
            let messages = vec![ImportContactsRequest { options: Some(options), data: file.into_bytes() }];
            if let Ok(response) = client.import_contacts(tokio_stream::iter(messages)).await {
                let mut stream = response.into_inner();
                while let Ok(Some(_)) = stream.message().await {}
            }
        }
        Change::RenameOrganization { name } => {
            let (given, family) = drawn_name(name);
            let organization = Organization {
                name: organization.into(),
                display_name: format!("{given} {family} Office"),
                ..Default::default()
            };
            let mask = prost_types::FieldMask { paths: vec!["display_name".into()] };
            client
                .update_organization(UpdateOrganizationRequest {
                    organization: Some(organization),
                    update_mask: Some(mask),
                })
                .ok()
                .await;
        }
    }
}

/// The index as stored: postings of contacts and organisations, sorted.
async fn stored_index(db: &liaison_runtime::db::Db) -> (Vec<(String, String, i32)>, Vec<(String, String)>) {
    use sea_orm::{FromQueryResult, Statement};
    #[derive(FromQueryResult)]
    struct ContactTerm {
        term: String,
        contact_id: String,
        fields: i32,
    }
    #[derive(FromQueryResult)]
    struct OrganizationTerm {
        term: String,
        organization_id: String,
    }
    let backend = db.conn().get_database_backend();
    let contacts = ContactTerm::find_by_statement(Statement::from_string(
        backend,
        "SELECT term, contact_id, fields FROM contact_terms ORDER BY contact_id, term",
    ))
    .all(db.conn())
    .await
    .expect("contact terms");
    let organizations = OrganizationTerm::find_by_statement(Statement::from_string(
        backend,
        "SELECT term, organization_id FROM organization_terms ORDER BY organization_id, term",
    ))
    .all(db.conn())
    .await
    .expect("organization terms");
    let mut contacts: Vec<(String, String, i32)> =
        contacts.into_iter().map(|t| (t.contact_id, t.term, t.fields)).collect();
    let mut organizations: Vec<(String, String)> =
        organizations.into_iter().map(|t| (t.organization_id, t.term)).collect();
    contacts.sort();
    organizations.sort();
    (contacts, organizations)
}

/// The index as the rows say it should be.
async fn index_from_rows(db: &liaison_runtime::db::Db) -> (Vec<(String, String, i32)>, Vec<(String, String)>) {
    use liaison_contacts::store::entity::{contact, organization};
    use sea_orm::EntityTrait;
    let mut contacts: Vec<(String, String, i32)> = Vec::new();
    for model in contact::Entity::find().all(db.conn()).await.expect("contacts") {
        contacts.extend(
            liaison_contacts::store::terms::of(&model)
                .into_iter()
                .map(|(term, fields)| (model.id.clone(), term, fields)),
        );
    }
    let mut organizations: Vec<(String, String)> = Vec::new();
    for model in organization::Entity::find().all(db.conn()).await.expect("organizations") {
        organizations.extend(
            liaison_contacts::domain::search::organization_terms(&model.display_name)
                .into_iter()
                .map(|t| (model.id.clone(), t)),
        );
    }
    contacts.sort();
    organizations.sort();
    (contacts, organizations)
}

/// Whether every indexed word is in the vocabulary, with its typo keys.
async fn vocabulary_covers(db: &liaison_runtime::db::Db, terms: &[String]) -> Result<(), String> {
    use sea_orm::ConnectionTrait;
    let backend = db.conn().get_database_backend();
    for term in terms {
        let found = db
            .conn()
            .query_one_raw(liaison_runtime::db::sql::statement(
                backend,
                "SELECT term FROM search_vocabulary WHERE term = ?",
                [term.clone().into()],
            ))
            .await
            .map_err(|e| e.to_string())?;
        if found.is_none() {
            return Err(format!("{term} is not in the vocabulary"));
        }
        for key in liaison_contacts::domain::search::typo_keys_of_term(term) {
            let found = db
                .conn()
                .query_one_raw(liaison_runtime::db::sql::statement(
                    backend,
                    "SELECT term FROM search_typos WHERE key = ? AND term = ?",
                    [key.clone().into(), term.clone().into()],
                ))
                .await
                .map_err(|e| e.to_string())?;
            if found.is_none() {
                return Err(format!("{term} is not under its typo key {key}"));
            }
        }
    }
    Ok(())
}

async fn the_search_index_equals_a_rebuild_after_any_sequence_of_changes(engine: Engine) {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, TestRunner};
    let mut app = app(engine).await;
    let db = liaison_runtime::db::Db::connect(app.database.url()).await.expect("database");
    let organization = create_organization(&mut app.client, "Liaison Office").await.name;
    let mut runner = TestRunner::new(Config { cases: 8, ..Config::default() });
    let mut people = Vec::new();
    for case in 0..8 {
        let sequence = changes().new_tree(&mut runner).expect("a sequence").current();
        for change in &sequence {
            apply(&mut app.client, &mut people, &organization, change).await;
        }
        let (stored, expected) = (stored_index(&db).await, index_from_rows(&db).await);
        assert_eq!(stored, expected, "case {case}: after {sequence:?}");
        let mut terms: Vec<String> =
            stored.0.iter().map(|(_, term, _)| term.clone()).chain(stored.1.iter().map(|(_, t)| t.clone())).collect();
        terms.sort();
        terms.dedup();
        if let Err(missing) = vocabulary_covers(&db, &terms).await {
            panic!("case {case}: {missing} after {sequence:?}");
        }
    }
    assert!(people.len() >= 4, "the sequences created too few contacts to prove much: {}", people.len());
}
