//! A read cache of a service's own resources that never serves a state older than the last write it could know
//! of.
//!
//! Every entry is tagged with [`Db::write_epoch`] read *before* the database read that produced it, and is served
//! only while the epoch is unchanged. The epoch grows on every commit of this process (before `commit` returns,
//! so a client that wrote and then reads gets its write) and whenever [`follow_other_writers`] sees a change made
//! by another process (another replica on the same PostgreSQL database). A read that raced a write is tagged with
//! the epoch from before the write, so it is never served after it. The price is coarseness: any write empties
//! the cache for every key, which suits the read-mostly traffic it is for (other services resolving names).
//!
//! With several replicas, a write by another replica is seen when it reaches this replica's change feed watcher
//! (at once on commit notification locally, within [`crate::feed::WATCH_POLL`] otherwise); until then this
//! replica may serve the previous state. With one process per database (SQLite) there is no such window.
use crate::db::{Backend, Db};
use std::collections::HashMap;
use std::sync::RwLock;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;

/// A cache of values `V` by resource id.
pub struct ReadCache<V> {
    db: Db,
    capacity: usize,
    /// foldhash rather than SipHash: the keys are ids, and a batch read hashes a hundred of them.
    entries: RwLock<HashMap<String, (u64, V), foldhash::fast::RandomState>>,
}

impl<V> ReadCache<V> {
    /// A cache of at most `capacity` entries over `db`.
    pub fn new(db: Db, capacity: usize) -> Self {
        Self { db, capacity, entries: RwLock::new(HashMap::default()) }
    }

    /// Read this before reading the database; pass it to [`ReadCache::fill`] with what the read found.
    pub fn epoch(&self) -> u64 {
        self.db.write_epoch()
    }

    /// What `project` makes of the values of `keys`, in their order (`None` where not cached): one epoch read
    /// and one lock for all.
    pub fn get_many<T>(&self, keys: &[String], project: impl Fn(&V) -> T) -> Vec<Option<T>> {
        let epoch = self.epoch();
        let Ok(entries) = self.entries.read() else { return keys.iter().map(|_| None).collect() };
        keys.iter()
            .map(|key| entries.get(key.as_str()).filter(|(at, _)| *at == epoch).map(|(_, value)| project(value)))
            .collect()
    }

    /// Appends what `project` makes of the values of `keys` to `out`, in order, if every one is cached;
    /// otherwise leaves `out` as it was and returns `false`. The hot path of a batch read: each value goes
    /// straight into the response.
    pub fn extend_if_all_cached<T>(&self, keys: &[String], out: &mut Vec<T>, project: impl Fn(&V) -> T) -> bool {
        let epoch = self.epoch();
        let Ok(entries) = self.entries.read() else { return false };
        let start = out.len();
        for key in keys {
            match entries.get(key.as_str()) {
                Some((at, value)) if *at == epoch => out.push(project(value)),
                _ => {
                    out.truncate(start);
                    return false;
                }
            }
        }
        true
    }

    /// The value of `key`, if it was read since the last write.
    pub fn get(&self, key: &str) -> Option<V>
    where
        V: Clone,
    {
        self.get_many(std::slice::from_ref(&key.to_owned()), V::clone).pop().flatten()
    }

    /// Keeps `value`, read from the database after `epoch` was taken, unless something was written since.
    pub fn fill(&self, key: String, epoch: u64, value: V) {
        let Ok(mut entries) = self.entries.write() else { return };
        // Checked under the lock: an entry of an older epoch is never added after the epoch moved.
        if epoch != self.epoch() {
            return;
        }
        if entries.len() >= self.capacity {
            entries.retain(|_, (at, _)| *at == epoch);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (epoch, value));
    }
}

