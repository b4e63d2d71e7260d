//! Property tests of what both formats share — lines cut the same whatever the chunking, the small value syntaxes
//! read back what they write — and the generators of valid contacts the vCard and CSV round trips use.
use super::*;
use crate::domain::contacts::ContactFields;
use proptest::prelude::*;

/// Characters that are awkward somewhere: the separators and escapes of vCard (`,` `;` `\` `:` `^`) and CSV (`,`
/// `"`), quotes, non-ASCII letters (two-, three- and four-byte), and spaces that are not ASCII.
const AWKWARD: &[char] = &[
    ',', ';', '\\', ':', '^', '"', '\'', '=', '-', '.', '|', '<', '&', 'é', 'ü', 'ß', 'Ø', 'Ж', 'ñ', '日', '本', '€',
    '🎉', ' ', '\u{a0}', '\u{3000}', '\u{2028}', 'n', 'N',
];

/// Text of up to `max` characters from letters and [`AWKWARD`] characters, plus `extra` (e.g. line breaks).
fn text(max: usize, extra: &'static [char]) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            3 => proptest::char::range('a', 'z'),
            1 => proptest::char::range('A', 'Z'),
            3 => proptest::sample::select(AWKWARD),
            1 => proptest::sample::select(extra),
        ],
        0..=max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// A single-line text as the API stores it: trimmed, no control characters.
pub(crate) fn line_text(max: usize) -> impl Strategy<Value = String> {
    text(max, &['x']).prop_map(|t| t.trim().to_owned())
}

/// A multi-line text as the API stores it (notes): line breaks and tabs, no CR (see the CR property of vCard).
pub(crate) fn long_text(max: usize) -> impl Strategy<Value = String> {
    text(max, &['\n', '\t', '\n'])
}

fn emails() -> impl Strategy<Value = Vec<String>> {
    let local = "[a-z0-9][a-z0-9_%+'=!#$&*/?^`{|}~-]{0,10}(\\.[a-zé0-9]{1,5})?";
    let domain = "([a-zü0-9]([a-z0-9-]{0,6}[a-z0-9])?\\.){1,2}[a-z]{2,6}";
    proptest::collection::vec((local, domain).prop_map(|(l, d)| format!("{l}@{d}")), 0..4).prop_map(|mut all| {
        let mut seen = std::collections::HashSet::new();
        all.retain(|e| seen.insert(e.clone()));
        all
    })
}

fn phones() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec("\\+[1-9][0-9]{7,14}", 0..4).prop_map(|mut all| {
        let mut seen = std::collections::HashSet::new();
        all.retain(|p| seen.insert(p.clone()));
        all
    })
}

const ZONES: &[&str] = &[
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "America/Argentina/Buenos_Aires",
    "Etc/GMT+5",
];
const LANGUAGES: &[&str] = &["en", "fr-CA", "zh-Hant-TW", "es-419", "de", "sr-Latn", "ja", "en-GB", "pt-BR", "yue"];
const EMAIL_TYPES: &[wire::ChannelType] = &[wire::ChannelType::Work, wire::ChannelType::Home, wire::ChannelType::Other];
const PHONE_TYPES: &[wire::ChannelType] =
    &[wire::ChannelType::Work, wire::ChannelType::Home, wire::ChannelType::Mobile, wire::ChannelType::Other];

fn working_hours() -> impl Strategy<Value = Vec<wire::WorkingHours>> {
    // At most one interval per day, days ascending: sorted and without overlaps, as stored.
    proptest::collection::btree_map(1..=7i32, (0u16..24 * 60 - 1, 1u16..=12 * 60), 0..5).prop_map(|days| {
        days.into_iter()
            .map(|(day, (start, length))| {
                let end = (start + length).min(24 * 60);
                let clock = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
                wire::WorkingHours { day, start_time: clock(start), end_time: clock(end) }
            })
            .collect()
    })
}

fn labels() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::btree_set("[a-z0-9][a-z0-9._:-]{0,12}", 0..4).prop_map(|set| set.into_iter().collect())
}

