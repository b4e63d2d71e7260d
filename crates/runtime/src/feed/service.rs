//! `liaison.common.v1.ChangeFeedService`, implemented once for every server: the server builder mounts it beside
//! health and reflection over the database of the service it serves, so every port offers its own feed the same
//! way and consumers need one client.
use crate::api::error::{Error, FieldViolation};
use crate::db::Db;
use crate::feed;
use futures::Stream;
use liaison_proto::common::v1::change_feed_service_server::{ChangeFeedService, ChangeFeedServiceServer};
use liaison_proto::common::v1::{ListChangesRequest, ListChangesResponse, WatchChangesRequest, WatchChangesResponse};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

/// The fully-qualified gRPC name of the feed service (for reflection and routing), as the generated code names it.
pub const SERVICE_NAME: &str = <ChangeFeedServiceServer<ChangeFeed> as tonic::server::NamedService>::NAME;

/// The change feed of one service's database.
#[derive(Debug, Clone)]
pub struct ChangeFeed {
    db: Db,
    shutdown: CancellationToken,
    /// One permit per open `WatchChanges` stream: each holds a task and, while catching up, the database.
    streams: Arc<Semaphore>,
    max_streams: usize,
}

impl ChangeFeed {
    /// The tonic service over `db`, with at most `max_streams` `WatchChanges` streams open at once; its streams
    /// end when `shutdown` is cancelled.
    pub fn server(db: Db, shutdown: CancellationToken, max_streams: usize) -> ChangeFeedServiceServer<Self> {
        let streams = Arc::new(Semaphore::new(max_streams));
        crate::limit_messages!(ChangeFeedServiceServer::new(Self { db, shutdown, streams, max_streams }))
    }
}

/// A `WatchChanges` stream holding its permit until the caller goes away.
pub struct Permitted<S> {
    stream: S,
    _permit: OwnedSemaphorePermit,
}

impl<S: Stream + Unpin> Stream for Permitted<S> {
    type Item = S::Item;

    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Option<S::Item>> {
        std::pin::Pin::new(&mut self.stream).poll_next(cx)
    }
}

/// How long a caller refused a stream is told to wait.
const STREAMS_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Where a `WatchChanges` starts: after a cursor, or at the feed's end.
fn watch_start(request: &WatchChangesRequest) -> Result<Option<i64>, Error> {
    let after = feed::parse_cursor("after_sequence", request.after_sequence).map_err(Error::from_violation)?;
    if request.start_at_end && after != 0 {
        return Err(Error::from_violation(FieldViolation::new(
            "after_sequence",
            "must be 0 when start_at_end is set: the stream starts at the feed's end",
        )));
    }
    Ok((!request.start_at_end).then_some(after))
}

#[tonic::async_trait]
impl ChangeFeedService for ChangeFeed {
    async fn list_changes(
        &self,
        request: Request<ListChangesRequest>,
    ) -> Result<Response<ListChangesResponse>, Status> {
        let request = request.into_inner();
        let sees_confidential = crate::net::context::caller().sees_all_confidential();
        let page = feed::serve_list(&self.db, request.after_sequence, request.page_size).await?;
        let latest_sequence = feed::head(&self.db).await?;
        Ok(Response::new(ListChangesResponse {
            changes: feed::as_seen_by(sees_confidential, page.changes),
            remaining_count: page.remaining,
            latest_sequence,
        }))
    }

    type WatchChangesStream = Permitted<ReceiverStream<Result<WatchChangesResponse, Status>>>;

    async fn watch_changes(
        &self,
        request: Request<WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let permit = Arc::clone(&self.streams).try_acquire_owned().map_err(|_| Error::ResourceExhausted {
            reason: "TOO_MANY_STREAMS",
            message: format!("this server has its maximum of {} change streams open; retry later", self.max_streams),
            retry_after: STREAMS_RETRY_AFTER,
        })?;
        let after = match watch_start(request.get_ref())? {
            Some(after) => after,
            None => feed::head(&self.db).await?,
        };
        // Decided here, in the request's task: the stream's task no longer knows the caller.
        let sees_confidential = crate::net::context::caller().sees_all_confidential();
        let stream = feed::watch(self.db.clone(), after, self.shutdown.clone(), move |changes, remaining_count| {
            WatchChangesResponse { changes: feed::as_seen_by(sees_confidential, changes), remaining_count }
        });
        Ok(Response::new(Permitted { stream, _permit: permit }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(after_sequence: i64, start_at_end: bool) -> WatchChangesRequest {
        WatchChangesRequest { after_sequence, start_at_end }
    }

    #[test]
    fn a_watch_starts_after_its_cursor_or_at_the_end() {
        assert_eq!(watch_start(&watch(0, false)).ok(), Some(Some(0)));
        assert_eq!(watch_start(&watch(42, false)).ok(), Some(Some(42)));
        assert_eq!(watch_start(&watch(0, true)).ok(), Some(None));
    }

    #[test]
    fn a_cursor_together_with_start_at_end_is_refused_naming_the_cursor() {
        let status = Status::from(watch_start(&watch(7, true)).expect_err("contradictory"));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().contains("after_sequence"), "{}", status.message());
    }

    #[test]
    fn a_negative_cursor_is_refused() {
        let status = Status::from(watch_start(&watch(-1, false)).expect_err("negative"));
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
    }
}
