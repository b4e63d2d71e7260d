//! vCard and CSV import and export of contacts.
//!
//! ImportContacts reads the file as it streams in: records are cut from the chunks, checked with the API's own
//! rules, and matched and written [`IMPORT_BATCH`] at a time (one transaction each), with the batch's per-record
//! results and a progress message after each batch and the totals at the end — so memory and every message stay
//! bounded whatever the file. A bad record is reported and never stops the others; a fault of the stream itself
//! (options missing or repeated, a bad CSV header, a file over 1 GiB or 2,000,000 records, a record over 1 MiB)
//! ends the import with INVALID_ARGUMENT. Batches committed before such a fault stay written; importing the
//! corrected file again skips (or leaves unchanged) what they wrote. At most [`IMPORTS_AT_ONCE`] imports run on a
//! server; a server shutting down writes the batch in hand and ends the import with its report.
//!
//! ExportContacts pages through the live contacts [`EXPORT_PAGE`] at a time and sends the file in chunks of about
//! [`EXPORT_CHUNK_BYTES`].
use super::ContactsApi;
use crate::domain::labels;
use crate::domain::transfer::{
    DuplicatePolicy, Format, IMPORT_MAX_RECORD_BYTES, IMPORTS_AT_ONCE, SourceRecord, ValidRecord, check,
    within_import_bounds,
};
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
/// Contacts read per query of an export.
const EXPORT_PAGE: u64 = 200;
/// An export chunk is sent once it holds this many bytes (so at most this plus one contact, far under the 4 MiB a
/// message may have, whatever the contacts hold).
const EXPORT_CHUNK_BYTES: usize = 1024 * 1024;

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
    let Ok(turn) = std::sync::Arc::clone(&api.imports).try_acquire_owned() else {
        return Err(Error::ResourceExhausted {
            reason: "IMPORTS_BUSY",
            message: format!("{IMPORTS_AT_ONCE} imports are running on this server; try again when one ends"),
            retry_after: std::time::Duration::from_secs(5),
        }
        .into());
    };
    let store = api.store.clone();
    let shutdown = api.shutdown.clone();
    let incoming = request.into_inner();
    let (tx, rx) = mpsc::channel(4);
    spawn_for_request(async move {
        let _turn = turn;
        if let Err(status) = import(store, incoming, &tx, shutdown).await {
            let _ = tx.send(Err(status)).await;
        }
    });
    Ok(Response::new(ReceiverStream::new(rx)))
}

