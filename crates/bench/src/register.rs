//! The contacts register at scale (issue 22): the register the contact read scenarios run on, seeded through the
//! real API as an office would load its list, and the database's own rate for the same rows.
//!
//! Seeding ([`seed`]): the [`people::ORGANIZATIONS`] organisations with CreateOrganization (bodies first, then
//! their departments with a `parent`), then the people with ImportContacts — a CSV file (its columns carry as much
//! as a vCard's properties, in fewer bytes) generated from [`SEED`] ([`people`]), streamed in chunks of
//! [`CHUNK_BYTES`], [`STREAM_RECORDS`] records per call (the service takes 100 000 records and 64 MiB per import),
//! [`STREAMS_AT_ONCE`] calls at a time (the service runs two per server) — then CreateAffiliation for the people
//! the generator affiliates. DUPLICATE_POLICY_CREATE: the near-duplicates are meant to be in the register, as
//! they are in a real one. The names the import results give back are what the read scenarios ask for; the
//! search queries are drawn from the generated names.
//!
//! Then ([`prepare`]): reporting is left to catch up with the feed (so that the reads are measured alone),
//! PostgreSQL's contacts database is ANALYZEd as autovacuum would after a bulk load, and the import's ceiling is
//! measured ([`insert_ceiling`]): the same rows written by sqlx straight to the database, [`CEILING_BATCH`] rows
//! per INSERT and a transaction per INSERT, into a table with the columns and primary key of `contacts`.
use crate::cli::Engine;
use crate::cluster::{Cluster, Postgres, TlsAllInOne};
use crate::load::Connections;
use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use liaison_proto::common::v1::ListChangesRequest;
use liaison_proto::common::v1::change_feed_service_client::ChangeFeedServiceClient;
use liaison_proto::contacts::v1::contacts_service_client::ContactsServiceClient;
use liaison_proto::contacts::v1::{
    Affiliation, ContactFormat, CreateAffiliationRequest, CreateOrganizationRequest, Date, DuplicatePolicy,
    ImportContactsRequest, ImportOptions, ImportOutcome, Organization, import_contacts_response,
};
use liaison_proto::reporting::v1::GetIngestionStatusRequest;
use liaison_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use liaison_runtime::config::ServiceKind;
use sea_orm::sqlx::{self, Connection as _};
use serde::Serialize;
use std::ops::Range;
use std::path::Path;
use std::time::{Duration, Instant};
use tonic::transport::Endpoint;

pub(crate) mod people;

pub(crate) use people::Queries;

/// The register's seed: the same people on every run.
pub(crate) const SEED: u64 = 22;
/// Records per ImportContacts call: half the service's limit of 100 000, and about 14 MiB of its 64.
const STREAM_RECORDS: usize = 50_000;
/// ImportContacts calls at a time: the service runs two per server and refuses a third (IMPORTS_BUSY).
const STREAMS_AT_ONCE: usize = 2;
/// Bytes of the file per message (the service takes up to 4 MiB).
const CHUNK_BYTES: usize = 1024 * 1024;
/// How often a call refused as busy is tried again, a second apart.
const BUSY_ATTEMPTS: u32 = 10;
/// CreateOrganization and CreateAffiliation calls in flight.
const IN_FLIGHT: usize = 32;
/// Rows per INSERT of the ceiling, each in a transaction of its own: as the import writes its batches.
pub(crate) const CEILING_BATCH: usize = 500;
/// Queries of each kind the search scenarios pick from.
const QUERIES: usize = 512;
/// How long reporting may take to catch up with the seeded feed.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(900);

/// How the register was seeded, and what its import is compared with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Seeded {
    /// Contacts the import created: one per record (near-duplicates included).
    pub(crate) contacts: u64,
    pub(crate) near_duplicates: u64,
    /// Organisations created, departments (with a parent) among them.
    pub(crate) organizations: u64,
    pub(crate) departments: u64,
    pub(crate) affiliations: u64,
    /// ImportContacts calls, and the CSV they carried.
    pub(crate) streams: u64,
    pub(crate) file_bytes: u64,
    /// From the first ImportContacts call to the last one's report.
    pub(crate) import_seconds: f64,
    pub(crate) import_per_s: f64,
    /// Organisations, import and affiliations, end to end.
    pub(crate) seconds: f64,
    /// How long reporting then took to catch up with the feeds.
    pub(crate) catch_up_seconds: Option<f64>,
    /// ANALYZE of the contacts database (PostgreSQL only).
    pub(crate) analyze_ms: Option<f64>,
    /// The database's own multi-row insert of the same rows.
    pub(crate) ceiling: Option<InsertCeiling>,
    /// `import_per_s` divided by the ceiling's `rows_per_s`.
    pub(crate) ratio: Option<f64>,
}

