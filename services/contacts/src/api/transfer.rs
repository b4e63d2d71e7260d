//! vCard and CSV import and export of contacts.
//!
//! ImportContacts reads the file as it streams in: records are cut from the chunks, checked with the API's own
//! rules, and matched and written [`IMPORT_BATCH`] at a time (one transaction each), with a progress message
//! after each batch and the per-record report at the end. A bad record is reported and never stops the others;
//! a fault of the stream itself (options missing or repeated, a bad CSV header, a file over 64 MiB) ends the
//! import with INVALID_ARGUMENT. Batches committed before such a fault stay written; importing the corrected
//! file again skips (or leaves unchanged) what they wrote.
//!
//! ExportContacts pages through the live contacts [`EXPORT_PAGE`] at a time and sends each page as one chunk.
use super::ContactsApi;
use crate::domain::labels;
use crate::domain::transfer::{DuplicatePolicy, Format, IMPORT_MAX_BYTES, SourceRecord, ValidRecord, check};
use crate::formats::{self, csv, vcard};
use crate::resource;
use crate::store::Store;
use crate::store::contacts::ContactFilter;
use crate::store::transfer::{Action, Importer};
use liaison_proto::contacts::v1::*;
use liaison_runtime::{Error, Validate, net::context};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

pub(super) type ImportStream = ReceiverStream<Result<ImportContactsResponse, Status>>;
pub(super) type ExportStream = ReceiverStream<Result<ExportContactsResponse, Status>>;

/// Records per write transaction, and per progress message.
const IMPORT_BATCH: usize = 500;
/// Contacts per export chunk.
const EXPORT_PAGE: u64 = 200;

/// Runs `work` on a task of its own, keeping the request's trace context, actor and span (the change rows an
/// import writes carry them).
fn spawn_for_request(work: impl Future<Output = ()> + Send + 'static) {
    let scoped = context::scope(context::current(), context::with_caller(context::caller(), work));
    tokio::spawn(scoped.instrument(tracing::Span::current()));
}

pub(super) async fn import_contacts(
    api: &ContactsApi,
    request: Request<Streaming<ImportContactsRequest>>,
) -> Result<Response<ImportStream>, Status> {
    let store = api.store.clone();
    let incoming = request.into_inner();
    let (tx, rx) = mpsc::channel(4);
    spawn_for_request(async move {
        if let Err(status) = import(store, incoming, &tx).await {
            let _ = tx.send(Err(status)).await;
        }
    });
    Ok(Response::new(ReceiverStream::new(rx)))
}

async fn import(
    store: Store,
    mut incoming: Streaming<ImportContactsRequest>,
    tx: &mpsc::Sender<Result<ImportContactsResponse, Status>>,
) -> Result<(), Status> {
    let missing = || Error::invalid("options", "is required in the first message (with options.format)");
    let first = incoming.message().await?.ok_or_else(missing)?;
    let options = first.options.ok_or_else(missing)?;
    let (format, policy) = (
        Format::parse("options.format", options.format),
        DuplicatePolicy::parse("options.duplicate_policy", options.duplicate_policy),
    )
        .validate()?;
    let mut reader = formats::reader(format);
    let mut run = ImportRun::new(store.importer(policy, options.validate_only), tx.clone());
    let mut data = first.data;
    let mut size = 0usize;
    let mut message = 1;
    loop {
        size += data.len();
        if size > IMPORT_MAX_BYTES {
            return Err(Error::invalid(
                "data",
                format!("the file is larger than {} MiB; split it", IMPORT_MAX_BYTES / (1024 * 1024)),
            )
            .into());
        }
        let records = reader.push(&data).map_err(Error::InvalidArgument)?;
        run.add(records).await?;
        let Some(next) = incoming.message().await? else { break };
        message += 1;
        if next.options.is_some() {
            return Err(Error::invalid(
                "options",
                format!("must be set in the first message only (message {message} sets it)"),
            )
            .into());
        }
        data = next.data;
    }
    let records = reader.finish().map_err(Error::InvalidArgument)?;
    run.add(records).await?;
    run.finish().await
}

/// The records read so far, their results, and the batch waiting to be written.
struct ImportRun {
    importer: Importer,
    tx: mpsc::Sender<Result<ImportContactsResponse, Status>>,
    batch: Vec<(u32, Result<ValidRecord, ImportRecordResult>)>,
    results: Vec<ImportRecordResult>,
    totals: ImportProgress,
    validate_only: bool,
}

impl ImportRun {
    fn new(importer: Importer, tx: mpsc::Sender<Result<ImportContactsResponse, Status>>) -> Self {
        let validate_only = importer.dry_run();
        Self { importer, tx, batch: Vec::new(), results: Vec::new(), totals: ImportProgress::default(), validate_only }
    }

