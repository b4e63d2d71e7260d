//! ImportContacts and ExportContacts: vCard and CSV round trips, per-record reports, duplicate policies, dry
//! runs, stream faults, an independent vCard parser (Python's vobject) and a ten-thousand-record import.
use crate::helpers::*;
use crate::organizations::create_organization;
use liaison_proto::common::v1::ListChangesRequest;
use liaison_proto::common::v1::{Change, ChangeKind};
use liaison_proto::contacts::v1::*;
use liaison_testkit::{Call, Engine, eventually, on_both_databases};
use std::time::{Duration, Instant};

on_both_databases!(
    a_vcard_export_imports_into_an_empty_register_unchanged,
    python_vobject_reads_every_exported_card,
    a_vcard_3_file_is_imported,
    a_csv_import_reports_bad_rows_by_line_and_field_and_creates_the_good_ones,
    a_csv_with_an_unknown_or_missing_column_is_rejected_whole,
    importing_the_same_file_again_changes_nothing,
    validate_only_reports_the_same_and_writes_nothing,
    duplicates_of_stored_contacts_follow_the_policy,
    records_matching_an_earlier_record_of_the_file_match_it,
    the_options_come_in_the_first_message_only,
    export_leaves_out_deleted_contacts_and_filters_by_label,
    a_bad_export_request_is_rejected,
    ten_thousand_records_import_in_batches,
    imported_changes_carry_the_trace_and_actor_of_the_import,
    a_record_matches_what_an_earlier_record_left_not_what_was_stored,
    a_record_that_never_ends_is_refused_after_one_mib,
    a_third_import_at_once_is_refused_until_one_ends,
    a_server_shutting_down_ends_an_import_with_its_report,
);

/// An import whose request stream stays open: the sender sends its messages, the stream its answers.
async fn open_import(
    client: &mut Client,
    first: ImportContactsRequest,
) -> Result<(tokio::sync::mpsc::Sender<ImportContactsRequest>, tonic::Streaming<ImportContactsResponse>), tonic::Status>
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tx.send(first).await.unwrap();
    let stream = client.import_contacts(tokio_stream::wrappers::ReceiverStream::new(rx)).await?.into_inner();
    Ok((tx, stream))
}

async fn a_record_that_never_ends_is_refused_after_one_mib(engine: Engine) {
    let mut app = app(engine).await;
    // A quoted CSV field that never closes: the reader would hold all of it.
    let mut messages = vec![ImportContactsRequest {
        options: Some(csv(DuplicatePolicy::Skip)),
        data: b"display_name,notes\nAda,\"".to_vec(),
    }];
    messages.extend((0..40).map(|_| ImportContactsRequest { options: None, data: vec![b'y'; 64 * 1024] }));
    let status = run_import(&mut app.client, messages).await.unwrap_err();
    assert_eq!(bad_fields(&status), ["data"]);
    assert!(status.message().contains("within 1 MiB after record 0"), "{status:?}");
}

async fn a_third_import_at_once_is_refused_until_one_ends(engine: Engine) {
    let mut app = app(engine).await;
    let first = || ImportContactsRequest { options: Some(vcard(DuplicatePolicy::Skip)), data: Vec::new() };
    let (one, one_answers) = open_import(&mut app.client, first()).await.unwrap();
    let (_two, _two_answers) = open_import(&mut app.client, first()).await.unwrap();
    let status = open_import(&mut app.client, first()).await.map(|_| ()).unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    let info = tonic_types::StatusExt::get_error_details(&status).error_info().cloned().unwrap();
    assert_eq!(info.reason, "IMPORTS_BUSY");
    drop(one);
    let (_, report) = read_import(one_answers, Vec::new()).await.unwrap();
    assert_eq!(report.totals.unwrap().records_read, 0);
    let (again, again_answers) = open_import(&mut app.client, first()).await.expect("a turn is free again");
    drop(again);
    read_import(again_answers, Vec::new()).await.unwrap();
}

async fn a_server_shutting_down_ends_an_import_with_its_report(engine: Engine) {
    let mut app = app(engine).await;
    let file = bulk_file(600, "first");
    let (tx, mut answers) =
        open_import(&mut app.client, ImportContactsRequest { options: Some(vcard(DuplicatePolicy::Skip)), data: file })
            .await
            .unwrap();
    // The first batch of 500 is written (its results, then its progress) while the stream stays open.
    let mut results = Vec::new();
    loop {
        match answers.message().await.unwrap().unwrap().event.unwrap() {
            import_contacts_response::Event::Results(batch) => results.extend(batch.results),
            import_contacts_response::Event::Progress(progress) => {
                assert_eq!(progress.created, 500);
                break;
            }
            import_contacts_response::Event::Report(report) => panic!("too early: {report:?}"),
        }
    }
    let App { server, database, .. } = app;
    let stopping = tokio::spawn(server.stop());
    let (_, report) = read_import(answers, results).await.expect("an answer, not a cut stream");
    assert_eq!(report.interrupted, "the server is shutting down");
    // The last card's END:VCARD waits for the next line (a folded line would continue it), so 599 records were
    // read whole; every one of them was written, the batch in hand too.
    assert_eq!(totals(&report), (599, 599, 0, 0, 0));
    stopping.await.unwrap().expect("a clean stop");
    drop(tx);
    let server = liaison_testkit::spawn::<liaison_contacts::Contacts>(&database, Default::default()).await;
    let listed = list_all(&mut Client::new(&server)).await;
    assert_eq!(listed.len(), 599, "what the report counts is written");
}

