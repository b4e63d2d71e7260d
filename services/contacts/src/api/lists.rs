//! The `filter` and `order_by` of ListContacts and ListOrganizations: which fields each offers (parsed by
//! `liaison_runtime::api::filter`), the order as the store reads it, and where a page token resumes.
use crate::store::entity::{contact, organization};
use liaison_runtime::FieldViolation;
use liaison_runtime::api::filter::{self, FieldKind, FilterField, OrderBy, Schema};
use liaison_runtime::db::crud::{ListOrder, OrderValue, Resume};

/// The contact fields a filter may name (`email` and `phone` are the primary ones).
pub(super) static CONTACT_FILTER: Schema = Schema::new(&[
    FilterField::new("display_name", FieldKind::String),
    FilterField::new("given_name", FieldKind::String),
    FilterField::new("family_name", FieldKind::String),
    FilterField::new("email", FieldKind::String),
    FilterField::new("phone", FieldKind::String),
    FilterField::new("time_zone", FieldKind::String),
    FilterField::new("labels", FieldKind::List),
    FilterField::new("do_not_contact", FieldKind::Bool),
    FilterField::new("create_time", FieldKind::Timestamp),
    FilterField::new("update_time", FieldKind::Timestamp),
]);

/// The organisation fields a filter may name.
pub(super) static ORGANIZATION_FILTER: Schema = Schema::new(&[
    FilterField::new("display_name", FieldKind::String),
    FilterField::new("website", FieldKind::String),
    FilterField::new("labels", FieldKind::List),
    FilterField::new("create_time", FieldKind::Timestamp),
    FilterField::new("update_time", FieldKind::Timestamp),
]);

/// The orders both lists offer; each has an index ending in the id (see the search-index migration).
const SORTABLE: [&str; 3] = ["create_time", "display_name", "update_time"];

/// A list's order, with the columns it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sort {
    Created,
    DisplayName,
    Updated,
}

/// A validated `order_by`: one key of [`SORTABLE`] and its direction (creation order when blank).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ListSort {
    pub(super) sort: Sort,
    pub(super) descending: bool,
}

impl ListSort {
    pub(super) fn parse(field: &str, text: &str) -> Result<Self, FieldViolation> {
        let OrderBy { keys } = filter::parse_order_by(field, text, &SORTABLE)?;
        match keys.as_slice() {
            [] => Ok(Self { sort: Sort::Created, descending: false }),
            [key] => {
                let sort = match key.field {
                    "display_name" => Sort::DisplayName,
                    "update_time" => Sort::Updated,
                    _ => Sort::Created,
                };
                Ok(Self { sort, descending: key.descending })
            }
            _ => Err(FieldViolation::new(field, "orders by one field (ties are in creation order)")),
        }
    }

    pub(super) fn contacts(self) -> ListOrder<contact::Column> {
        self.order(contact::Column::DisplayName, contact::Column::UpdateTime)
    }

    pub(super) fn organizations(self) -> ListOrder<organization::Column> {
        self.order(organization::Column::DisplayName, organization::Column::UpdateTime)
    }

    fn order<C>(self, display_name: C, update_time: C) -> ListOrder<C> {
        let descending = self.descending;
        match self.sort {
            // Ids are UUIDv7: their order is the order of creation.
            Sort::Created => ListOrder::Id { descending },
            Sort::DisplayName => ListOrder::Column { column: display_name, kind: OrderValue::Text, descending },
            Sort::Updated => ListOrder::Column { column: update_time, kind: OrderValue::Time, descending },
        }
    }

    /// Where the page after a row with these values resumes, as a token key.
    pub(super) fn resume_key(
        self,
        id: &str,
        display_name: &str,
        update_time: &chrono::DateTime<chrono::Utc>,
    ) -> String {
        let value = match self.sort {
            Sort::Created => None,
            Sort::DisplayName => Some(display_name.to_owned()),
            Sort::Updated => Some(update_time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        };
        Resume { value, id: id.to_owned() }.key()
    }
}

/// The place a token's key names; INVALID_ARGUMENT when it is not one.
pub(super) fn resume(after: Option<String>) -> Result<Option<Resume>, liaison_runtime::Error> {
    after
        .map(|key| {
            Resume::parse(&key)
                .ok_or_else(|| liaison_runtime::Error::invalid("page_token", "is not a token of this list"))
        })
        .transpose()
}