    async fn add(&mut self, records: Vec<SourceRecord>) -> Result<(), Status> {
        for record in records {
            self.totals.records_read += 1;
            let number = u32::try_from(self.totals.records_read).unwrap_or(u32::MAX);
            let checked = check(record).map_err(|rejected| ImportRecordResult {
                record: self.totals.records_read,
                line: i32::try_from(rejected.line).unwrap_or(i32::MAX),
                outcome: ImportOutcome::Rejected as i32,
                contact: String::new(),
                reason: rejected.reason(),
                warnings: rejected.warnings,
            });
            self.batch.push((number, checked));
            if self.batch.len() >= IMPORT_BATCH {
                self.write_batch().await?;
                self.send(import_contacts_response::Event::Progress(self.totals)).await?;
            }
        }
        Ok(())
    }

    async fn write_batch(&mut self) -> Result<(), Status> {
        // Each record's slot in the report: its result when rejected, its line when it goes to the importer.
        let mut slots = Vec::with_capacity(self.batch.len());
        let mut valid = Vec::new();
        for (number, checked) in std::mem::take(&mut self.batch) {
            match checked {
                Ok(record) => {
                    slots.push((number, Err(record.line)));
                    valid.push((number, record));
                }
                Err(rejected) => slots.push((number, Ok(rejected))),
            }
        }
        let mut decisions = self.importer.write_batch(valid).await?.into_iter();
        for (number, slot) in slots {
            let result = match slot {
                Ok(rejected) => {
                    self.totals.rejected += 1;
                    rejected
                }
                Err(line) => {
                    let Some((decided, decision)) = decisions.next().filter(|(decided, _)| *decided == number) else {
                        return Err(Error::Internal(format!("no decision for record {number}")).into());
                    };
                    let outcome = match decision.action {
                        Action::Created => {
                            self.totals.created += 1;
                            ImportOutcome::Created
                        }
                        Action::Updated => {
                            self.totals.updated += 1;
                            ImportOutcome::Updated
                        }
                        Action::Skipped => {
                            self.totals.skipped += 1;
                            ImportOutcome::Skipped
                        }
                    };
                    ImportRecordResult {
                        record: i32::try_from(decided).unwrap_or(i32::MAX),
                        line: i32::try_from(line).unwrap_or(i32::MAX),
                        outcome: outcome as i32,
                        contact: decision.contact,
                        reason: decision.reason,
                        warnings: decision.warnings,
                    }
                }
            };
            self.results.push(result);
        }
        Ok(())
    }

    async fn send(&self, event: import_contacts_response::Event) -> Result<(), Status> {
        self.tx
            .send(Ok(ImportContactsResponse { event: Some(event) }))
            .await
            .map_err(|_| Status::cancelled("the client went away"))
    }

    async fn finish(mut self) -> Result<(), Status> {
        self.write_batch().await?;
        let report = ImportReport {
            totals: Some(self.totals),
            results: std::mem::take(&mut self.results),
            validate_only: self.validate_only,
        };
        self.send(import_contacts_response::Event::Report(report)).await
    }
}

pub(super) async fn export_contacts(
    api: &ContactsApi,
    request: Request<ExportContactsRequest>,
) -> Result<Response<ExportStream>, Status> {
    let request = request.into_inner();
    let (format, label) = (
        Format::parse("format", request.format),
        if request.label.is_empty() { Ok(None) } else { labels::label("label", &request.label).map(Some) },
    )
        .validate()?;
    let store = api.store.clone();
    let (tx, rx) = mpsc::channel(2);
    spawn_for_request(async move {
        if let Err(error) = export(&store, format, label, &tx).await {
            let _ = tx.send(Err(error.into())).await;
        }
    });
    Ok(Response::new(ReceiverStream::new(rx)))
}

async fn export(
    store: &Store,
    format: Format,
    label: Option<String>,
    tx: &mpsc::Sender<Result<ExportContactsResponse, Status>>,
) -> Result<(), Error> {
    let filter = ContactFilter { label, ..ContactFilter::default() };
    let mut after = None;
    let mut first = true;
    loop {
        let page = store.list_contacts(&filter, after, EXPORT_PAGE).await?;
        let contacts: Vec<Contact> = page.iter().map(resource::contact).collect();
        let data = match format {
            Format::Vcard => {
                let mut text = String::new();
                for contact in &contacts {
                    vcard::write_card(&mut text, contact);
                }
                text.into_bytes()
            }
            Format::Csv => csv::write(&contacts, first)
                .map_err(|e| Error::Internal(format!("writing CSV into memory failed: {e}")))?,
        };
        first = false;
        if !data.is_empty() {
            let chunk = ExportContactsResponse { data, contact_count: i32::try_from(contacts.len()).unwrap_or(0) };
            if tx.send(Ok(chunk)).await.is_err() {
                return Ok(());
            }
        }
        if (page.len() as u64) < EXPORT_PAGE {
            return Ok(());
        }
        after = page.last().map(|m| m.id.clone());
    }
}