fn consent() -> impl Strategy<Value = Option<wire::Consent>> {
    let channels: Vec<i32> = CHANNEL_NAMES.iter().map(|(_, c)| *c as i32).collect();
    let bases: Vec<i32> = BASIS_NAMES.iter().map(|(_, b)| *b as i32).collect();
    (
        any::<bool>(),
        proptest::sample::subsequence(channels, 0..=CHANNEL_NAMES.len()),
        proptest::option::of(proptest::sample::select(bases)),
        proptest::option::of((1990..=2024i32, 1..=12i32, 1..=28i32)),
        long_text(40),
    )
        .prop_map(|(do_not_contact, allowed, basis, since, note)| {
            // The API's rules: no allowed channel under do-not-contact, a basis whenever channels are allowed.
            let allowed_channels = if do_not_contact { Vec::new() } else { allowed };
            let basis = basis.unwrap_or(if allowed_channels.is_empty() { 0 } else { BASIS_NAMES[0].1 as i32 });
            let since = since.map(|(year, month, day)| wire::Date { year, month, day });
            let consent = wire::Consent { do_not_contact, allowed_channels, basis, since, note };
            // A consent with nothing in it is stored as none.
            (consent != wire::Consent::default()).then_some(consent)
        })
}

/// Emails or phones as stored: exactly one primary when there are any.
fn with_primary<T>(
    values: Vec<String>,
    types: Vec<i32>,
    primary: prop::sample::Index,
    make: impl Fn(String, i32, bool) -> T,
) -> Vec<T> {
    let primary = primary.index(values.len().max(1));
    values.into_iter().zip(types).enumerate().map(|(i, (value, kind))| make(value, kind, i == primary)).collect()
}

/// Contacts as the register stores and exports them: every field valid under the API's rules and in its stored
/// (normalised) form, with awkward text wherever text is free.
pub(crate) fn contacts() -> impl Strategy<Value = wire::Contact> {
    let names = (line_text(40).prop_filter("a display name", |n| !n.is_empty()), line_text(20), line_text(20));
    let channels = (
        emails(),
        proptest::collection::vec(proptest::sample::select(EMAIL_TYPES), 4),
        any::<prop::sample::Index>(),
        phones(),
        proptest::collection::vec(proptest::sample::select(PHONE_TYPES), 4),
        any::<prop::sample::Index>(),
        0..=CHANNEL_NAMES.len(),
    );
    let rest = (
        proptest::sample::subsequence(LANGUAGES, 0..4).prop_shuffle(),
        proptest::option::of(proptest::sample::select(ZONES)),
        working_hours(),
        labels(),
        consent(),
        long_text(120),
        prop_oneof![
            Just(String::new()),
            "urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
            line_text(30),
        ],
        any::<u128>(),
    );
    (names, channels, rest).prop_map(
        |(
            (display_name, given_name, family_name),
            (emails, email_types, email_primary, phones, phone_types, phone_primary, preferred),
            (languages, zone, working_hours, labels, consent, notes, uid, id),
        )| {
            let email_types = email_types.into_iter().map(|t| t as i32).collect();
            let phone_types = phone_types.into_iter().map(|t| t as i32).collect();
            // Working hours need a zone.
            let time_zone = zone.or(Some("Europe/London").filter(|_| !working_hours.is_empty())).unwrap_or_default();
            wire::Contact {
                name: format!("contacts/{}", uuid::Uuid::from_u128(id)),
                display_name,
                given_name,
                family_name,
                emails: with_primary(emails, email_types, email_primary, |address, r#type, primary| {
                    wire::EmailAddress { address, r#type, primary }
                }),
                phones: with_primary(phones, phone_types, phone_primary, |number, r#type, primary| wire::PhoneNumber {
                    number,
                    r#type,
                    primary,
                }),
                preferred_channel: CHANNEL_NAMES.get(preferred).map_or(0, |(_, c)| *c as i32),
                languages: languages.into_iter().map(str::to_owned).collect(),
                time_zone: time_zone.to_owned(),
                working_hours,
                labels,
                consent,
                notes,
                uid,
                ..Default::default()
            }
        },
    )
}

