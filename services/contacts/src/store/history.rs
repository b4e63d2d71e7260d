//! Reads for a contact's field-level history: its rows of the change feed.
use super::Store;
use liaison_proto::common::v1::Change;
use liaison_runtime::api::names::{Contacts, Name};
use liaison_runtime::{Error, feed};

impl Store {
    /// The changes of a contact after sequence `after`, oldest first; NOT_FOUND if it never existed.
    pub async fn contact_changes(&self, name: Name<Contacts>, after: i64, limit: u64) -> Result<Vec<Change>, Error> {
        self.get_contact_row(name).await?;
        feed::of_resource(self.db().conn(), &name.to_string(), after, limit).await
    }
}
