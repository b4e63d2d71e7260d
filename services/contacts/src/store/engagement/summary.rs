//! What the engagement summary of a party is computed from, aggregated by the database: a handful of rows
//! whatever the number of interactions.
use super::stored_date;
use crate::domain::engagement::Quadrant;
use crate::store::Store;
use crate::store::entity::assessment;
use chrono::{DateTime, Utc};
use liaison_runtime::Error;
use liaison_runtime::db::db_error;
use liaison_runtime::db::sql::statement;
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder};

/// Interactions of a party over one channel, and the sum of their sentiments, by window.
#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct ChannelFigures {
    pub channel: i32,
    pub last_30: i64,
    pub last_90: i64,
    pub last_365: i64,
    pub sentiment_90: i64,
    pub sentiment_365: i64,
}

/// What the engagement summary of a party is computed from, aggregated by the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngagementFigures {
    /// The quadrant of the latest assessment.
    pub latest_quadrant: Option<Quadrant>,
    pub last_interaction: Option<DateTime<Utc>>,
    /// Channels with at least one interaction in 365 days, in channel order.
    pub channels: Vec<ChannelFigures>,
    pub open_follow_ups: i64,
    pub overdue_follow_ups: i64,
}

#[derive(Debug, FromQueryResult)]
struct FollowUpCounts {
    open: i64,
    overdue: i64,
}

#[derive(Debug, FromQueryResult)]
struct LastInteraction {
    occur_time: DateTime<Utc>,
}

impl Store {
    /// The figures of a party's engagement as of `now`, aggregated by the database (a handful of rows whatever
    /// the number of interactions).
    pub async fn engagement_figures(&self, party: &str, now: DateTime<Utc>) -> Result<EngagementFigures, Error> {
        let conn = self.db.conn();
        let backend = conn.get_database_backend();
        let latest = assessment::Entity::find()
            .filter(assessment::Column::Party.eq(party))
            .order_by_desc(assessment::Column::AssessmentDate)
            .one(conn)
            .await
            .map_err(db_error)?;
        let last = LastInteraction::find_by_statement(statement(
            backend,
            "SELECT i.occur_time FROM interactions i JOIN interaction_parties p ON p.interaction_id = i.id \
             WHERE p.party = ? ORDER BY i.occur_time DESC LIMIT 1",
            [party.into()],
        ))
        .one(conn)
        .await
        .map_err(db_error)?;
        let days = |n: i64| now - chrono::TimeDelta::days(n);
        let channels = ChannelFigures::find_by_statement(statement(
            backend,
            "SELECT i.channel AS channel, \
             COALESCE(SUM(CASE WHEN i.occur_time >= ? THEN 1 ELSE 0 END), 0) AS last_30, \
             COALESCE(SUM(CASE WHEN i.occur_time >= ? THEN 1 ELSE 0 END), 0) AS last_90, \
             COUNT(*) AS last_365, \
             COALESCE(SUM(CASE WHEN i.occur_time >= ? THEN i.sentiment ELSE 0 END), 0) AS sentiment_90, \
             COALESCE(SUM(i.sentiment), 0) AS sentiment_365 \
             FROM interactions i JOIN interaction_parties p ON p.interaction_id = i.id \
             WHERE p.party = ? AND i.occur_time >= ? GROUP BY i.channel ORDER BY i.channel",
            [days(30).into(), days(90).into(), days(90).into(), party.into(), days(365).into()],
        ))
        .all(conn)
        .await
        .map_err(db_error)?;
        let follow_ups = FollowUpCounts::find_by_statement(statement(
            backend,
            "SELECT COUNT(*) AS open, \
             COALESCE(SUM(CASE WHEN i.follow_up_due_date < ? THEN 1 ELSE 0 END), 0) AS overdue \
             FROM interactions i JOIN interaction_parties p ON p.interaction_id = i.id \
             WHERE p.party = ? AND i.follow_up_due_date IS NOT NULL AND i.follow_up_done = ?",
            [stored_date(now.date_naive()).into(), party.into(), false.into()],
        ))
        .one(conn)
        .await
        .map_err(db_error)?;
        Ok(EngagementFigures {
            latest_quadrant: latest.and_then(|a| Quadrant::from_value(a.quadrant)),
            last_interaction: last.map(|l| l.occur_time),
            channels,
            open_follow_ups: follow_ups.as_ref().map_or(0, |f| f.open),
            overdue_follow_ups: follow_ups.as_ref().map_or(0, |f| f.overdue),
        })
    }
}
