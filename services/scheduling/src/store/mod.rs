//! The scheduling database: meetings and their participants, each mutation with its change-feed row in one
//! transaction.
pub mod action_items;
mod bookings;
mod busy;
pub mod calendars;
pub(crate) use busy::to_jiff;
pub mod changes;
pub mod commitments;
pub mod entity;
pub mod migration;
pub mod projects;

use crate::domain::{NewMeeting, Status, series};
use chrono::{DateTime, Utc};
use entity::{action_item, agenda, link, meeting, participant};
use liaison_runtime::api::names::{Meetings, Name};
use liaison_runtime::api::validate::RequestId;
use liaison_runtime::db::Db;
use liaison_runtime::{Error, api::time, db::crud, db::idempotency};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition};

pub const CREATE_METHOD: &str = "CreateMeeting";

liaison_runtime::revisioned!(meeting, action_item);

/// A meeting with its attendees, agenda and links, each in their order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMeeting {
    pub meeting: meeting::Model,
    pub attendees: Vec<participant::Model>,
    pub agenda: Vec<agenda::Model>,
    pub links: Vec<String>,
}

impl StoredMeeting {
    /// The rows of a new meeting `id`, written at `now`.
    pub fn new(id: String, new: NewMeeting, now: DateTime<Utc>) -> Self {
        let rrule = new.recurrence.as_ref().map(|rule| rule.to_rrule_string()).unwrap_or_default();
        let mut model = meeting::Model {
            id,
            title: new.title,
            start_time: new.start,
            end_time: new.end,
            time_zone: new.time_zone.name().to_owned(),
            revision: 1,
            create_time: now,
            update_time: now,
            objectives: new.objectives,
            organizer: new.organizer.map(|o| o.to_string()).unwrap_or_default(),
            location: new.location,
            video_link: new.video_link,
            status: new.status.as_str().to_owned(),
            buffer_before_seconds: new.buffer_before.num_seconds(),
            buffer_after_seconds: new.buffer_after.num_seconds(),
            cancel_reason: String::new(),
            sequence: 0,
            record: None,
            rrule,
            exdates: "[]".to_owned(),
            overrides: "[]".to_owned(),
            last_end_time: Some(new.end),
            continues: String::new(),
        };
        // A series ends with its last occurrence (or never); the parse checked the series can be built.
        if let Ok(series) = series::series_of(new.start, new.end, &model.time_zone, &model.rrule, "", "") {
            model.last_end_time = series::last_end(&series).and_then(|t| series::to_chrono(t).ok());
        }
        let attendees = new
            .attendees
            .into_iter()
            .enumerate()
            .map(|(position, a)| participant::Model {
                meeting_id: model.id.clone(),
                position: position as i32,
                contact: a.contact.to_string(),
                optional: a.optional,
                rsvp: a.rsvp.as_str().to_owned(),
                comment: a.comment,
            })
            .collect();
        let agenda = new
            .agenda
            .into_iter()
            .enumerate()
            .map(|(position, item)| agenda::Model {
                meeting_id: model.id.clone(),
                position: position as i32,
                topic: item.topic,
                owner: item.owner.map(|o| o.to_string()).unwrap_or_default(),
                minutes: item.minutes,
            })
            .collect();
        Self { meeting: model, attendees, agenda, links: new.links }
    }

    /// The `meeting_links` rows of its links, in order.
    pub fn link_rows(&self) -> Vec<link::Model> {
        let id = &self.meeting.id;
        self.links
            .iter()
            .enumerate()
            .map(|(position, l)| link::Model { meeting_id: id.clone(), position: position as i32, link: l.clone() })
            .collect()
    }

    /// The meeting as a series (a single meeting is a series of one).
    pub fn series(&self) -> Result<crate::domain::recurrence::Series, Error> {
        let m = &self.meeting;
        series::series_of(m.start_time, m.end_time, &m.time_zone, &m.rrule, &m.exdates, &m.overrides)
            .map_err(|e| Error::Internal(format!("{}: {e}", self.resource_name())))
    }

    /// Stores `series` as this meeting's: first occurrence, rule, cancelled and moved occurrences, last end.
    pub fn set_series(&mut self, series: &crate::domain::recurrence::Series) -> Result<(), Error> {
        let unreadable = |e: series::Unreadable| Error::Internal(e.0);
        let start = series::first_start(series)
            .ok_or_else(|| Error::Internal("a series' start cannot be placed in its zone".into()))?;
        let end = start
            .checked_add(series.duration())
            .map_err(|e| Error::Internal(format!("a series' end is out of range: {e}")))?;
        let m = &mut self.meeting;
        m.start_time = series::to_chrono(start).map_err(unreadable)?;
        m.end_time = series::to_chrono(end).map_err(unreadable)?;
        m.time_zone = series.zone().iana_name().unwrap_or("UTC").to_owned();
        m.rrule = series.rule().map(|r| r.to_rrule_string()).unwrap_or_default();
        m.exdates = series::exdates_json(series);
        m.overrides = series::overrides_json(series);
        m.last_end_time = series::last_end(series).map(series::to_chrono).transpose().map_err(unreadable)?;
        Ok(())
    }

