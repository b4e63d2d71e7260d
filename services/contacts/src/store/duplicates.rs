//! Reads for duplicate detection: the live contacts and the keys they share, compared by `domain::duplicates`.
use super::{Store, keys};
use crate::domain::duplicates::Person;
use crate::store::entity::contact;
use liaison_runtime::Error;
use liaison_runtime::db::db_error;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

impl Store {
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
