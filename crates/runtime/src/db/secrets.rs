//! Secrets a service keeps in its own database, so that every replica sharing the database has the same one
//! without configuration: today the key that authenticates page tokens. Each is made at random the first time it
//! is asked for; replicas racing to make it keep the first one written (`ON CONFLICT DO NOTHING`, then a read).
use crate::api::error::Error;
use crate::db::sql::statement;
use crate::db::{Db, db_error};
use rand::RngCore;
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

const TABLE: &str = "CREATE TABLE IF NOT EXISTS service_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL)";

/// Creates `service_secrets` (called from the shared migration `AddServiceSecrets`).
pub(crate) async fn create_table(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    crate::db::execute_script(conn, TABLE).await
}

#[derive(FromQueryResult)]
struct Secret {
    value: String,
}

/// The 32-byte secret `name` of this database, made now if it has none yet.
pub async fn get_or_create(db: &Db, name: &str) -> Result<[u8; 32], Error> {
    let conn = db.conn();
    let backend = conn.get_database_backend();
    let mut fresh = [0u8; 32];
    rand::rng().fill_bytes(&mut fresh);
    let insert = statement(
        backend,
        "INSERT INTO service_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        [name.into(), hex(&fresh).into()],
    );
    conn.execute_raw(insert).await.map_err(db_error)?;
    let read = statement(backend, "SELECT value FROM service_secrets WHERE name = ?", [name.into()]);
    let stored = Secret::find_by_statement(read)
        .one(conn)
        .await
        .map_err(db_error)?
        .ok_or_else(|| Error::Internal(format!("the secret {name} was written but cannot be read")))?;
    unhex(&stored.value).ok_or_else(|| Error::Internal(format!("the stored secret {name} is damaged")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_secret_is_made_once_and_read_back_the_same_by_every_handle() {
        let dir = tempfile::tempdir().expect("directory");
        let url: crate::db::DatabaseUrl =
            format!("sqlite://{}?mode=rwc", dir.path().join("db.sqlite").display()).parse().expect("url");
        let first = Db::connect(&url).await.expect("database");
        create_table(first.conn()).await.expect("table");
        let second = Db::connect(&url).await.expect("database");
        let made = get_or_create(&first, "page tokens").await.expect("made");
        assert_eq!(get_or_create(&second, "page tokens").await.expect("read"), made, "another replica");
        assert_ne!(get_or_create(&first, "other").await.expect("made"), made, "each name its own");
        assert_ne!(made, [0u8; 32]);
    }

    #[test]
    fn hex_round_trips_and_refuses_damage() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 7) as u8);
        assert_eq!(unhex(&hex(&bytes)), Some(bytes));
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex(&"g".repeat(64)), None);
    }
}