    /// The intervals its required attendees are busy for (its occurrences with buffers), if its status keeps
    /// anyone busy.
    pub fn busy(&self) -> Result<Option<busy::BusyTime>, Error> {
        let m = &self.meeting;
        let Some(status) = self.status().filter(|s| s.is_busy()) else { return Ok(None) };
        let intervals = if m.rrule.is_empty() && m.overrides.len() <= 2 {
            vec![(
                m.start_time - chrono::TimeDelta::seconds(m.buffer_before_seconds),
                m.end_time + chrono::TimeDelta::seconds(m.buffer_after_seconds),
            )]
        } else {
            let series = self.series()?;
            let (before, after) = (
                jiff::SignedDuration::from_secs(m.buffer_before_seconds),
                jiff::SignedDuration::from_secs(m.buffer_after_seconds),
            );
            series::booked(&series, before, after)
                .into_iter()
                .map(|(s, e)| Ok((series::to_chrono(s)?, series::to_chrono(e)?)))
                .collect::<Result<Vec<_>, series::Unreadable>>()
                .map_err(|e| Error::Internal(e.0))?
        };
        Ok(Some(busy::BusyTime {
            required: self.attendees.iter().filter(|a| !a.optional).map(|a| a.contact.clone()).collect(),
            intervals,
            tentative: status == Status::Tentative,
        }))
    }

    pub fn status(&self) -> Option<Status> {
        Status::from_stored(&self.meeting.status)
    }

    pub fn resource_name(&self) -> String {
        format!("meetings/{}", self.meeting.id)
    }
}

/// ListMeetings' filters; each one set narrows the list (AND).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeetingFilter {
    /// Meetings this contact attends (read through `meeting_participants_by_contact`).
    pub participant: Option<String>,
    /// Meetings (series: whose last occurrence) that end after this instant.
    pub ends_after: Option<DateTime<Utc>>,
    /// Meetings that start before this instant.
    pub starts_before: Option<DateTime<Utc>>,
    pub status: Option<Status>,
    /// Meetings linked to this resource (read through `meeting_links_by_link`).
    pub link: Option<String>,
}

impl MeetingFilter {
    fn condition(&self) -> Condition {
        // The participant is read through the join in `list_meetings`.
        let mut condition = Condition::all();
        if let Some(link) = &self.link {
            let linked = Query::select()
                .column(link::Column::MeetingId)
                .from(link::Entity)
                .and_where(link::Column::Link.eq(link.as_str()))
                .to_owned();
            condition = condition.add(meeting::Column::Id.in_subquery(linked));
        }
        if let Some(after) = self.ends_after {
            // A series is in the window until its last occurrence ends (never, when it does not end).
            condition = condition.add(
                Condition::any()
                    .add(meeting::Column::LastEndTime.is_null())
                    .add(meeting::Column::LastEndTime.gt(after)),
            );
        }
        if let Some(before) = self.starts_before {
            condition = condition.add(meeting::Column::StartTime.lt(before));
        }
        if let Some(status) = self.status {
            condition = condition.add(meeting::Column::Status.eq(status.as_str()));
        }
        condition
    }
}

/// The scheduling service's data.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    booker: bookings::Booker,
}

