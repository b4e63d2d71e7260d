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
use std::sync::atomic::{AtomicBool, Ordering};
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;

/// What an entry costs beyond its value's own bytes: the key, the map's slot, the bookkeeping.
const ENTRY_OVERHEAD: usize = 96;

/// A cache of values `V` by resource id, bounded in bytes: each value weighs what `weigh` says (its heap bytes,
/// roughly) plus its key and [`ENTRY_OVERHEAD`], and the total never exceeds the budget. When a value does not
/// fit, the entries not read since the last eviction go first (a second chance, as the CLOCK algorithm gives:
/// recently read ones stay), then others until a tenth of the budget is free, so evictions are rare and cost
/// one pass. A value heavier than an eighth of the budget is not kept.
pub struct ReadCache<V> {
    db: Db,
    max_bytes: usize,
    weigh: fn(&V) -> usize,
    inner: RwLock<Entries<V>>,
}

struct Entries<V> {
    /// The write epoch every entry was read at; entries of an older epoch are useless and are dropped at once.
    epoch: u64,
    /// foldhash rather than SipHash: the keys are ids, and a batch read hashes a hundred of them.
    map: HashMap<String, Entry<V>, foldhash::fast::RandomState>,
    bytes: usize,
}

struct Entry<V> {
    value: V,
    weight: usize,
    /// Read since the last eviction (set under the read lock, hence atomic).
    used: AtomicBool,
}

impl<V> ReadCache<V> {
    /// A cache of at most `max_bytes` over `db`, each value weighing `weigh(value)` bytes.
    pub fn new(db: Db, max_bytes: usize, weigh: fn(&V) -> usize) -> Self {
        let entries = Entries { epoch: db.write_epoch(), map: HashMap::default(), bytes: 0 };
        Self { db, max_bytes, weigh, inner: RwLock::new(entries) }
    }

    /// Read this before reading the database; pass it to [`ReadCache::fill`] with what the read found.
    pub fn epoch(&self) -> u64 {
        self.db.write_epoch()
    }

    /// The bytes the cache holds now, as weighed.
    pub fn bytes(&self) -> usize {
        self.inner.read().map(|entries| entries.bytes).unwrap_or_default()
    }

    /// What `project` makes of the values of `keys`, in their order (`None` where not cached): one epoch read
    /// and one lock for all.
    pub fn get_many<T>(&self, keys: &[String], project: impl Fn(&V) -> T) -> Vec<Option<T>> {
        let epoch = self.epoch();
        let Ok(entries) = self.inner.read() else { return keys.iter().map(|_| None).collect() };
        if entries.epoch != epoch {
            return keys.iter().map(|_| None).collect();
        }
        keys.iter().map(|key| entries.map.get(key.as_str()).map(|entry| project(entry.read()))).collect()
    }