/// On PostgreSQL, follows this service's own change feed from its current end and reports every change (made by
/// any process) to [`Db::saw_other_writes`], until `shutdown`. SQLite has one process per file: nothing to do.
pub fn follow_other_writers(db: Db, shutdown: CancellationToken) {
    if db.backend() != Backend::Postgres {
        return;
    }
    tokio::spawn(async move {
        loop {
            match crate::feed::head(&db).await {
                Ok(head) => {
                    let mut stream = crate::feed::watch(db.clone(), head, shutdown.clone(), |changes, _| changes.len());
                    while let Some(batch) = stream.next().await {
                        if batch.is_err() {
                            break;
                        }
                        db.saw_other_writes();
                    }
                }
                Err(error) => tracing::warn!(%error, "read cache: cannot find the end of the change feed"),
            }
            // The stream ended (shutdown, or an error): whatever happened meanwhile is unknown.
            db.saw_other_writes();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(crate::feed::WATCH_POLL) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database file of its own (removed when the returned guard drops).
    async fn sqlite() -> (Db, RemoveOnDrop) {
        let path = std::env::temp_dir().join(format!("liaison-cache-{}.db", uuid::Uuid::now_v7()));
        let url: crate::db::DatabaseUrl = format!("sqlite://{}?mode=rwc", path.display()).parse().expect("url");
        (Db::connect(&url).await.expect("connect"), RemoveOnDrop(path))
    }

    struct RemoveOnDrop(std::path::PathBuf);

    impl Drop for RemoveOnDrop {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
            }
        }
    }

    #[tokio::test]
    async fn a_value_is_served_until_the_next_write() {
        let (db, _dir) = sqlite().await;
        let cache = ReadCache::new(db.clone(), 10);
        let epoch = cache.epoch();
        cache.fill("a".into(), epoch, 1);
        assert_eq!(cache.get("a"), Some(1));
        db.begin_write().await.expect("begin").commit().await.expect("commit");
        assert_eq!(cache.get("a"), None, "a commit makes every entry stale");
        db.saw_other_writes();
        let epoch = cache.epoch();
        cache.fill("a".into(), epoch, 2);
        assert_eq!(cache.get("a"), Some(2));
    }

    #[tokio::test]
    async fn a_read_that_raced_a_write_is_not_kept() {
        let (db, _dir) = sqlite().await;
        let cache = ReadCache::new(db.clone(), 10);
        let before_the_read = cache.epoch();
        db.begin_write().await.expect("begin").commit().await.expect("commit");
        cache.fill("a".into(), before_the_read, 1);
        assert_eq!(cache.get("a"), None);
    }

    #[tokio::test]
    async fn a_full_cache_makes_room() {
        let (db, _dir) = sqlite().await;
        let cache = ReadCache::new(db, 2);
        let epoch = cache.epoch();
        for key in ["a", "b", "c"] {
            cache.fill(key.into(), epoch, 0);
        }
        assert_eq!(cache.get("c"), Some(0));
        assert!(cache.entries.read().expect("lock").len() <= 2);
    }

    #[tokio::test]
    async fn a_batch_is_served_in_order_only_when_every_value_is_current() {
        let (db, _dir) = sqlite().await;
        let cache = ReadCache::new(db.clone(), 10);
        let epoch = cache.epoch();
        cache.fill("a".into(), epoch, 1);
        cache.fill("b".into(), epoch, 2);
        let keys = |k: &[&str]| k.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        assert_eq!(cache.get_many(&keys(&["b", "x", "a"]), |v| *v), vec![Some(2), None, Some(1)]);
        let mut out = vec![0];
        assert!(cache.extend_if_all_cached(&keys(&["b", "a", "b"]), &mut out, |v| *v));
        assert_eq!(out, vec![0, 2, 1, 2]);
        assert!(!cache.extend_if_all_cached(&keys(&["a", "x"]), &mut out, |v| *v), "x is not cached");
        assert_eq!(out, vec![0, 2, 1, 2], "a partial batch leaves nothing behind");
        db.begin_write().await.expect("begin").commit().await.expect("commit");
        assert!(!cache.extend_if_all_cached(&keys(&["a"]), &mut out, |v| *v), "stale after a write");
        assert_eq!(cache.get_many(&keys(&["a", "b"]), |v| *v), vec![None, None]);
    }
}