impl Store {
    /// The store of `db`, with its booking writer (a task: call inside the runtime).
    pub fn new(db: Db) -> Self {
        Self { booker: bookings::Booker::start(db.clone()), db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The meeting an earlier request with this id created, if any.
    pub async fn created_by(&self, request_id: &RequestId, fingerprint: &str) -> Result<Option<StoredMeeting>, Error> {
        self.done_by(CREATE_METHOD, request_id, fingerprint).await
    }

    /// The meeting an earlier `method` request with this id created or changed, if any.
    pub async fn done_by(
        &self,
        method: &str,
        request_id: &RequestId,
        fingerprint: &str,
    ) -> Result<Option<StoredMeeting>, Error> {
        match idempotency::lookup(self.db.conn(), method, request_id, fingerprint).await? {
            Some(name) => Ok(Some(self.get_meeting(parse_stored(&name)?).await?)),
            None => Ok(None),
        }
    }

    /// Creates the meeting unless a required attendee is already busy then — their other meetings with buffers,
    /// tentative holds and booked occurrences included — (or `allow_conflicts`); optional attendees are never
    /// checked. The check and the write hold each required attendee's booking lock (a transaction-level lock on
    /// PostgreSQL, the write gate on SQLite), so two racing bookings of one person for one slot cannot both pass
    /// the check; bookings arriving together are written together (`bookings`).
    pub async fn create_meeting(
        &self,
        new: NewMeeting,
        allow_conflicts: bool,
        request_id: Option<&RequestId>,
        fingerprint: &str,
    ) -> Result<StoredMeeting, Error> {
        let name = Name::<Meetings>::generate();
        let stored = StoredMeeting::new(name.key(), new, time::now());
        let busy = stored.busy()?;
        let claim = request_id.map(|id| (id.clone(), fingerprint.to_owned()));
        let rows = bookings::rows_of(&stored, busy.as_ref());
        match self.booker.book(bookings::Booking { stored, busy, allow_conflicts, claim, rows }).await? {
            bookings::Booked::Created(stored) => Ok(*stored),
            bookings::Booked::Replay(existing) => self.get_meeting(parse_stored(&existing)?).await,
        }
    }

    /// Each participant's busy times overlapping `[start, end)`, in the order asked: one index range scan per
    /// participant.
    pub async fn busy_between(
        &self,
        participants: &[String],
        start: jiff::Timestamp,
        end: jiff::Timestamp,
    ) -> Result<Vec<Vec<crate::domain::availability::Busy>>, Error> {
        busy::between(self.db.conn(), participants, start, end).await
    }

    pub async fn get_meeting(&self, name: Name<Meetings>) -> Result<StoredMeeting, Error> {
        let meeting = crud::find::<meeting::Entity>(self.db.conn(), name.key())
            .await?
            .ok_or_else(|| Error::NotFound { resource: name.to_string() })?;
        Ok(self.with_participants(vec![meeting]).await?.remove(0))
    }

    pub async fn list_meetings(
        &self,
        filter: &MeetingFilter,
        after: Option<String>,
        limit: u64,
    ) -> Result<Vec<StoredMeeting>, Error> {
        use sea_orm::{EntityTrait, QueryFilter, QueryOrder, QuerySelect};
        let Some(contact) = &filter.participant else {
            let meetings = crud::page_where::<meeting::Entity>(
                self.db.conn(),
                meeting::Column::Id,
                filter.condition(),
                after,
                limit,
            )
            .await?;
            return self.with_participants(meetings).await;
        };
        // One person's meetings: walked from their attendance rows in meeting order (an index range of
        // `meeting_participants_by_contact_and_meeting`), each meeting read by key and kept if the other filters pass,
        // until the page is full — not a scan of every meeting.
        let attends: sea_orm::RelationDef = participant::Entity::belongs_to(meeting::Entity)
            .from(participant::Column::MeetingId)
            .to(meeting::Column::Id)
            .into();
        let mut query = meeting::Entity::find()
            .join(sea_orm::JoinType::InnerJoin, attends.rev())
            .filter(participant::Column::Contact.eq(contact.as_str()))
            .filter(filter.condition())
            .order_by_asc(participant::Column::MeetingId)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(participant::Column::MeetingId.gt(after));
        }
        let meetings = query.all(self.db.conn()).await.map_err(liaison_runtime::db::db_error)?;
        self.with_participants(meetings).await
    }

    async fn with_participants(&self, meetings: Vec<meeting::Model>) -> Result<Vec<StoredMeeting>, Error> {
        with_children(self.db.conn(), meetings).await
    }
}

/// Attaches attendees, agenda items and links to meetings: one query each, run concurrently.
async fn with_children(
    conn: &impl sea_orm::ConnectionTrait,
    meetings: Vec<meeting::Model>,
) -> Result<Vec<StoredMeeting>, Error> {
    let ids: Vec<String> = meetings.iter().map(|m| m.id.clone()).collect();
    // Three independent reads, in flight together.
    let (mut attendees, mut agenda, mut links) = tokio::try_join!(
        crud::children_of::<participant::Entity, _>(
            conn,
            participant::Column::MeetingId,
            participant::Column::Position,
            ids.clone(),
            |row| row.meeting_id.clone(),
            |row| row,
        ),
        crud::children_of::<agenda::Entity, _>(
            conn,
            agenda::Column::MeetingId,
            agenda::Column::Position,
            ids.clone(),
            |row| row.meeting_id.clone(),
            |row| row,
        ),
        crud::children_of::<link::Entity, _>(
            conn,
            link::Column::MeetingId,
            link::Column::Position,
            ids,
            |row| row.meeting_id.clone(),
            |row| row.link,
        ),
    )?;
    Ok(meetings
        .into_iter()
        .map(|meeting| StoredMeeting {
            attendees: attendees.remove(&meeting.id).unwrap_or_default(),
            agenda: agenda.remove(&meeting.id).unwrap_or_default(),
            links: links.remove(&meeting.id).unwrap_or_default(),
            meeting,
        })
        .collect())
}

fn parse_stored(name: &str) -> Result<Name<Meetings>, Error> {
    Name::parse("stored name", name).map_err(|v| Error::Internal(v.description))
}