fn options(format: ContactFormat, policy: DuplicatePolicy, validate_only: bool) -> ImportOptions {
    ImportOptions { format: format as i32, duplicate_policy: policy as i32, validate_only }
}

fn vcard(policy: DuplicatePolicy) -> ImportOptions {
    options(ContactFormat::Vcard, policy, false)
}

fn csv(policy: DuplicatePolicy) -> ImportOptions {
    options(ContactFormat::Csv, policy, false)
}

/// Sends `messages` and collects the progress messages and the report, with the results streamed batch by
/// batch put into the report's `results` (which the server leaves empty).
async fn run_import(
    client: &mut Client,
    messages: Vec<ImportContactsRequest>,
) -> Result<(Vec<ImportProgress>, ImportReport), tonic::Status> {
    let stream = client.import_contacts(tokio_stream::iter(messages)).await?.into_inner();
    read_import(stream, Vec::new()).await
}

/// Reads an import's answers to the end (see [`run_import`]), checking how they are cut: at most 500 results
/// per message, each batch's results before its progress, the report last and without results. `results`: those
/// read from the stream already.
async fn read_import(
    mut stream: tonic::Streaming<ImportContactsResponse>,
    mut results: Vec<ImportRecordResult>,
) -> Result<(Vec<ImportProgress>, ImportReport), tonic::Status> {
    let mut progress = Vec::new();
    while let Some(message) = stream.message().await? {
        match message.event.expect("an event") {
            import_contacts_response::Event::Results(batch) => {
                assert!(!batch.results.is_empty() && batch.results.len() <= 500, "{}", batch.results.len());
                results.extend(batch.results);
            }
            import_contacts_response::Event::Progress(p) => {
                assert_eq!(p.records_read as usize, results.len(), "a batch's results come before its progress");
                progress.push(p);
            }
            import_contacts_response::Event::Report(mut report) => {
                assert!(stream.message().await?.is_none(), "the report comes last");
                assert!(report.results.is_empty(), "results are streamed, not repeated in the report");
                assert_eq!(report.totals.unwrap().records_read as usize, results.len(), "one result per record");
                report.results = results;
                return Ok((progress, report));
            }
        }
    }
    panic!("the stream ended without a report")
}

/// Imports `file` in chunks of `chunk` bytes, the options in the first message.
async fn import(client: &mut Client, options: ImportOptions, file: &[u8], chunk: usize) -> ImportReport {
    let mut messages: Vec<ImportContactsRequest> =
        file.chunks(chunk).map(|c| ImportContactsRequest { options: None, data: c.to_vec() }).collect();
    if messages.is_empty() {
        messages.push(ImportContactsRequest::default());
    }
    messages[0].options = Some(options);
    run_import(client, messages).await.expect("import").1
}

async fn export(client: &mut Client, format: ContactFormat, label: &str) -> (Vec<u8>, i32) {
    let mut stream =
        client.export_contacts(ExportContactsRequest { format: format as i32, label: label.into() }).ok().await;
    let (mut data, mut count) = (Vec::new(), 0);
    while let Some(chunk) = stream.message().await.expect("chunk") {
        data.extend(chunk.data);
        count += chunk.contact_count;
    }
    (data, count)
}

fn outcomes(report: &ImportReport) -> Vec<(i32, ImportOutcome)> {
    report.results.iter().map(|r| (r.line, ImportOutcome::try_from(r.outcome).unwrap())).collect()
}

fn totals(report: &ImportReport) -> (i32, i32, i32, i32, i32) {
    let t = report.totals.unwrap();
    (t.records_read, t.created, t.updated, t.skipped, t.rejected)
}

async fn list_all(client: &mut Client) -> Vec<Contact> {
    client.list_contacts(ListContactsRequest { page_size: Some(1000), ..Default::default() }).ok().await.contacts
}

async fn get(client: &mut Client, name: &str) -> Contact {
    client.get_contact(GetContactRequest { name: name.into() }).ok().await.contact.unwrap()
}

/// Every change of contacts so far, paging through the whole feed (see `all_changes` for the sentinel).
async fn contact_changes(client: &mut Client) -> Vec<Change> {
    let sentinel = create_organization(client, "feed sentinel").await.name;
    eventually(Duration::from_secs(30), "the sentinel change", || {
        let mut client = client.clone();
        let sentinel = sentinel.clone();
        async move {
            let mut all = Vec::new();
            let mut after = 0;
            loop {
                let page = client
                    .feed
                    .list_changes(ListChangesRequest { after_sequence: after, page_size: Some(1000) })
                    .ok()
                    .await;
                let Some(last) = page.changes.last() else { break };
                after = last.sequence;
                all.extend(page.changes);
                if page.remaining_count == 0 {
                    break;
                }
            }
            let at = all.iter().position(|c| c.resource_name == sentinel)?;
            Some(all[..at].iter().filter(|c| c.resource_name.starts_with("contacts/")).cloned().collect())
        }
    })
    .await
}

/// A contact as it compares across registers: without name, etag and times.
fn comparable(contact: &Contact) -> Contact {
    Contact { name: String::new(), etag: String::new(), create_time: None, update_time: None, ..contact.clone() }
}

