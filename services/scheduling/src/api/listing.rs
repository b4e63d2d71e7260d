//! ListMeetings. One person's meetings in a window — a calendar's month, the list people open most — are answered
//! from two read caches: the person's calendar (which meetings they attend, with start, last end and status) and
//! each meeting's encoding, spliced into the response as it was encoded once. Both are dropped on every write
//! (`ReadCache`), so a list never shows less than the last write. Other lists (by link, or over everyone's
//! meetings) are read from the database, and the meetings they read are kept for the next.
use super::SchedulingApi;
use crate::domain::status_filter;
use crate::resource;
use crate::store::MeetingFilter;
use crate::store::calendars::Calendar;
use bytes::Bytes;
use liaison_proto::scheduling::v1::{ListMeetingsRequest, ListMeetingsResponse};
use liaison_runtime::api::names::{Contacts, Name};
use liaison_runtime::api::paging::{self, PageRequest};
use liaison_runtime::api::time::from_timestamp;
use liaison_runtime::feed::cache::ReadCache;
use liaison_runtime::net::wire::{self, Spliced};
use liaison_runtime::{Error, FieldViolation, Validate};
use std::collections::HashMap;
use tonic::Status;

/// Bytes of people's calendars kept (what they attend, each entry weighed by its size).
const CACHED_CALENDAR_BYTES: usize = 8 * 1024 * 1024;
/// Bytes of meeting encodings kept (about 1 KiB each).
const CACHED_MEETING_BYTES: usize = 32 * 1024 * 1024;

/// `ListMeetingsResponse`'s field numbers.
const MEETINGS: u32 = 1;
const NEXT_PAGE_TOKEN: u32 = 2;

/// The read caches of ListMeetings.
pub(super) struct ListCaches {
    calendars: ReadCache<Calendar>,
    meetings: ReadCache<Bytes>,
}

impl ListCaches {
    pub(super) fn new(db: liaison_runtime::db::Db) -> Self {
        Self {
            // Each attendance: its fields and its meeting id's text (36 bytes, and the status's few).
            calendars: ReadCache::new(db.clone(), CACHED_CALENDAR_BYTES, |calendar| {
                calendar.len() * (std::mem::size_of::<crate::store::calendars::Attendance>() + 64)
            }),
            meetings: ReadCache::new(db, CACHED_MEETING_BYTES, Bytes::len),
        }
    }
}

/// A checked ListMeetings request: its filters, its page, and the scope its page tokens are bound to.
struct ListQuery {
    filter: MeetingFilter,
    page: PageRequest,
    scope: String,
}

fn parse(request: &ListMeetingsRequest) -> Result<ListQuery, Error> {
    // The token is bound to the filters as asked: one issued for other filters is refused.
    let time = |t: Option<&prost_types::Timestamp>| t.map(|t| (t.seconds, t.nanos));
    let scope = format!(
        "ListMeetings?{:?}",
        (
            &request.participant,
            time(request.start_after.as_ref()),
            time(request.end_before.as_ref()),
            request.status,
            &request.link
        )
    );
    let optional_time =
        |field: &str, value: Option<&prost_types::Timestamp>| value.map(|v| from_timestamp(field, Some(v))).transpose();
    let (ends_after, starts_before) = (
        optional_time("start_after", request.start_after.as_ref()),
        optional_time("end_before", request.end_before.as_ref()),
    );
    let window = match (&ends_after, &starts_before) {
        (Ok(Some(after)), Ok(Some(before))) if before <= after => {
            Err(FieldViolation::new("end_before", "must be after start_after"))
        }
        _ => Ok(()),
    };
    let (page, participant, ends_after, starts_before, (), status, link) = (
        paging::parse(request.page_size, &request.page_token, &scope),
        (!request.participant.is_empty())
            .then(|| Name::<Contacts>::parse("participant", &request.participant))
            .transpose(),
        ends_after,
        starts_before,
        window,
        status_filter("status", request.status),
        (!request.link.is_empty()).then(|| crate::domain::link("link", &request.link)).transpose(),
    )
        .validate()?;
    let filter =
        MeetingFilter { participant: participant.map(|p| p.to_string()), ends_after, starts_before, status, link };
    Ok(ListQuery { filter, page, scope })
}

