//! Background jobs of a server: housekeeping that runs on a period until shutdown (expiring idempotency keys,
//! purging contacts past their retention), and the claim that makes one replica among many run a job at a time.
use crate::api::error::Error;
use crate::db::db_error;
use crate::db::sql::statement;
use sea_orm::{ConnectionTrait, FromQueryResult};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Runs `job` `first_after` after start and then every `period` until `shutdown`; logs what each run did (the
/// number it returns, when not zero) or why it failed (it runs again next period). `name` says what it does, in
/// the plural ("idempotency keys expired").
pub fn every<F, Fut>(name: &'static str, first_after: Duration, period: Duration, shutdown: CancellationToken, job: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<u64, Error>> + Send,
{
    tokio::spawn(async move {
        let mut wait = first_after;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            match job().await {
                Ok(0) => {}
                Ok(count) => tracing::info!(count, "{name}"),
                Err(error) => tracing::warn!(%error, "background job failed ({name}); trying again next period"),
            }
            wait = period;
        }
    });
}

#[derive(FromQueryResult)]
struct Claimed {
    claimed: bool,
}

/// Claims job `name` for the rest of transaction `txn`: `false` when another replica sharing the database holds
/// it (then it is that replica's turn and this one does nothing). PostgreSQL: a transaction-scoped advisory lock,
/// released at commit or rollback however the holder ends. SQLite has one writer at a time, so the write
/// transaction itself is the claim.
pub async fn claim(txn: &impl ConnectionTrait, name: &str) -> Result<bool, Error> {
    match txn.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let query = statement(
                sea_orm::DbBackend::Postgres,
                "SELECT pg_try_advisory_xact_lock(hashtext(?)) AS claimed",
                [format!("liaison job {name}").into()],
            );
            let row = Claimed::find_by_statement(query).one(txn).await.map_err(db_error)?;
            Ok(row.is_some_and(|row| row.claimed))
        }
        _ => Ok(true),
    }
}