fn varied_contacts() -> Vec<Contact> {
    let hours = |day: Weekday, start: &str, end: &str| WorkingHours {
        day: day as i32,
        start_time: start.into(),
        end_time: end.into(),
    };
    vec![
        Contact {
            display_name: "Zoë Müller-Lüdenscheidt, PhD; Head of \"Water\" Board".into(),
            given_name: "Zoë".into(),
            family_name: "Müller-Lüdenscheidt".into(),
            emails: vec![
                EmailAddress { address: "zoe@home.example".into(), r#type: ChannelType::Home as i32, primary: false },
                EmailAddress { address: "zoe@board.example".into(), r#type: ChannelType::Work as i32, primary: true },
                EmailAddress { address: "z@other.example".into(), r#type: ChannelType::Other as i32, primary: false },
            ],
            phones: vec![
                PhoneNumber { number: "+41 44 123 45 67".into(), r#type: ChannelType::Work as i32, primary: false },
                PhoneNumber { number: "+41 79 123 45 67".into(), r#type: ChannelType::Mobile as i32, primary: true },
            ],
            preferred_channel: ContactChannel::Sms as i32,
            languages: vec!["de-CH".into(), "fr".into(), "en-GB".into()],
            time_zone: "Europe/Zurich".into(),
            working_hours: vec![
                hours(Weekday::Monday, "08:30", "12:00"),
                hours(Weekday::Monday, "13:00", "17:30"),
                hours(Weekday::Friday, "09:00", "24:00"),
            ],
            labels: vec!["board".into(), "water".into()],
            consent: Some(Consent {
                do_not_contact: false,
                allowed_channels: vec![ContactChannel::Email as i32, ContactChannel::Sms as i32],
                basis: ConsentBasis::Consent as i32,
                since: Some(Date { year: 2024, month: 5, day: 1 }),
                note: "Signed on paper, filed; see \\\\archive".into(),
            }),
            notes: format!("Met at the summit.\nPrefers mornings, not Fridays; {}", "long text ".repeat(30)),
            ..Default::default()
        },
        Contact {
            display_name: "李小龍".into(),
            given_name: "小龍".into(),
            family_name: "李".into(),
            email: "bruce@example.hk".into(),
            languages: vec!["zh-Hant-HK".into()],
            time_zone: "Asia/Hong_Kong".into(),
            consent: Some(Consent {
                do_not_contact: true,
                note: "Asked not to be contacted".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        Contact {
            display_name: "Ana María García Pérez".into(),
            phone: "0034 911 234 567".into(),
            labels: vec!["ministry".into()],
            ..Default::default()
        },
        Contact { display_name: "Only A Name".into(), ..Default::default() },
    ]
}

async fn create_all(client: &mut Client, contacts: Vec<Contact>) -> Vec<Contact> {
    let mut created = Vec::new();
    for contact in contacts {
        let response = client
            .create_contact(CreateContactRequest { contact: Some(contact), request_id: String::new() })
            .ok()
            .await;
        created.push(response.contact.unwrap());
    }
    created
}

/// RFC 6350 shape: CRLF only, lines of at most 75 octets, VERSION:4.0 right after BEGIN, FN, UID and REV in
/// every card.
fn assert_rfc6350(text: &str) {
    assert!(text.ends_with("\r\n"));
    assert!(!text.replace("\r\n", "").contains(['\r', '\n']), "bare CR or LF");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    for line in &lines {
        assert!(line.len() <= 75, "{} octets: {line}", line.len());
    }
    let unfolded = text.replace("\r\n ", "");
    let cards: Vec<&str> = unfolded.split("BEGIN:VCARD\r\n").skip(1).collect();
    for card in cards {
        assert!(card.starts_with("VERSION:4.0\r\n"), "{card}");
        for property in ["\r\nFN:", "\r\nUID:", "\r\nREV:"] {
            assert!(card.contains(property), "{property} missing in {card}");
        }
        assert!(card.ends_with("END:VCARD\r\n"));
    }
}

async fn a_vcard_export_imports_into_an_empty_register_unchanged(engine: Engine) {
    let mut source = app(engine).await;
    let created = create_all(&mut source.client, varied_contacts()).await;
    let deleted = create_contact(&mut source.client, "Deleted Person").await;
    source.client.delete_contact(DeleteContactRequest { name: deleted.name, etag: String::new() }).await.unwrap();
    let (exported, count) = export(&mut source.client, ContactFormat::Vcard, "").await;
    assert_eq!(count, 4);
    let text = String::from_utf8(exported.clone()).unwrap();
    assert_rfc6350(&text);
    assert!(!text.contains("Deleted Person"));

    // Into an empty register, in 13-byte chunks (which split UTF-8 characters and lines).
    let mut target = app(engine).await;
    let report = import(&mut target.client, vcard(DuplicatePolicy::Skip), &exported, 13).await;
    assert_eq!(totals(&report), (4, 4, 0, 0, 0), "{report:?}");
    assert!(report.results.iter().all(|r| r.warnings.is_empty()), "{report:?}");
    let (again, _) = export(&mut target.client, ContactFormat::Vcard, "").await;
    let without_rev = |t: &[u8]| {
        String::from_utf8(t.to_vec())
            .unwrap()
            .split("\r\n")
            .filter(|l| !l.starts_with("REV:"))
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    assert_eq!(without_rev(&again), without_rev(&exported));

    let imported = list_all(&mut target.client).await;
    assert_eq!(imported.len(), created.len());
    for original in &created {
        let copy = imported.iter().find(|c| c.uid == original.uid).expect("imported with its UID");
        assert_eq!(comparable(copy), comparable(original));
    }
    for (result, contact) in report.results.iter().zip(&imported) {
        assert_eq!(result.contact, contact.name);
    }
}

/// Whether `python3` with the `vobject` package is here. Missing, the test is skipped, except under `CI=true`,
/// where it fails.
fn python_with_vobject() -> bool {
    let available = std::process::Command::new("python3")
        .args(["-c", "import vobject"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !available {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but python3 with vobject is missing (python3 -m pip install vobject)");
        }
        eprintln!("skipped: python3 with vobject is not available (python3 -m pip install vobject)");
    }
    available
}

const VOBJECT_READER: &str = r#"
import json, sys, vobject
with open(sys.argv[1], encoding="utf-8", newline="") as f:
    text = f.read()
cards = []
for card in vobject.readComponents(text, validate=True):
    cards.append({
        "fn": card.fn.value,
        "emails": [e.value for e in card.contents.get("email", [])],
        "uid": card.uid.value,
    })
print(json.dumps(cards))
"#;

async fn python_vobject_reads_every_exported_card(engine: Engine) {
    if !python_with_vobject() {
        return;
    }
    let mut app = app(engine).await;
    let created = create_all(&mut app.client, varied_contacts()).await;
    let (exported, _) = export(&mut app.client, ContactFormat::Vcard, "").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contacts.vcf");
    std::fs::write(&path, &exported).unwrap();
    let output = std::process::Command::new("python3").arg("-c").arg(VOBJECT_READER).arg(&path).output().unwrap();
    assert!(output.status.success(), "vobject failed: {}", String::from_utf8_lossy(&output.stderr));
    let cards: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(cards.len(), created.len());
    for (card, contact) in cards.iter().zip(&created) {
        assert_eq!(card["fn"], contact.display_name.as_str());
        assert_eq!(card["uid"], contact.uid.as_str());
        let emails: Vec<&str> = contact.emails.iter().map(|e| e.address.as_str()).collect();
        assert_eq!(card["emails"], serde_json::json!(emails));
    }
}

const VCARD_3: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//macOS 14.0//EN\r\nN:Okafor;Chidi;;;\r\n\
FN:Chidi Okafor\r\nORG:Ministry of Water;\r\nitem1.EMAIL;type=INTERNET;type=WORK:chidi@water.example\r\n\
item1.X-ABLabel:_$!<Work>!$_\r\nEMAIL;type=INTERNET;type=HOME;type=pref:chidi@home.example\r\n\
TEL;type=CELL;type=VOICE;type=pref:+234 803 123 4567\r\nTEL;type=WORK;type=VOICE:+234 9 123 4567\r\n\
TZ:-05:00\r\nCATEGORIES:Partners,Water\r\nNOTE:Met in Abuja\\, 2023.\\nFollow up.\r\nUID:ABCD-1234-EFGH\r\n\
END:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nN:Adeyemi;Funke;;;\r\nFN:Funke Adeyemi\r\nEMAIL;type=INTERNET:\r\n \
funke@example.ng\r\nLANG:yo\r\nEND:VCARD\r\n";

async fn a_vcard_3_file_is_imported(engine: Engine) {
    let mut app = app(engine).await;
    let report = import(&mut app.client, vcard(DuplicatePolicy::Skip), VCARD_3.as_bytes(), 5).await;
    assert_eq!(totals(&report), (2, 2, 0, 0, 0), "{report:?}");
    assert_eq!(outcomes(&report), [(1, ImportOutcome::Created), (17, ImportOutcome::Created)]);
    let warnings = &report.results[0].warnings;
    assert!(warnings.iter().any(|w| w.contains("TZ -05:00 is a UTC offset")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("ORG")), "{warnings:?}");
    let chidi = get(&mut app.client, &report.results[0].contact).await;
    assert_eq!((chidi.given_name.as_str(), chidi.family_name.as_str()), ("Chidi", "Okafor"));
    assert_eq!(chidi.email, "chidi@home.example");
    assert_eq!(chidi.emails.len(), 2);
    assert_eq!(chidi.emails[0].r#type, ChannelType::Work as i32);
    assert_eq!(chidi.phone, "+2348031234567");
    assert_eq!(chidi.phones[0].r#type, ChannelType::Mobile as i32);
    assert_eq!(chidi.labels, ["partners", "water"]);
    assert_eq!(chidi.notes, "Met in Abuja, 2023.\nFollow up.");
    assert_eq!(chidi.uid, "ABCD-1234-EFGH");
    assert_eq!(chidi.time_zone, "");
    let funke = get(&mut app.client, &report.results[1].contact).await;
    assert_eq!(funke.email, "funke@example.ng");
    assert_eq!(funke.languages, ["yo"]);
    assert!(funke.uid.starts_with("urn:uuid:"));
}

const CSV_WITH_BAD_ROWS: &str = "display_name,emails,phones,labels,time_zone,working_hours,notes\r\n\
Ana García,ana@example.org;home:ana@casa.example,+34 911 234 567,board,Europe/Madrid,MO 09:00-17:00,\r\n\
,nobody@example.org,,,,,\r\n\
Bo Li,not-an-email;bo@example.org,12345,With Space,Mars/Base,,\r\n\
\"Cy, the \"\"second\"\"\",cy@example.org,,,,,\"two\r\nlines\"\r\n\
Dee,dee@example.org,,,,MO 09:00-17:00,\r\n\
Eve,eve@example.org,,,,,,too many\r\n";

async fn a_csv_import_reports_bad_rows_by_line_and_field_and_creates_the_good_ones(engine: Engine) {
    let mut app = app(engine).await;
    let report = import(&mut app.client, csv(DuplicatePolicy::Skip), CSV_WITH_BAD_ROWS.as_bytes(), 7).await;
    assert_eq!(
        outcomes(&report),
        [
            (2, ImportOutcome::Created),
            (3, ImportOutcome::Rejected),
            (4, ImportOutcome::Rejected),
            (5, ImportOutcome::Created),
            (7, ImportOutcome::Rejected),
            (8, ImportOutcome::Rejected),
        ]
    );
    assert_eq!(totals(&report), (6, 2, 0, 0, 4));
    let reason = |i: usize| report.results[i].reason.clone();
    assert!(reason(1).starts_with("display_name: "), "{}", reason(1));
    for field in ["emails[0].address: ", "phones[0].number: ", "labels[0]: ", "time_zone: "] {
        assert!(reason(2).contains(field), "{field} not in {}", reason(2));
    }
    assert!(reason(4).starts_with("time_zone: is required when working_hours"), "{}", reason(4));
    assert!(reason(5).starts_with("row: has 8 cells"), "{}", reason(5));
    assert!(
        report.results.iter().filter(|r| r.outcome == ImportOutcome::Rejected as i32).all(|r| r.contact.is_empty())
    );
    let ana = get(&mut app.client, &report.results[0].contact).await;
    assert_eq!(ana.email, "ana@example.org");
    assert_eq!(ana.emails[1].r#type, ChannelType::Home as i32);
    assert_eq!(ana.working_hours.len(), 1);
    let cy = get(&mut app.client, &report.results[3].contact).await;
    assert_eq!(cy.display_name, "Cy, the \"second\"");
    assert_eq!(cy.notes, "two\r\nlines");
    assert_eq!(list_all(&mut app.client).await.len(), 2);
}

async fn a_csv_with_an_unknown_or_missing_column_is_rejected_whole(engine: Engine) {
    let mut app = app(engine).await;
    for (file, expected) in [
        ("display_name,email_address,labels\nAna,ana@example.org,x\n", vec!["header.email_address"]),
        ("given_name,family_name\nAna,García\n", vec!["header.display_name"]),
    ] {
        let messages = vec![ImportContactsRequest { options: Some(csv(DuplicatePolicy::Skip)), data: file.into() }];
        let status = run_import(&mut app.client, messages).await.unwrap_err();
        assert_eq!(bad_fields(&status), expected);
    }
    assert!(list_all(&mut app.client).await.is_empty());
    assert!(contact_changes(&mut app.client).await.is_empty());
}

async fn importing_the_same_file_again_changes_nothing(engine: Engine) {
    let mut source = app(engine).await;
    create_all(&mut source.client, varied_contacts()).await;
    let (file, _) = export(&mut source.client, ContactFormat::Vcard, "").await;
    let mut app = app(engine).await;
    let first = import(&mut app.client, vcard(DuplicatePolicy::Skip), &file, 1000).await;
    assert_eq!(totals(&first), (4, 4, 0, 0, 0));
    let contacts = list_all(&mut app.client).await;
    let feed = contact_changes(&mut app.client).await;
    assert_eq!(feed.len(), 4);
    assert!(feed.iter().all(|c| c.kind == ChangeKind::Created as i32));

    let skip = import(&mut app.client, vcard(DuplicatePolicy::Skip), &file, 1000).await;
    assert_eq!(totals(&skip), (4, 0, 0, 4, 0));
    for (result, contact) in skip.results.iter().zip(&contacts) {
        assert_eq!(result.contact, contact.name);
        assert_eq!(result.reason, format!("matches {} by uid {}", contact.name, contact.uid));
    }
    let update = import(&mut app.client, vcard(DuplicatePolicy::Update), &file, 1000).await;
    assert_eq!(totals(&update), (4, 0, 0, 4, 0));
    assert!(update.results.iter().all(|r| r.reason.starts_with("unchanged: matches contacts/")), "{update:?}");
    assert_eq!(list_all(&mut app.client).await, contacts);
    assert_eq!(contact_changes(&mut app.client).await, feed);

    // The same for CSV, matched by email (rows without uid).
    let rows = "display_name,emails,labels\nAna,ana@example.org,a;b\nBo,bo@example.org,\n";
    assert_eq!(totals(&import(&mut app.client, csv(DuplicatePolicy::Skip), rows.as_bytes(), 10).await).1, 2);
    let feed = contact_changes(&mut app.client).await;
    let update = import(&mut app.client, csv(DuplicatePolicy::Update), rows.as_bytes(), 10).await;
    assert_eq!(totals(&update), (2, 0, 0, 2, 0));
    assert_eq!(contact_changes(&mut app.client).await, feed);
}

async fn validate_only_reports_the_same_and_writes_nothing(engine: Engine) {
    let mut app = app(engine).await;
    let existing = create_contact(&mut app.client, "Zed").await;
    let file = format!("{CSV_WITH_BAD_ROWS}Zed Again,{},,,,,\r\n", existing.email);
    let before = contact_changes(&mut app.client).await;
    let dry_options = options(ContactFormat::Csv, DuplicatePolicy::Update, true);
    let dry = import(&mut app.client, dry_options, file.as_bytes(), 64).await;
    assert!(dry.validate_only);
    assert_eq!(totals(&dry), (7, 2, 1, 0, 4));
    assert!(dry.results.iter().filter(|r| r.outcome == ImportOutcome::Created as i32).all(|r| r.contact.is_empty()));
    assert_eq!(dry.results[6].contact, existing.name);
    assert_eq!(list_all(&mut app.client).await, std::slice::from_ref(&existing));
    assert_eq!(contact_changes(&mut app.client).await, before);

    let real = import(&mut app.client, csv(DuplicatePolicy::Update), file.as_bytes(), 64).await;
    assert!(!real.validate_only);
    let strip = |r: &ImportReport| -> Vec<(i32, i32, i32, String)> {
        r.results.iter().map(|x| (x.record, x.line, x.outcome, x.reason.clone())).collect()
    };
    assert_eq!(strip(&real), strip(&dry));
    assert_eq!(get(&mut app.client, &existing.name).await.display_name, "Zed Again");
}

const ADA: &str = "display_name,emails\nAda Lovelace,ada@example.org\n";

async fn duplicates_of_stored_contacts_follow_the_policy(engine: Engine) {
    let mut app = app(engine).await;
    let ada = create_contact(&mut app.client, "Ada").await;
    assert_eq!(ada.email, "ada@example.org");

    let skip = import(&mut app.client, csv(DuplicatePolicy::Unspecified), ADA.as_bytes(), 100).await;
    assert_eq!(outcomes(&skip), [(2, ImportOutcome::Skipped)]);
    assert_eq!(skip.results[0].contact, ada.name);
    assert_eq!(skip.results[0].reason, format!("matches {} by email ada@example.org", ada.name));
    assert_eq!(get(&mut app.client, &ada.name).await, ada);

    let update = import(&mut app.client, csv(DuplicatePolicy::Update), ADA.as_bytes(), 100).await;
    assert_eq!(outcomes(&update), [(2, ImportOutcome::Updated)]);
    let updated = get(&mut app.client, &ada.name).await;
    assert_eq!(updated.display_name, "Ada Lovelace");
    assert_eq!(updated.uid, ada.uid, "an update keeps the contact's UID");
    assert_ne!(updated.etag, ada.etag);
    assert_eq!(updated.time_zone, "", "UPDATE writes every field of the record");
    let again = import(&mut app.client, csv(DuplicatePolicy::Update), ADA.as_bytes(), 100).await;
    assert_eq!(outcomes(&again), [(2, ImportOutcome::Skipped)]);
    assert!(again.results[0].reason.starts_with("unchanged: "));

    let create = import(&mut app.client, csv(DuplicatePolicy::Create), ADA.as_bytes(), 100).await;
    assert_eq!(outcomes(&create), [(2, ImportOutcome::Created)]);
    assert_ne!(create.results[0].contact, ada.name);
    assert_eq!(list_all(&mut app.client).await.len(), 2);

    let feed: Vec<(String, i32)> =
        contact_changes(&mut app.client).await.into_iter().map(|c| (c.resource_name, c.kind)).collect();
    assert_eq!(
        feed,
        [
            (ada.name.clone(), ChangeKind::Created as i32),
            (ada.name.clone(), ChangeKind::Updated as i32),
            (create.results[0].contact.clone(), ChangeKind::Created as i32),
        ]
    );
}

fn card(uid: &str, name: &str, email: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:{uid}\r\nFN:{name}\r\nEMAIL:{email}\r\nEND:VCARD\r\n")
}

async fn records_matching_an_earlier_record_of_the_file_match_it(engine: Engine) {
    let mut app = app(engine).await;
    // Same UID twice, then an email of the first under another UID.
    let file = [
        card("x-1", "One", "one@example.org"),
        card("x-1", "Two", "two@example.org"),
        card("x-2", "Three", "one@example.org"),
    ]
    .concat();

    let dry =
        import(&mut app.client, options(ContactFormat::Vcard, DuplicatePolicy::Update, true), file.as_bytes(), 50)
            .await;
    // Record 2 updates what record 1 created, moving it to two@example.org: record 3 (one@example.org, another
    // UID) then matches nothing.
    assert_eq!(
        dry.results.iter().map(|r| (r.outcome, r.contact.as_str(), r.reason.as_str())).collect::<Vec<_>>(),
        [
            (ImportOutcome::Created as i32, "", ""),
            (ImportOutcome::Updated as i32, "", "matches record 1 of this file by uid x-1"),
            (ImportOutcome::Created as i32, "", ""),
        ]
    );

    let real = import(&mut app.client, vcard(DuplicatePolicy::Update), file.as_bytes(), 50).await;
    assert_eq!(
        outcomes(&real).into_iter().map(|(_, o)| o).collect::<Vec<_>>(),
        [ImportOutcome::Created, ImportOutcome::Updated, ImportOutcome::Created]
    );
    assert_eq!(real.results[1].contact, real.results[0].contact);
    let one = get(&mut app.client, &real.results[0].contact).await;
    assert_eq!((one.display_name.as_str(), one.email.as_str(), one.uid.as_str()), ("Two", "two@example.org", "x-1"));
    let feed: Vec<(String, i32)> =
        contact_changes(&mut app.client).await.into_iter().map(|c| (c.resource_name, c.kind)).collect();
    assert_eq!(
        feed,
        [
            (one.name.clone(), ChangeKind::Created as i32),
            (one.name.clone(), ChangeKind::Updated as i32),
            (real.results[2].contact.clone(), ChangeKind::Created as i32),
        ]
    );

    // SKIP: the second record with x-1 is skipped as a duplicate of the first; CREATE gives it its own UID.
    let mut fresh = crate::helpers::app(engine).await;
    let skip = import(&mut fresh.client, vcard(DuplicatePolicy::Skip), file.as_bytes(), 50).await;
    assert_eq!(skip.results[1].outcome, ImportOutcome::Skipped as i32);
    assert_eq!(skip.results[1].contact, skip.results[0].contact);
    assert_eq!(skip.results[1].reason, "matches record 1 of this file by uid x-1");
    assert_eq!(skip.results[2].reason, "matches record 1 of this file by email one@example.org");
    let create = import(&mut fresh.client, vcard(DuplicatePolicy::Create), file.as_bytes(), 50).await;
    assert_eq!(totals(&create), (3, 3, 0, 0, 0));
    let uids: Vec<String> = {
        let mut uids = Vec::new();
        for result in &create.results {
            uids.push(get(&mut fresh.client, &result.contact).await.uid);
        }
        uids
    };
    assert!(uids[0].starts_with("urn:uuid:") && uids[1].starts_with("urn:uuid:"), "x-1 is held already: {uids:?}");
    assert_eq!(uids[2], "x-2");
    for result in &create.results[..2] {
        assert!(result.warnings.iter().any(|w| w.starts_with("UID x-1 is held by contacts/")), "{result:?}");
    }
}

async fn the_options_come_in_the_first_message_only(engine: Engine) {
    let mut app = app(engine).await;
    let data = card("x-1", "One", "one@example.org").into_bytes();
    let cases: Vec<(Vec<ImportContactsRequest>, &str)> = vec![
        (vec![], "options"),
        (vec![ImportContactsRequest { options: None, data: data.clone() }], "options"),
        (
            vec![ImportContactsRequest {
                options: Some(options(ContactFormat::Unspecified, DuplicatePolicy::Skip, false)),
                data: data.clone(),
            }],
            "options.format",
        ),
        (
            vec![
                ImportContactsRequest { options: Some(vcard(DuplicatePolicy::Skip)), data: data.clone() },
                ImportContactsRequest { options: Some(vcard(DuplicatePolicy::Skip)), data: data.clone() },
            ],
            "options",
        ),
    ];
    for (messages, field) in cases {
        let status = run_import(&mut app.client, messages).await.unwrap_err();
        assert_eq!(bad_fields(&status), [field], "{status:?}");
    }
    assert!(list_all(&mut app.client).await.is_empty());
    assert!(contact_changes(&mut app.client).await.is_empty());
}

async fn export_leaves_out_deleted_contacts_and_filters_by_label(engine: Engine) {
    let mut app = app(engine).await;
    let created = create_all(&mut app.client, varied_contacts()).await;
    app.client
        .delete_contact(DeleteContactRequest { name: created[2].name.clone(), etag: String::new() })
        .await
        .unwrap();
    let (csv_all, count) = export(&mut app.client, ContactFormat::Csv, "").await;
    assert_eq!(count, 3);
    let text = String::from_utf8(csv_all).unwrap();
    assert!(text.starts_with(
        "display_name,given_name,family_name,emails,phones,preferred_channel,languages,time_zone,working_hours,\
         labels,do_not_contact,consent_channels,consent_basis,consent_since,consent_note,notes,uid\r\n"
    ));
    assert!(!text.contains("Ana María"));
    assert!(text.contains(
        "zoe@board.example;home:zoe@home.example;other:z@other.example,mobile:+41791234567;+41441234567,sms,\
         de-CH;fr;en-GB,Europe/Zurich,MO 08:30-12:00;MO 13:00-17:30;FR 09:00-24:00,board;water,,email;sms,consent,2024-05-01"
    ), "{text}");
    let (board, count) = export(&mut app.client, ContactFormat::Csv, "Board").await;
    assert_eq!(count, 1);
    assert_eq!(String::from_utf8(board).unwrap().lines().count(), 1 + 2, "header and one row of two lines");
    let (none, count) = export(&mut app.client, ContactFormat::Vcard, "nobody").await;
    assert_eq!((none.len(), count), (0, 0));
    // A CSV export imports back unchanged too (the primary email listed first).
    let mut target = crate::helpers::app(engine).await;
    let (file, _) = export(&mut app.client, ContactFormat::Csv, "").await;
    let report = import(&mut target.client, csv(DuplicatePolicy::Skip), &file, 100).await;
    assert_eq!(totals(&report), (3, 3, 0, 0, 0), "{report:?}");
    let imported = list_all(&mut target.client).await;
    for original in [&created[0], &created[1], &created[3]] {
        let copy = imported.iter().find(|c| c.uid == original.uid).expect("imported with its UID");
        let mut expected = comparable(original);
        expected.emails.sort_by_key(|e| !e.primary);
        expected.phones.sort_by_key(|p| !p.primary);
        assert_eq!(comparable(copy), expected);
    }
}

async fn a_bad_export_request_is_rejected(engine: Engine) {
    let mut app = app(engine).await;
    let status = app.client.export_contacts(ExportContactsRequest { format: 0, label: String::new() }).err().await;
    assert_eq!(bad_fields(&status), ["format"]);
    let status = app
        .client
        .export_contacts(ExportContactsRequest { format: ContactFormat::Csv as i32, label: "not a label".into() })
        .err()
        .await;
    assert_eq!(bad_fields(&status), ["label"]);
}

fn bulk_file(count: usize, note: &str) -> Vec<u8> {
    (0..count)
        .map(|i| {
            format!(
                "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:00000000-0000-4000-8000-{i:012}\r\nFN:Person {i}\r\n\
                 N:Family {i};Person;;;\r\nEMAIL;TYPE=work:person{i}@example.org\r\nTEL;VALUE=uri:tel:+3312345{i:04}\r\n\
                 LANG:fr\r\nTZ:Europe/Paris\r\nCATEGORIES:bulk\r\nNOTE:{note}\r\nEND:VCARD\r\n"
            )
        })
        .collect::<String>()
        .into_bytes()
}

async fn ten_thousand_records_import_in_batches(engine: Engine) {
    const COUNT: usize = 10_000;
    let mut app = app(engine).await;
    let file = bulk_file(COUNT, "first");
    let started = Instant::now();
    let mut messages: Vec<ImportContactsRequest> =
        file.chunks(256 * 1024).map(|c| ImportContactsRequest { options: None, data: c.to_vec() }).collect();
    messages[0].options = Some(vcard(DuplicatePolicy::Skip));
    let (progress, report) = run_import(&mut app.client, messages).await.unwrap();
    let created_in = started.elapsed();
    assert_eq!(totals(&report), (10_000, 10_000, 0, 0, 0));
    assert_eq!(progress.len(), COUNT / 500);
    assert_eq!(progress[0].records_read, 500);
    assert_eq!(progress.last().unwrap().created, 10_000);
    assert_eq!(report.results.len(), COUNT);
    assert_eq!(report.results[9_999].line, 9_999 * 12 + 1);

    let started = Instant::now();
    let skip = import(&mut app.client, vcard(DuplicatePolicy::Skip), &file, 256 * 1024).await;
    let skipped_in = started.elapsed();
    assert_eq!(totals(&skip), (10_000, 0, 0, 10_000, 0));

    let started = Instant::now();
    let changed = bulk_file(COUNT, "second");
    let update = import(&mut app.client, vcard(DuplicatePolicy::Update), &changed, 256 * 1024).await;
    let updated_in = started.elapsed();
    assert_eq!(totals(&update), (10_000, 0, 10_000, 0, 0));
    eprintln!(
        "10k vCard records on {engine:?}: created in {created_in:.2?}, re-imported (all skipped) in \
         {skipped_in:.2?}, updated in {updated_in:.2?}"
    );

    let (_, exported) = export(&mut app.client, ContactFormat::Csv, "bulk").await;
    assert_eq!(exported, 10_000);
    let changes = contact_changes(&mut app.client).await;
    let count = |kind: ChangeKind| changes.iter().filter(|c| c.kind == kind as i32).count();
    assert_eq!((count(ChangeKind::Created), count(ChangeKind::Updated)), (COUNT, COUNT));
}

async fn imported_changes_carry_the_trace_and_actor_of_the_import(engine: Engine) {
    let mut app = app(engine).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let file = [card("t-1", "One", "one@example.org"), card("t-2", "Two", "two@example.org")].concat();
    let messages = vec![ImportContactsRequest { options: Some(vcard(DuplicatePolicy::Skip)), data: file.into_bytes() }];
    let mut request = tonic::Request::new(tokio_stream::iter(messages));
    request.metadata_mut().insert("traceparent", traceparent.parse().unwrap());
    request.metadata_mut().insert("liaison-actor", "importer@office".parse().unwrap());
    let mut stream = app.client.import_contacts(request).ok().await;
    while stream.message().await.unwrap().is_some() {}
    let changes = contact_changes(&mut app.client).await;
    assert_eq!(changes.len(), 2);
    for change in changes {
        assert_eq!(change.trace_parent[..36], traceparent[..36], "{}", change.trace_parent);
        assert_eq!(change.actor, "importer@office");
    }
}

async fn a_record_matches_what_an_earlier_record_left_not_what_was_stored(engine: Engine) {
    let mut app = app(engine).await;
    let old = create_contact(&mut app.client, "Old").await;
    // Row 1 moves the stored contact (matched by UID) to a new address; row 2 has its old address.
    let file = format!("display_name,emails,uid\nMoved,moved@example.org,{}\nNewcomer,{},\n", old.uid, old.email);
    let report = import(&mut app.client, csv(DuplicatePolicy::Update), file.as_bytes(), 1000).await;
    assert_eq!(outcomes(&report), [(2, ImportOutcome::Updated), (3, ImportOutcome::Created)]);
    assert_eq!(report.results[0].contact, old.name);
    assert_ne!(report.results[1].contact, old.name);
    assert_eq!(get(&mut app.client, &old.name).await.email, "moved@example.org");
}