/// The database's own rate for the import's rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct InsertCeiling {
    pub(crate) rows: u64,
    /// Rows per INSERT (and per transaction).
    pub(crate) batch: usize,
    /// Time inside the transactions.
    pub(crate) seconds: f64,
    pub(crate) rows_per_s: f64,
}

/// A seeded register: what the read scenarios ask for, and how it was seeded.
#[derive(Debug, Clone)]
pub(crate) struct Register {
    /// `contacts/{id}` of each record, in file order.
    pub(crate) names: Vec<String>,
    pub(crate) queries: Queries,
    pub(crate) seeded: Seeded,
}

/// The register of `count` people seeded on `cluster` ([`seed`]), then reporting caught up, the contacts database
/// ANALYZEd (on PostgreSQL, `contacts_db` of `postgres`) and the import's ceiling measured (in `dir`, or in the
/// scratch database `ceiling_db` on PostgreSQL). `label` starts the progress lines.
pub(crate) async fn prepare(
    cluster: &Cluster,
    contacts: &Connections,
    postgres: &Postgres,
    dir: &Path,
    databases: (&str, &str),
    count: usize,
    label: &str,
) -> anyhow::Result<Register> {
    let (contacts_db, ceiling_db) = databases;
    let mut register = seed(contacts, count, label).await?;
    let caught_up = catch_up(cluster).await?;
    register.seeded.catch_up_seconds = Some(caught_up.as_secs_f64());
    eprintln!("liaison-bench: {label} — reporting caught up with the feeds {:.1} s later", caught_up.as_secs_f64());
    if cluster.engine == Engine::Postgres {
        let took = analyze(postgres, contacts_db).await?;
        register.seeded.analyze_ms = Some(took.as_secs_f64() * 1e3);
        eprintln!(
            "liaison-bench: {label} — ANALYZE of {contacts_db} (the planner's statistics, as autovacuum would gather \
             them after a bulk load): {:.0} ms",
            took.as_secs_f64() * 1e3
        );
    }
    eprintln!(
        "liaison-bench: {label} — the database's own insert of the same {count} rows, {CEILING_BATCH} per INSERT and \
         transaction"
    );
    let ceiling = insert_ceiling(cluster.engine, dir, postgres, ceiling_db, count).await?;
    register.seeded.ratio = crate::report::ratio(register.seeded.import_per_s, ceiling.rows_per_s);
    eprintln!(
        "liaison-bench: {label} — db multi-row insert: {} rows/s; ImportContacts ÷ it: {}",
        crate::report::fmt_rate(ceiling.rows_per_s),
        crate::report::fmt_ratio(register.seeded.ratio)
    );
    register.seeded.ceiling = Some(ceiling);
    Ok(register)
}