    /// Appends what `project` makes of the values of `keys` to `out`, in order, if every one is cached;
    /// otherwise leaves `out` as it was and returns `false`. The hot path of a batch read: each value goes
    /// straight into the response.
    pub fn extend_if_all_cached<T>(&self, keys: &[String], out: &mut Vec<T>, project: impl Fn(&V) -> T) -> bool {
        let epoch = self.epoch();
        let Ok(entries) = self.inner.read() else { return false };
        if entries.epoch != epoch {
            return false;
        }
        let start = out.len();
        for key in keys {
            match entries.map.get(key.as_str()) {
                Some(entry) => out.push(project(entry.read())),
                None => {
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
        let weight = (self.weigh)(&value) + key.len() + ENTRY_OVERHEAD;
        if weight > self.max_bytes / 8 {
            return;
        }
        let Ok(mut entries) = self.inner.write() else { return };
        // Checked under the lock: an entry of an older epoch is never added after the epoch moved.
        if epoch != self.epoch() {
            return;
        }
        if entries.epoch != epoch {
            entries.map.clear();
            entries.bytes = 0;
            entries.epoch = epoch;
        }
        if let Some(old) = entries.map.remove(&key) {
            entries.bytes -= old.weight;
        }
        if entries.bytes + weight > self.max_bytes {
            entries.evict(self.max_bytes - self.max_bytes / 10 - weight);
        }
        entries.bytes += weight;
        entries.map.insert(key, Entry { value, weight, used: AtomicBool::new(false) });
    }
}

impl<V> Entry<V> {
    fn read(&self) -> &V {
        // Relaxed: a lost mark only costs an entry its second chance.
        if !self.used.load(Ordering::Relaxed) {
            self.used.store(true, Ordering::Relaxed);
        }
        &self.value
    }
}

impl<V> Entries<V> {
    /// Brings the held bytes to at most `target`: entries unread since the last eviction first, the rest in
    /// map order; the survivors lose their mark.
    fn evict(&mut self, target: usize) {
        let mut bytes = self.bytes;
        self.map.retain(|_, entry| {
            let used = entry.used.swap(false, Ordering::Relaxed);
            if !used && bytes > target {
                bytes -= entry.weight;
                return false;
            }
            true
        });
        if bytes > target {
            self.map.retain(|_, entry| {
                if bytes > target {
                    bytes -= entry.weight;
                    return false;
                }
                true
            });
        }
        self.bytes = bytes;
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
        let cache = ReadCache::new(db.clone(), 1 << 20, |_: &i32| 0);
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
        let cache = ReadCache::new(db.clone(), 1 << 20, |_: &i32| 0);
        let before_the_read = cache.epoch();
        db.begin_write().await.expect("begin").commit().await.expect("commit");
        cache.fill("a".into(), before_the_read, 1);
        assert_eq!(cache.get("a"), None);
    }

    #[tokio::test]
    async fn the_cache_stays_within_its_bytes_and_keeps_what_was_read_recently() {
        let (db, _dir) = sqlite().await;
        // Room for ten values of 1,000 bytes (with their overhead).
        let budget = 10 * (1_000 + ENTRY_OVERHEAD + 2);
        let cache: ReadCache<Vec<u8>> = ReadCache::new(db, budget, Vec::len);
        let epoch = cache.epoch();
        for i in 0..10 {
            cache.fill(format!("k{i}"), epoch, vec![0; 1_000]);
        }
        for i in 10..40 {
            // k3 is read between fills (a hot contact): every eviction finds it read and keeps it.
            assert_eq!(cache.get_many(&["k3".to_owned()], Vec::len), [Some(1_000)], "k3 kept");
            cache.fill(format!("k{i}"), epoch, vec![0; 1_000]);
            assert!(cache.bytes() <= budget, "{} > {budget}", cache.bytes());
        }
        assert!(cache.get("k3").is_some(), "read before every eviction: kept");
        // Ten entries fit; k3 and the newest are among them, so most of the never-read first ten went (which ones
        // depends on the map's order).
        let cold_left = (0..10).filter(|i| *i != 3 && cache.get(&format!("k{i}")).is_some()).count();
        assert!(cold_left < 9, "{cold_left} never-read entries kept");
        assert!(cache.get("k39").is_some(), "the newest is kept");
        // One value too heavy for the cache is not kept, and takes nothing out.
        let before = cache.bytes();
        cache.fill("huge".into(), epoch, vec![0; budget]);
        assert_eq!((cache.get("huge"), cache.bytes()), (None, before));
    }

    #[tokio::test]
    async fn a_value_replaced_is_weighed_once() {
        let (db, _dir) = sqlite().await;
        let cache: ReadCache<Vec<u8>> = ReadCache::new(db, 1 << 20, Vec::len);
        let epoch = cache.epoch();
        cache.fill("a".into(), epoch, vec![0; 100]);
        cache.fill("a".into(), epoch, vec![0; 300]);
        assert_eq!(cache.bytes(), 300 + 1 + ENTRY_OVERHEAD);
    }

    #[tokio::test]
    async fn a_batch_is_served_in_order_only_when_every_value_is_current() {
        let (db, _dir) = sqlite().await;
        let cache = ReadCache::new(db.clone(), 1 << 20, |_: &i32| 0);
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