/// What a file carries of `contact` back: the fields of the formats, the name and times left behind; a contact
/// without a UID is written with its name's `urn:uuid:` by vCard.
pub(crate) fn transferable(contact: &wire::Contact) -> wire::Contact {
    wire::Contact { name: String::new(), etag: String::new(), create_time: None, update_time: None, ..contact.clone() }
}

/// The generated contact is one the API accepts (else the round trips would test nothing real).
pub(crate) fn is_valid(contact: &wire::Contact) -> Result<ContactFields, TestCaseError> {
    ContactFields::parse("contact", contact)
        .map_err(|v| TestCaseError::fail(format!("generated an invalid contact: {v:?}")))
}

/// Cuts `bytes` at the given fractions of its length (sorted), so a chunk may end inside a character or a CRLF.
pub(crate) fn chunks(bytes: &[u8], cuts: &[prop::sample::Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for cut in at {
        out.push(bytes[start..cut].to_vec());
        start = cut;
    }
    out.push(bytes[start..].to_vec());
    out
}

/// All the records a reader gives for a file arriving in `chunks`, or its refusal.
pub(crate) fn read_chunks(
    mut reader: Box<dyn RecordReader>,
    chunks: &[Vec<u8>],
) -> Result<Vec<crate::domain::transfer::SourceRecord>, Vec<FieldViolation>> {
    let mut records = Vec::new();
    for chunk in chunks {
        records.extend(reader.push(chunk)?);
    }
    records.extend(reader.finish()?);
    Ok(records)
}

fn split_all(chunks: &[Vec<u8>]) -> Vec<(u32, Vec<u8>)> {
    let mut splitter = LineSplitter::default();
    let mut lines: Vec<(u32, Vec<u8>)> = chunks.iter().flat_map(|c| splitter.push(c)).collect();
    lines.extend(splitter.finish());
    lines
}

/// Bytes near line structure: CR, LF, the byte order mark's bytes, and anything.
fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![3 => any::<u8>(), 2 => Just(b'\n'), 1 => Just(b'\r'), 1 => Just(0xEF), 1 => Just(0xBB), 1 => Just(0xBF)],
        0..64,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn lines_are_the_same_whatever_the_chunking(bytes in line_bytes(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        let whole = split_all(std::slice::from_ref(&bytes));
        prop_assert_eq!(split_all(&chunks(&bytes, &cuts)), whole.clone());
        // Numbered from 1 without gaps, none holding a line break, and the bytes all there (bar the line ends
        // and a leading byte order mark).
        prop_assert!(whole.iter().enumerate().all(|(i, (n, _))| *n as usize == i + 1));
        prop_assert!(whole.iter().all(|(_, line)| !line.contains(&b'\n')));
        let kept: usize = whole.iter().map(|(_, line)| line.len()).sum();
        prop_assert!(kept <= bytes.len());
    }

    #[test]
    fn working_hours_and_dates_read_back_as_written(
        day in proptest::sample::select(WEEKDAY_NAMES),
        start in "[0-2][0-9]:[0-5][0-9]",
        end in "[0-2][0-9]:[0-5][0-9]",
        year in 0..=9999i32,
        month in 1..=12i32,
        date_day in 1..=31i32,
    ) {
        let hours = wire::WorkingHours { day: day.1 as i32, start_time: start, end_time: end };
        prop_assert_eq!(parse_working_hours("w", &format_working_hours(&hours)), Ok(hours));
        let date = wire::Date { year, month, day: date_day };
        prop_assert_eq!(parse_date("d", &format_date(&date)), Ok(date));
    }

    #[test]
    fn any_text_as_a_small_value_is_read_or_refused_without_panicking(text in any::<String>()) {
        let _ = parse_working_hours("w", &text);
        let _ = parse_date("d", &text);
        let _ = parse_bool("b", &text);
        let _ = parse_name("c", CHANNEL_NAMES, "channel", &text);
    }

    #[test]
    fn generated_contacts_are_valid(contact in contacts()) {
        is_valid(&contact)?;
    }
}
