//! Reads for contact search: candidates found by the database, ranked by `domain::search`.
use super::Store;
use super::entity::{affiliation, contact, organization};
use crate::domain::channels::Channels;
use crate::domain::search::{Candidate, Hit, Query};
use liaison_runtime::{Error, db::crud};
use sea_orm::sea_query::Query as Sql;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;

/// At most this many matching contacts are ranked; a query matching more should be narrowed.
pub const SEARCH_CANDIDATES_MAX: u64 = 5000;

impl Store {
    /// Ids of live contacts matching every word of `query`, with their hits, best first (ties: oldest first).
    /// Only the columns ranking needs are read; the caller loads the contacts of the page it returns.
    pub async fn search_contacts(&self, query: &Query) -> Result<Vec<(String, Hit)>, Error> {
        let conn = self.db().conn();
        let mut condition =
            Condition::all().add(contact::Column::DeleteTime.is_null()).add(contact::Column::MergedInto.is_null());
        for word in query.words() {
            let pattern = liaison_runtime::db::sql::like_literal("%", word, "%");
            condition = condition.add(
                Condition::any().add(contact::Column::SearchText.like(pattern.clone())).add(
                    contact::Column::Id.in_subquery(
                        Sql::select()
                            .column(affiliation::Column::ContactId)
                            .from(affiliation::Entity)
                            .and_where(
                                affiliation::Column::OrganizationId.in_subquery(
                                    Sql::select()
                                        .column(organization::Column::Id)
                                        .from(organization::Entity)
                                        .and_where(organization::Column::SearchText.like(pattern))
                                        .to_owned(),
                                ),
                            )
                            .to_owned(),
                    ),
                ),
            );
        }
        let candidates: Vec<(String, String, String, String, String)> = contact::Entity::find()
            .select_only()
            .columns([
                contact::Column::Id,
                contact::Column::DisplayName,
                contact::Column::GivenName,
                contact::Column::FamilyName,
                contact::Column::Emails,
            ])
            .filter(condition)
            .order_by_asc(contact::Column::Id)
            .limit(SEARCH_CANDIDATES_MAX)
            .into_tuple()
            .all(conn)
            .await
            .map_err(liaison_runtime::db::db_error)?;
        let organizations = self.organization_names_of(candidates.iter().map(|c| c.0.clone()).collect()).await?;
        let mut hits: Vec<(String, Hit)> = candidates
            .into_iter()
            .filter_map(|(id, display_name, given_name, family_name, emails)| {
                let emails: Channels = serde_json::from_str(&emails).unwrap_or_default();
                let orgs = organizations.get(&id).map(|v| v.iter().map(String::as_str).collect()).unwrap_or_default();
                let candidate = Candidate {
                    names: [&display_name, &given_name, &family_name],
                    emails: emails.values().collect(),
                    organizations: orgs,
                };
                let hit = query.score(&candidate);
                hit.map(|hit| (id, hit))
            })
            .collect();
        hits.sort_by(|(a, x), (b, y)| y.score.total_cmp(&x.score).then_with(|| a.cmp(b)));
        Ok(hits)
    }

    /// The display names of the organisations each contact is affiliated with.
    async fn organization_names_of(&self, contact_ids: Vec<String>) -> Result<HashMap<String, Vec<String>>, Error> {
        let mut names: HashMap<String, Vec<String>> = HashMap::new();
        for chunk in contact_ids.chunks(500) {
            let affiliations = crud::find_many::<affiliation::Entity>(
                self.db().conn(),
                affiliation::Column::ContactId,
                chunk.to_vec(),
            )
            .await?;
            let organization_ids = affiliations.iter().map(|a| a.organization_id.clone()).collect();
            let organizations: HashMap<String, String> =
                self.organizations_by_id(organization_ids).await?.into_iter().map(|o| (o.id, o.display_name)).collect();
            for affiliation in affiliations {
                if let Some(name) = organizations.get(&affiliation.organization_id) {
                    names.entry(affiliation.contact_id).or_default().push(name.clone());
                }
            }
        }
        Ok(names)
    }
}