impl SchedulingApi {
    /// ListMeetings, answered with each meeting's kept encoding (served by the wire route ahead of the trait
    /// method, which reads this response back for callers of the trait itself).
    pub(super) async fn list_meetings_spliced(&self, request: &ListMeetingsRequest) -> Result<Spliced, Status> {
        let ListQuery { filter, page, scope } = parse(request)?;
        let (meetings, next_page_token) = match &filter.participant {
            Some(contact) if filter.link.is_none() => {
                let calendar = self.calendar(contact).await?;
                let from =
                    page.after.as_deref().map_or(0, |after| calendar.partition_point(|a| *a.meeting_id <= *after));
                let ids: Vec<String> = calendar[from..]
                    .iter()
                    .filter(|a| filter.admits(a))
                    .take(page.size as usize + 1)
                    .map(|a| a.meeting_id.to_string())
                    .collect();
                let encoded = self.encoded_meetings(&ids).await?;
                paging::page(encoded, page.size, &scope, |(id, _)| id.clone(), |(_, bytes)| bytes.clone())
            }
            _ => {
                let epoch = self.lists.meetings.epoch();
                let stored = self.store.list_meetings(&filter, page.after, page.size + 1).await?;
                let encoded: Vec<(String, Bytes)> = stored
                    .iter()
                    .map(|m| {
                        let bytes = wire::encode(&resource::meeting(m));
                        self.lists.meetings.fill(m.meeting.id.clone(), epoch, bytes.clone());
                        (m.meeting.id.clone(), bytes)
                    })
                    .collect();
                paging::page(encoded, page.size, &scope, |(id, _)| id.clone(), |(_, bytes)| bytes.clone())
            }
        };
        let mut response = Spliced::with_capacity(meetings.len() + 1);
        for meeting in meetings {
            response.push(MEETINGS, meeting);
        }
        if !next_page_token.is_empty() {
            response.push(NEXT_PAGE_TOKEN, Bytes::from(next_page_token));
        }
        Ok(response)
    }

    /// ListMeetings for callers of the trait method: the spliced response, read back.
    pub(super) async fn list_meetings_message(
        &self,
        request: &ListMeetingsRequest,
    ) -> Result<ListMeetingsResponse, Status> {
        self.list_meetings_spliced(request)
            .await?
            .to_message()
            .map_err(|e| Error::Internal(format!("re-reading a spliced response: {e}")).into())
    }

    async fn calendar(&self, contact: &str) -> Result<Calendar, Error> {
        if let Some(calendar) = self.lists.calendars.get(contact) {
            return Ok(calendar);
        }
        let epoch = self.lists.calendars.epoch();
        let calendar = self.store.calendar_of(contact).await?;
        self.lists.calendars.fill(contact.to_owned(), epoch, calendar.clone());
        Ok(calendar)
    }

    /// `(id, encoding)` of the meetings `ids`, in their order; the missing read in one go and kept. A meeting
    /// deleted since its calendar was read is left out, as a read of the database after the delete would.
    async fn encoded_meetings(&self, ids: &[String]) -> Result<Vec<(String, Bytes)>, Error> {
        let mut encoded = Vec::with_capacity(ids.len());
        if self.lists.meetings.extend_if_all_cached(ids, &mut encoded, Bytes::clone) {
            return Ok(ids.iter().cloned().zip(encoded).collect());
        }
        let epoch = self.lists.meetings.epoch();
        let cached = self.lists.meetings.get_many(ids, Bytes::clone);
        let missing: Vec<String> =
            ids.iter().zip(&cached).filter(|(_, c)| c.is_none()).map(|(id, _)| id.clone()).collect();
        let mut read: HashMap<String, Bytes> = HashMap::with_capacity(missing.len());
        for stored in self.store.meetings_by_ids(&missing).await? {
            let bytes = wire::encode(&resource::meeting(&stored));
            self.lists.meetings.fill(stored.meeting.id.clone(), epoch, bytes.clone());
            read.insert(stored.meeting.id, bytes);
        }
        Ok(ids
            .iter()
            .zip(cached)
            .filter_map(|(id, cached)| cached.or_else(|| read.remove(id)).map(|bytes| (id.clone(), bytes)))
            .collect())
    }
}