async fn import(
    store: Store,
    mut incoming: Streaming<ImportContactsRequest>,
    tx: &mpsc::Sender<Result<ImportContactsResponse, Status>>,
    shutdown: tokio_util::sync::CancellationToken,
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
    // Bytes received since a record last ended: what the reader may be holding of an unfinished one.
    let mut unfinished = 0usize;
    let mut message = 1;
    loop {
        size += data.len();
        within_import_bounds(size, 0).map_err(|v| Error::InvalidArgument(vec![v]))?;
        let records = reader.push(&data).map_err(Error::InvalidArgument)?;
        unfinished = if records.is_empty() { unfinished + data.len() } else { 0 };
        if unfinished > IMPORT_MAX_RECORD_BYTES + data.len() {
            let after = run.totals.records_read;
            return Err(Error::invalid(
                "data",
                format!("no record ends within 1 MiB after record {after}; a contact is never that large"),
            )
            .into());
        }
        run.add(records).await?;
        let next = tokio::select! {
            next = incoming.message() => next?,
            () = shutdown.cancelled() => return run.finish("the server is shutting down").await,
        };
        let Some(next) = next else { break };
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
    run.finish("").await
}

/// The records read so far, their results, and the batch waiting to be written.
struct ImportRun {
    importer: Importer,
    tx: mpsc::Sender<Result<ImportContactsResponse, Status>>,
    batch: Vec<(u32, Result<ValidRecord, ImportRecordResult>)>,
    totals: ImportProgress,
    validate_only: bool,
}

impl ImportRun {
    fn new(importer: Importer, tx: mpsc::Sender<Result<ImportContactsResponse, Status>>) -> Self {
        let validate_only = importer.dry_run();
        Self { importer, tx, batch: Vec::new(), totals: ImportProgress::default(), validate_only }
    }

    async fn add(&mut self, records: Vec<SourceRecord>) -> Result<(), Status> {
        for record in records {
            within_import_bounds(0, self.totals.records_read as usize + 1)
                .map_err(|v| Error::InvalidArgument(vec![v]))?;
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

    /// Writes the batch in hand and sends its results.
    async fn write_batch(&mut self) -> Result<(), Status> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let results = self.decide_batch().await?;
        self.send(import_contacts_response::Event::Results(ImportResults { results })).await
    }

    /// Writes the batch in hand; the result of each of its records, in file order.
    async fn decide_batch(&mut self) -> Result<Vec<ImportRecordResult>, Status> {
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
        let mut results = Vec::with_capacity(slots.len());
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
            results.push(result);
        }
        Ok(results)
    }

    async fn send(&self, event: import_contacts_response::Event) -> Result<(), Status> {
        self.tx
            .send(Ok(ImportContactsResponse { event: Some(event) }))
            .await
            .map_err(|_| Status::cancelled("the client went away"))
    }

    /// Writes the batch in hand, then sends the report; `interrupted` says why the file was not read to its end
    /// (empty when it was).
    async fn finish(mut self, interrupted: &str) -> Result<(), Status> {
        self.write_batch().await?;
        let report = ImportReport {
            totals: Some(self.totals),
            results: Vec::new(),
            validate_only: self.validate_only,
            interrupted: interrupted.to_owned(),
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
    let mut chunk = ExportChunk::default();
    loop {
        let order = liaison_runtime::db::crud::ListOrder::Id { descending: false };
        let page = store.list_contacts(&filter, order, after, EXPORT_PAGE).await?;
        for model in &page {
            let contact = resource::contact(model);
            match format {
                Format::Vcard => {
                    let mut text = String::new();
                    vcard::write_card(&mut text, &contact);
                    chunk.data.extend_from_slice(text.as_bytes());
                }
                Format::Csv => chunk.data.extend(
                    csv::write(std::slice::from_ref(&contact), !chunk.header_written)
                        .map_err(|e| Error::Internal(format!("writing CSV into memory failed: {e}")))?,
                ),
            }
            chunk.header_written = true;
            chunk.contacts += 1;
            if chunk.data.len() >= EXPORT_CHUNK_BYTES && !chunk.send(tx).await {
                return Ok(());
            }
        }
        if (page.len() as u64) < EXPORT_PAGE {
            if matches!(format, Format::Csv) && !chunk.header_written {
                // No contact: the file is the header alone.
                chunk.data = csv::write(&[], true)
                    .map_err(|e| Error::Internal(format!("writing CSV into memory failed: {e}")))?;
            }
            chunk.send(tx).await;
            return Ok(());
        }
        after = page.last().map(|m| liaison_runtime::db::crud::Resume { value: None, id: m.id.clone() });
    }
}

/// The export chunk being filled.
#[derive(Default)]
struct ExportChunk {
    data: Vec<u8>,
    contacts: i32,
    /// Whether the CSV header went out (in the first chunk).
    header_written: bool,
}

impl ExportChunk {
    /// Sends what the chunk holds, if anything, and empties it; `false` when the client went away.
    async fn send(&mut self, tx: &mpsc::Sender<Result<ExportContactsResponse, Status>>) -> bool {
        if self.data.is_empty() {
            return true;
        }
        let message = ExportContactsResponse { data: std::mem::take(&mut self.data), contact_count: self.contacts };
        self.contacts = 0;
        tx.send(Ok(message)).await.is_ok()
    }
}
