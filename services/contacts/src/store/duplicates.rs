//! Reads for duplicate detection: the live contacts and the keys they share, compared by `domain::duplicates`.
use super::{Store, keys};
use crate::domain::duplicates::Person;
use crate::store::entity::contact;
use liaison_runtime::Error;
use liaison_runtime::db::db_error;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

/// Holders read per key when a new contact is checked: more than `GROUP_MAX` say nothing about any one of them.
const HOLDERS_PER_KEY: usize = crate::domain::duplicates::GROUP_MAX + 1;
/// Likely duplicates told with a new contact.
const POSSIBLE_DUPLICATES_MAX: usize = 10;

impl Store {
    /// The live contacts `model` (just created) probably duplicates, best first: those sharing its email
    /// addresses, phone numbers or name key, read by index (a key held by more than `GROUP_MAX` is passed over).
    pub async fn possible_duplicates(
        &self,
        model: &contact::Model,
    ) -> Result<Vec<(Person, f64, Vec<crate::domain::duplicates::Evidence>)>, Error> {
        let wanted: Vec<String> = keys::of(model).into_iter().filter(|k| !k.starts_with("uid:")).collect();
        let held = keys::some_holders(self.db.conn(), &wanted, HOLDERS_PER_KEY).await?;
        let mut per_key: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (key, _) in &held {
            *per_key.entry(key.as_str()).or_default() += 1;
        }
        let held: Vec<&(String, String)> =
            held.iter().filter(|(key, id)| per_key[key.as_str()] < HOLDERS_PER_KEY && *id != model.id).collect();
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = held.iter().map(|(_, id)| id.clone()).collect();
        let names: std::collections::HashMap<String, String> = contact::Entity::find()
            .select_only()
            .columns([contact::Column::Id, contact::Column::DisplayName])
            .filter(contact::Column::Id.is_in(ids))
            .into_tuple::<(String, String)>()
            .all(self.db.conn())
            .await
            .map_err(db_error)?
            .into_iter()
            .collect();
        let holders: Vec<(String, Person)> = held
            .into_iter()
            .filter_map(|(key, id)| {
                let display_name = names.get(id)?.clone();
                Some((key.clone(), Person { id: id.clone(), display_name }))
            })
            .collect();
        let new = Person { id: model.id.clone(), display_name: model.display_name.clone() };
        Ok(crate::domain::duplicates::likely_duplicates(&new, &holders, POSSIBLE_DUPLICATES_MAX))
    }

    /// Live contacts and the emails/phones they share: what duplicate detection looks at.
    pub async fn duplicate_candidates(&self) -> Result<(Vec<Person>, Vec<(String, String)>), Error> {
        let conn = self.db.conn();
        let people: Vec<(String, String)> = contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .column(contact::Column::DisplayName)
            .filter(contact::Column::DeleteTime.is_null())
            .filter(contact::Column::MergedInto.is_null())
            .into_tuple()
            .all(conn)
            .await
            .map_err(db_error)?;
        let shared = keys::shared(conn).await?;
        Ok((people.into_iter().map(|(id, display_name)| Person { id, display_name }).collect(), shared))
    }
}