/// Creates the organisations, imports `count` people and affiliates some of them, over `contacts`.
pub(crate) async fn seed(contacts: &Connections, count: usize, label: &str) -> anyhow::Result<Register> {
    let started = Instant::now();
    let specs = people::organizations(SEED);
    let organizations = create_organizations(contacts, &specs).await?;
    let departments = specs.iter().filter(|s| s.parent.is_some()).count();
    eprintln!(
        "liaison-bench: {label} — {} organisations created ({departments} departments of {} bodies) in {:.1} s",
        organizations.len(),
        specs.iter().filter_map(|s| s.parent).collect::<std::collections::HashSet<_>>().len(),
        started.elapsed().as_secs_f64()
    );
    let imported = import(contacts, count, label).await?;
    let import_per_s = if imported.seconds > 0.0 { count as f64 / imported.seconds } else { 0.0 };
    eprintln!(
        "liaison-bench: {label} — ImportContacts: {count} people ({} near-duplicates) in {} of at most \
         {STREAM_RECORDS} records, {STREAMS_AT_ONCE} at a time ({} of CSV): {:.1} s = {} records/s",
        imported.near_duplicates,
        calls(imported.streams),
        crate::report::fmt_bytes(imported.bytes),
        imported.seconds,
        crate::report::fmt_rate(import_per_s)
    );
    let affiliated = Instant::now();
    let affiliations = affiliate(contacts, &imported.names, &organizations, &specs).await?;
    eprintln!(
        "liaison-bench: {label} — {affiliations} affiliations created in {:.1} s; the register seeded in {:.1} s",
        affiliated.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(Register {
        queries: people::queries(SEED, count as u64, QUERIES),
        seeded: Seeded {
            contacts: imported.names.len() as u64,
            near_duplicates: imported.near_duplicates,
            organizations: organizations.len() as u64,
            departments: departments as u64,
            affiliations,
            streams: imported.streams,
            file_bytes: imported.bytes,
            import_seconds: imported.seconds,
            import_per_s,
            seconds: started.elapsed().as_secs_f64(),
            catch_up_seconds: None,
            analyze_ms: None,
            ceiling: None,
            ratio: None,
        },
        names: imported.names,
    })
}

/// Creates `specs` (bodies before their departments) and returns their names, in order.
async fn create_organizations(
    contacts: &Connections,
    specs: &[people::OrganizationSpec],
) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<Option<String>> = vec![None; specs.len()];
    // Parents first: a department names its body, which must exist.
    for departments in [false, true] {
        let wanted: Vec<usize> = (0..specs.len()).filter(|i| specs[*i].parent.is_some() == departments).collect();
        let created: Vec<(usize, String)> = futures::stream::iter(wanted)
            .map(|index| {
                let spec = &specs[index];
                let parent = spec.parent.and_then(|p| names[p].clone()).unwrap_or_default();
                let organization = Organization {
                    display_name: spec.display_name.clone(),
                    kind: spec.kind,
                    website: spec.website.clone(),
                    parent,
                    labels: spec.labels.iter().map(|l| (*l).to_owned()).collect(),
                    ..Default::default()
                };
                let channel = contacts.get(index);
                async move {
                    let request =
                        CreateOrganizationRequest { organization: Some(organization), request_id: String::new() };
                    let created = ContactsServiceClient::new(channel)
                        .create_organization(request)
                        .await
                        .with_context(|| format!("seeding organisation {index}: CreateOrganization failed"))?
                        .into_inner()
                        .organization
                        .context("CreateOrganization returned no organisation")?;
                    anyhow::Ok((index, created.name))
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect()
            .await?;
        for (index, name) in created {
            names[index] = Some(name);
        }
    }
    names.into_iter().enumerate().map(|(i, n)| n.with_context(|| format!("organisation {i} was not created"))).collect()
}

/// What the import did.
struct Imported {
    names: Vec<String>,
    near_duplicates: u64,
    streams: u64,
    bytes: u64,
    seconds: f64,
}

/// One ImportContacts call's file: records `range`, in chunks.
struct File {
    range: Range<u64>,
    chunks: Vec<Vec<u8>>,
}

/// Renders records `range` as a CSV file in chunks of about [`CHUNK_BYTES`] (cut between rows); also counts the
/// near-duplicates.
fn render(range: Range<u64>) -> (File, u64) {
    let mut chunks = Vec::new();
    let mut chunk = format!("{}\r\n", people::CSV_HEADER);
    let mut near_duplicates = 0;
    for i in range.clone() {
        let person = people::person(SEED, i);
        near_duplicates += u64::from(person.duplicate_of.is_some());
        people::write_csv_row(&mut chunk, &person);
        if chunk.len() >= CHUNK_BYTES {
            chunks.push(std::mem::take(&mut chunk).into_bytes());
        }
    }
    if !chunk.is_empty() {
        chunks.push(chunk.into_bytes());
    }
    (File { range, chunks }, near_duplicates)
}

/// Imports `count` people, [`STREAMS_AT_ONCE`] calls at a time; the files are rendered before the clock starts (the
/// rate is the service's, not the generator's).
async fn import(contacts: &Connections, count: usize, label: &str) -> anyhow::Result<Imported> {
    let ranges: Vec<Range<u64>> = (0..count as u64)
        .step_by(STREAM_RECORDS)
        .map(|start| start..(start + STREAM_RECORDS as u64).min(count as u64))
        .collect();
    let rendering = Instant::now();
    let rendered = tokio::task::spawn_blocking(move || ranges.into_iter().map(render).collect::<Vec<_>>())
        .await
        .context("rendering the import files failed")?;
    let near_duplicates = rendered.iter().map(|(_, d)| d).sum();
    let bytes: u64 = rendered.iter().flat_map(|(f, _)| &f.chunks).map(|c| c.len() as u64).sum();
    let streams = rendered.len() as u64;
    eprintln!(
        "liaison-bench: {label} — {count} people generated as {} of CSV in {:.1} s",
        crate::report::fmt_bytes(bytes),
        rendering.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let parts: Vec<Vec<String>> = futures::stream::iter(rendered)
        .enumerate()
        .map(|(n, (file, _))| import_file(contacts.get(n), file))
        .buffered(STREAMS_AT_ONCE)
        .try_collect()
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Imported { names: parts.into_iter().flatten().collect(), near_duplicates, streams, bytes, seconds })
}

/// One ImportContacts call of `file`; the names of its contacts, in file order. Every record must be created.
async fn import_file(channel: tonic::transport::Channel, file: File) -> anyhow::Result<Vec<String>> {
    let File { range, chunks } = file;
    let expected = (range.end - range.start) as usize;
    let mut attempt = 1;
    let mut responses = loop {
        let requests: Vec<ImportContactsRequest> = chunks
            .iter()
            .enumerate()
            .map(|(n, data)| ImportContactsRequest {
                options: (n == 0).then_some(ImportOptions {
                    format: ContactFormat::Csv as i32,
                    duplicate_policy: DuplicatePolicy::Create as i32,
                    validate_only: false,
                }),
                data: data.clone(),
            })
            .collect();
        match ContactsServiceClient::new(channel.clone()).import_contacts(futures::stream::iter(requests)).await {
            Ok(response) => break response.into_inner(),
            // A call that just ended may not have given its turn back yet.
            Err(status) if status.code() == tonic::Code::ResourceExhausted && attempt < BUSY_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(status) => {
                return Err(status).with_context(|| format!("ImportContacts of records {range:?} failed"));
            }
        }
    };
    let mut names = vec![String::new(); expected];
    let mut refused = Vec::new();
    let mut report = None;
    while let Some(message) =
        responses.message().await.with_context(|| format!("ImportContacts of records {range:?} failed while it ran"))?
    {
        match message.event {
            Some(import_contacts_response::Event::Results(results)) => {
                for result in results.results {
                    let slot = usize::try_from(result.record - 1).ok().filter(|slot| *slot < expected);
                    match slot {
                        Some(slot) if result.outcome == ImportOutcome::Created as i32 => names[slot] = result.contact,
                        _ => refused.push(format!(
                            "record {} (line {}): {:?} {}",
                            range.start + u64::try_from(result.record.max(1) - 1).unwrap_or(0),
                            result.line,
                            ImportOutcome::try_from(result.outcome).unwrap_or(ImportOutcome::Unspecified),
                            result.reason
                        )),
                    }
                }
            }
            Some(import_contacts_response::Event::Report(done)) => report = Some(done),
            Some(import_contacts_response::Event::Progress(_)) | None => {}
        }
    }
    let report = report.with_context(|| format!("ImportContacts of records {range:?} ended without its report"))?;
    if !report.interrupted.is_empty() {
        bail!("ImportContacts of records {range:?} was interrupted: {}", report.interrupted);
    }
    if !refused.is_empty() {
        bail!(
            "{} of the generated records {range:?} were not created (the generator must make valid contacts), e.g. {}",
            refused.len(),
            refused.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
        );
    }
    if let Some(missing) = names.iter().position(String::is_empty) {
        bail!("ImportContacts of records {range:?} gave no result for record {}", range.start + missing as u64);
    }
    Ok(names)
}

/// Affiliates the people the generator says with their organisations; how many.
async fn affiliate(
    contacts: &Connections,
    names: &[String],
    organizations: &[String],
    specs: &[people::OrganizationSpec],
) -> anyhow::Result<u64> {
    let wanted: Vec<(usize, Affiliation)> = (0..names.len())
        .filter_map(|i| {
            let (organization, role, (year, month, day)) = people::affiliation(SEED, i as u64, specs)?;
            Some((
                i,
                Affiliation {
                    contact: names[i].clone(),
                    organization: organizations[organization].clone(),
                    role: role.to_owned(),
                    start_date: Some(Date { year, month, day }),
                    ..Default::default()
                },
            ))
        })
        .collect();
    let count = wanted.len() as u64;
    futures::stream::iter(wanted)
        .map(|(i, affiliation)| {
            let channel = contacts.get(i);
            async move {
                let request = CreateAffiliationRequest { affiliation: Some(affiliation), request_id: String::new() };
                ContactsServiceClient::new(channel)
                    .create_affiliation(request)
                    .await
                    .with_context(|| format!("affiliating record {i}: CreateAffiliation failed"))?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<()>()
        .await?;
    Ok(count)
}

/// Waits until reporting has applied every change the feeds it follows hold now; how long that took.
pub(crate) async fn catch_up(cluster: &Cluster) -> anyhow::Result<Duration> {
    catch_up_at(|kind| {
        let url = cluster.url(kind);
        tonic::transport::Endpoint::from_shared(url.clone()).with_context(|| format!("invalid URL {url}"))
    })
    .await
}

/// [`catch_up`] of the all-in-one with TLS (its reporting would otherwise catch up while the first scenarios run
/// on the system under test, on the same cores).
pub(crate) async fn catch_up_tls(server: &TlsAllInOne) -> anyhow::Result<Duration> {
    catch_up_at(|kind| server.tls().endpoint(server.port(kind)).map_err(|e| anyhow::anyhow!("{kind}: {e}"))).await
}

/// [`catch_up`] of the services `endpoint` reaches.
async fn catch_up_at(endpoint: impl Fn(ServiceKind) -> anyhow::Result<Endpoint>) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let connect = |kind: ServiceKind| {
        let endpoint = endpoint(kind).map(|e| e.timeout(Duration::from_secs(10)));
        async move { endpoint?.connect().await.with_context(|| format!("cannot connect to {kind}")) }
    };
    // The end of each feed reporting follows now (its `latest_sequence`; 0 for an empty feed).
    let mut heads = Vec::new();
    for kind in [ServiceKind::Contacts, ServiceKind::Scheduling, ServiceKind::Mediation] {
        let request = ListChangesRequest { after_sequence: 0, page_size: Some(1) };
        let page = ChangeFeedServiceClient::new(connect(kind).await?)
            .list_changes(request)
            .await
            .with_context(|| format!("ListChanges of {kind} failed"))?
            .into_inner();
        heads.push((kind, page.latest_sequence));
    }
    let mut reporting = ReportingServiceClient::new(connect(ServiceKind::Reporting).await?);
    loop {
        let status = reporting
            .get_ingestion_status(GetIngestionStatusRequest {})
            .await
            .context("GetIngestionStatus failed")?
            .into_inner();
        let reached = heads
            .iter()
            .all(|(kind, head)| status.sources.iter().any(|s| s.source == kind.name() && s.cursor >= *head));
        if reached {
            return Ok(started.elapsed());
        }
        if started.elapsed() > CATCH_UP_TIMEOUT {
            bail!("reporting did not catch up with the feeds {heads:?} within {CATCH_UP_TIMEOUT:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `ANALYZE` of the database `name` of `postgres`; how long it took.
pub(crate) async fn analyze(postgres: &Postgres, name: &str) -> anyhow::Result<Duration> {
    let url = postgres.url_of(name);
    let started = Instant::now();
    let mut conn = sqlx::postgres::PgConnection::connect(&url)
        .await
        .with_context(|| format!("cannot connect to {}", liaison_runtime::db::redact(&url)))?;
    sqlx::raw_sql("ANALYZE").execute(&mut conn).await.with_context(|| format!("ANALYZE of {name}"))?;
    let _ = conn.close().await;
    Ok(started.elapsed())
}

/// The columns of the ceiling's table bound per row (`revision`, `create_time` and `update_time` are literals).
const CEILING_COLUMNS: &[&str] = &[
    "id",
    "display_name",
    "given_name",
    "family_name",
    "email",
    "phone",
    "time_zone",
    "notes",
    "emails",
    "phones",
    "preferred_channel",
    "languages",
    "working_hours",
    "labels",
    "consent",
    "do_not_contact",
    "uid",
    "search_text",
];

/// `contacts`' columns and primary key (services/contacts/src/store/migration), without the merge and delete
/// columns an import leaves empty.
fn ceiling_table(engine: Engine) -> String {
    let time = match engine {
        Engine::Sqlite => "TEXT",
        Engine::Postgres => "TIMESTAMPTZ",
    };
    format!(
        "CREATE TABLE bench_import (id TEXT PRIMARY KEY NOT NULL, display_name TEXT NOT NULL, given_name TEXT NOT \
         NULL, family_name TEXT NOT NULL, email TEXT NOT NULL, phone TEXT NOT NULL, time_zone TEXT NOT NULL, notes \
         TEXT NOT NULL, emails TEXT NOT NULL, phones TEXT NOT NULL, preferred_channel INTEGER NOT NULL, languages \
         TEXT NOT NULL, working_hours TEXT NOT NULL, labels TEXT NOT NULL, consent TEXT NOT NULL, do_not_contact \
         BOOLEAN NOT NULL, uid TEXT NOT NULL, search_text TEXT NOT NULL, revision BIGINT NOT NULL, create_time {time} \
         NOT NULL, update_time {time} NOT NULL)"
    )
}

/// `INSERT INTO bench_import (…) VALUES (…), (…)` of `rows` rows, with the engine's placeholders.
fn ceiling_insert(engine: Engine, rows: usize) -> String {
    let columns = CEILING_COLUMNS.len();
    let mut sql = format!(
        "INSERT INTO bench_import ({}, revision, create_time, update_time) VALUES ",
        CEILING_COLUMNS.join(", ")
    );
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            match engine {
                Engine::Sqlite => sql.push('?'),
                Engine::Postgres => sql.push_str(&format!("${}", row * columns + column + 1)),
            }
        }
        sql.push_str(", 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)");
    }
    sql
}

/// One row of the ceiling's table for record `i`, its columns' text as the service stores them (JSON lists, the
/// labels column, folded search text); `(text columns, preferred channel, do not contact)`.
fn ceiling_row(i: u64) -> (Vec<String>, i32, bool) {
    let person = people::person(SEED, i);
    let id = uuid::Uuid::now_v7().to_string();
    let channels = |list: &[people::Channel]| {
        let entries: Vec<serde_json::Value> = list
            .iter()
            .enumerate()
            .map(|(n, (kind, value))| {
                let kind = kind.trim_end_matches(':');
                serde_json::json!({ "value": value, "type": if kind.is_empty() { "work" } else { kind }, "primary": n == 0 })
            })
            .collect();
        serde_json::Value::Array(entries).to_string()
    };
    let hours: Vec<serde_json::Value> = person.working_hours.map_or_else(Vec::new, |(start, end)| {
        (1..=5)
            .map(|day| {
                serde_json::json!({ "day": day, "start_minute": u16::from(start) * 60, "end_minute": u16::from(end) * 60 })
            })
            .collect()
    });
    let consent = match &person.consent {
        people::Consent::None => "{}".to_owned(),
        people::Consent::DoNotContact => r#"{"do_not_contact":true}"#.to_owned(),
        people::Consent::Allowed(since) => {
            serde_json::json!({ "allowed_channels": [1, 2], "basis": 1, "since": since }).to_string()
        }
    };
    let mut labels = person.labels.clone();
    labels.sort_unstable();
    let search_text = [&person.display_name, &person.given_name, &person.family_name]
        .into_iter()
        .map(|s| s.to_lowercase())
        .chain(person.emails.iter().map(|(_, e)| e.to_lowercase()))
        .collect::<Vec<_>>()
        .join(" ");
    let channel = ["", "email", "phone", "sms", "video", "in_person"]
        .iter()
        .position(|c| *c == person.preferred_channel)
        .map_or(0, |p| p as i32);
    let text = vec![
        id.clone(),
        person.display_name.clone(),
        person.given_name.clone(),
        person.family_name.clone(),
        person.emails.first().map(|(_, e)| e.clone()).unwrap_or_default(),
        person.phones.first().map(|(_, p)| p.clone()).unwrap_or_default(),
        person.time_zone.to_owned(),
        person.notes.to_owned(),
        channels(&person.emails),
        channels(&person.phones),
        serde_json::Value::from(person.languages.clone()).to_string(),
        serde_json::Value::Array(hours).to_string(),
        if labels.is_empty() { String::new() } else { format!(",{},", labels.join(",")) },
        consent,
        format!("urn:uuid:{id}"),
        search_text,
    ];
    (text, channel, person.consent == people::Consent::DoNotContact)
}

/// Binds the rows of records `range` to `sql` (as [`ceiling_insert`] made it) and runs it in a transaction of its
/// own on `conn`; the time from BEGIN to COMMIT.
macro_rules! insert_batch {
    ($conn:expr, $sql:expr, $range:expr) => {{
        let rows: Vec<(Vec<String>, i32, bool)> = $range.map(ceiling_row).collect();
        let mut query = sqlx::query(sqlx::AssertSqlSafe($sql));
        for (text, channel, do_not_contact) in &rows {
            let [
                id,
                display,
                given,
                family,
                email,
                phone,
                zone,
                notes,
                emails,
                phones,
                languages,
                hours,
                labels,
                consent,
                uid,
                search,
            ] = text.as_slice()
            else {
                unreachable!("a ceiling row has 16 text columns")
            };
            query = query
                .bind(id)
                .bind(display)
                .bind(given)
                .bind(family)
                .bind(email)
                .bind(phone)
                .bind(zone)
                .bind(notes)
                .bind(emails)
                .bind(phones)
                .bind(*channel)
                .bind(languages)
                .bind(hours)
                .bind(labels)
                .bind(consent)
                .bind(*do_not_contact)
                .bind(uid)
                .bind(search);
        }
        let started = Instant::now();
        let mut transaction = $conn.begin().await.context("BEGIN of the ceiling's batch")?;
        query.execute(&mut *transaction).await.context("the ceiling's INSERT failed")?;
        transaction.commit().await.context("COMMIT of the ceiling's batch")?;
        started.elapsed()
    }};
}

/// The database's own rate for the import's `count` rows: [`CEILING_BATCH`] per INSERT, a transaction each, one
/// connection (the import's batches are written one at a time too), into a fresh `contacts`-shaped table of a
/// SQLite file in `dir` (WAL, synchronous=NORMAL: the services' settings) or of a scratch PostgreSQL database
/// `database`, removed afterwards.
pub(crate) async fn insert_ceiling(
    engine: Engine,
    dir: &Path,
    postgres: &Postgres,
    database: &str,
    count: usize,
) -> anyhow::Result<InsertCeiling> {
    let full = ceiling_insert(engine, CEILING_BATCH);
    let batches: Vec<Range<u64>> = (0..count as u64)
        .step_by(CEILING_BATCH)
        .map(|start| start..(start + CEILING_BATCH as u64).min(count as u64))
        .collect();
    let sql_of = |range: &Range<u64>| {
        let rows = (range.end - range.start) as usize;
        if rows == CEILING_BATCH { full.clone() } else { ceiling_insert(engine, rows) }
    };
    let mut spent = Duration::ZERO;
    match engine {
        Engine::Sqlite => {
            let path = dir.join("import-ceiling.db");
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10));
            let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options)
                .await
                .with_context(|| format!("cannot open {}", path.display()))?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(ceiling_table(engine)))
                .execute(&mut conn)
                .await
                .context("cannot create the import ceiling's table")?;
            for range in &batches {
                spent += insert_batch!(conn, sql_of(range), range.clone());
            }
            let _ = conn.close().await;
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(dir.join(format!("import-ceiling.db{suffix}")));
            }
        }
        Engine::Postgres => {
            let url = postgres.create(database).await?;
            let measured = async {
                let mut conn = sqlx::postgres::PgConnection::connect(&url)
                    .await
                    .with_context(|| format!("cannot connect to {}", liaison_runtime::db::redact(&url)))?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(ceiling_table(engine)))
                    .execute(&mut conn)
                    .await
                    .context("cannot create the import ceiling's table")?;
                let mut spent = Duration::ZERO;
                for range in &batches {
                    spent += insert_batch!(conn, sql_of(range), range.clone());
                }
                let _ = conn.close().await;
                anyhow::Ok(spent)
            }
            .await;
            postgres.drop_database(database).await?;
            spent = measured?;
        }
    }
    let seconds = spent.as_secs_f64();
    Ok(InsertCeiling {
        rows: count as u64,
        batch: CEILING_BATCH,
        seconds,
        rows_per_s: if seconds > 0.0 { count as f64 / seconds } else { 0.0 },
    })
}

/// `1 call`, `4 calls`.
fn calls(n: u64) -> String {
    if n == 1 { "1 call".to_owned() } else { format!("{n} calls") }
}

/// The register's seeding in one line, for the engine's header.
pub(crate) fn fmt_seeded(seeded: &Seeded) -> String {
    let mut line = format!(
        "register: {} contacts ({} near-duplicates) imported with ImportContacts (CSV, {}, {}) in {:.1} s = \
         **{} records/s**; {} organisations ({} departments), {} affiliations; seeded in {:.1} s",
        crate::report::fmt_rate(seeded.contacts as f64),
        crate::report::fmt_rate(seeded.near_duplicates as f64),
        calls(seeded.streams),
        crate::report::fmt_bytes(seeded.file_bytes),
        seeded.import_seconds,
        crate::report::fmt_rate(seeded.import_per_s),
        seeded.organizations,
        seeded.departments,
        crate::report::fmt_rate(seeded.affiliations as f64),
        seeded.seconds,
    );
    if let Some(ceiling) = &seeded.ceiling {
        line += &format!(
            "; the database's own insert of the same rows ({} per INSERT and transaction): {} rows/s, ImportContacts \
             ÷ it = {}",
            ceiling.batch,
            crate::report::fmt_rate(ceiling.rows_per_s),
            crate::report::fmt_ratio(seeded.ratio)
        );
    }
    if let Some(ms) = seeded.analyze_ms {
        line += &format!("; ANALYZE of the contacts database {ms:.0} ms");
    }
    if let Some(seconds) = seeded.catch_up_seconds {
        line += &format!("; reporting caught up {seconds:.1} s later");
    }
    line
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A seeded register's figures, for tests.
    pub(crate) fn seeded(contacts: u64, import_per_s: f64, ceiling_per_s: Option<f64>) -> Seeded {
        Seeded {
            contacts,
            near_duplicates: contacts * 3 / 100,
            organizations: 300,
            departments: 140,
            affiliations: contacts / 20,
            streams: contacts.div_ceil(STREAM_RECORDS as u64),
            file_bytes: contacts * 280,
            import_seconds: contacts as f64 / import_per_s,
            import_per_s,
            seconds: contacts as f64 / import_per_s + 1.0,
            catch_up_seconds: Some(0.5),
            analyze_ms: None,
            ceiling: ceiling_per_s.map(|rows_per_s| InsertCeiling {
                rows: contacts,
                batch: CEILING_BATCH,
                seconds: contacts as f64 / rows_per_s,
                rows_per_s,
            }),
            ratio: ceiling_per_s.and_then(|c| crate::report::ratio(import_per_s, c)),
        }
    }

    #[test]
    fn files_are_cut_between_rows_and_start_with_the_header() {
        let (file, near_duplicates) = render(0..8_000);
        assert!(file.chunks.len() >= 2, "{} chunks", file.chunks.len());
        let text: Vec<String> = file.chunks.iter().map(|c| String::from_utf8(c.clone()).expect("UTF-8")).collect();
        assert!(text[0].starts_with(people::CSV_HEADER));
        assert!(text.iter().all(|t| t.ends_with("\r\n")), "whole rows in each chunk");
        assert!(text[1..].iter().all(|t| !t.starts_with("display_name,")), "one header");
        assert!(file.chunks.iter().all(|c| c.len() < CHUNK_BYTES + 4096), "under the service's 4 MiB");
        assert!((100..400).contains(&near_duplicates), "{near_duplicates}");
    }

    #[test]
    fn the_ceilings_insert_binds_every_column_of_every_row() {
        let sqlite = ceiling_insert(Engine::Sqlite, 3);
        assert_eq!(sqlite.matches('?').count(), 3 * CEILING_COLUMNS.len());
        let postgres = ceiling_insert(Engine::Postgres, CEILING_BATCH);
        let last = format!("${}", CEILING_BATCH * CEILING_COLUMNS.len());
        assert!(postgres.contains(&last) && postgres.matches("CURRENT_TIMESTAMP").count() == 2 * CEILING_BATCH);
        assert!(CEILING_BATCH * CEILING_COLUMNS.len() < 32_766, "under SQLite's and PostgreSQL's bind limits");
        let (text, _, _) = ceiling_row(7);
        assert_eq!(text.len() + 2, CEILING_COLUMNS.len());
    }

    #[tokio::test]
    async fn the_sqlite_ceiling_writes_every_row() {
        let dir = tempfile::tempdir().expect("temp dir");
        let postgres = Postgres::new("postgres://nobody@127.0.0.1:1/x");
        let ceiling = insert_ceiling(Engine::Sqlite, dir.path(), &postgres, "unused", 1_234).await.expect("ceiling");
        assert_eq!((ceiling.rows, ceiling.batch), (1_234, CEILING_BATCH));
        assert!(ceiling.rows_per_s > 0.0);
        assert!(!dir.path().join("import-ceiling.db").exists(), "removed afterwards");
    }

    #[test]
    fn the_seeding_line_says_the_rate_and_its_ratio() {
        let line = fmt_seeded(&seeded(100_000, 10_000.0, Some(40_000.0)));
        assert!(line.contains("100 000 contacts (3 000 near-duplicates)"), "{line}");
        assert!(line.contains("**10 000 records/s**"), "{line}");
        assert!(line.contains("40 000 rows/s, ImportContacts ÷ it = 0.25×"), "{line}");
    }
}
