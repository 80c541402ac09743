//! A small time-bounded cache for the hot path (key records, aliases, unwrapped CMK versions,
//! access keys). Entries expire after a TTL so that changes made by another server on the same
//! database are seen within that bound; local changes invalidate at once.
//!
//! Values are `Arc`s: readers clone a pointer under a read lock and never block each other.
//! When the map is full it is cleared (simple, bounded, and correct: a miss only costs a read).
//!
//! A miss is filled by [`TtlCache::get_or_load`] in two steps: a ticket taken before the
//! store is read, then `fill` with what was read. A fill is dropped when any entry was invalidated in
//! between (the value read may predate that change): otherwise a reader that read the old
//! value just before a writer's invalidation would cache it just after, and the cache would
//! serve the old value for a whole TTL.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// A TTL cache of `Arc<V>` by `K`.
pub struct TtlCache<K, V> {
    map: RwLock<HashMap<K, (Instant, Arc<V>)>>,
    ttl: Duration,
    capacity: usize,
    /// Invalidations so far (changed under the write lock).
    generation: AtomicU64,
}

/// Taken before a store read whose result goes to `fill`.
#[derive(Debug, Clone, Copy)]
#[must_use = "a ticket is for filling the cache"]
struct Ticket(u64);

impl<K: Eq + Hash + Clone, V> TtlCache<K, V> {
    /// A cache whose entries live `ttl` and that holds at most `capacity` entries.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            ttl,
            capacity,
            generation: AtomicU64::new(0),
        }
    }

    /// The live entry for `key`.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<Arc<V>>
    where
        K: Borrow<Q>,
    {
        let map = self.map.read().ok()?;
        let (at, v) = map.get(key)?;
        (at.elapsed() < self.ttl).then(|| Arc::clone(v))
    }

    /// The live entry for `key`, else what `load` yields (cached unless an invalidation
    /// happened while it ran). `load` runs only on a miss.
    pub async fn get_or_load<Q, E>(
        &self,
        key: &Q,
        load: impl Future<Output = Result<V, E>>,
    ) -> Result<Arc<V>, E>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(v) = self.get(key) {
            return Ok(v);
        }
        let ticket = self.ticket();
        let value = Arc::new(load.await?);
        self.fill(ticket, key.to_owned(), Arc::clone(&value));
        Ok(value)
    }
}

impl<K: Eq + Hash + Clone> TtlCache<K, ()> {
    /// Runs `lookup` and remembers `key` as absent when it finds nothing (a negative cache:
    /// the next [`TtlCache::get`] of `key` within the TTL answers "absent" without a lookup).
    /// Nothing is remembered if an invalidation happened while `lookup` ran.
    pub async fn absent_unless<Q, T, E>(
        &self,
        key: &Q,
        lookup: impl Future<Output = Result<Option<T>, E>>,
    ) -> Result<Option<T>, E>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let ticket = self.ticket();
        let found = lookup.await?;
        if found.is_none() {
            self.fill(ticket, key.to_owned(), Arc::new(()));
        }
        Ok(found)
    }
}

impl<K: Eq + Hash + Clone, V> TtlCache<K, V> {
    /// A ticket for filling the cache with a value about to be read.
    fn ticket(&self) -> Ticket {
        Ticket(self.generation.load(Ordering::Acquire))
    }

    /// Stores `value` (read after `ticket` was taken) for `key`, unless an invalidation
    /// happened since: then the value is used by its reader only, never cached.
    fn fill(&self, ticket: Ticket, key: K, value: Arc<V>) {
        if let Ok(mut map) = self.map.write() {
            if self.generation.load(Ordering::Acquire) != ticket.0 {
                return;
            }
            if map.len() >= self.capacity {
                map.clear();
            }
            map.insert(key, (Instant::now(), value));
        }
    }

    /// Drops the entry for `key`.
    pub fn remove<Q: Hash + Eq + ?Sized>(&self, key: &Q)
    where
        K: Borrow<Q>,
    {
        if let Ok(mut map) = self.map.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            map.remove(key);
        }
    }

    /// Drops every entry.
    pub fn clear(&self) {
        self.remove_where(|_, _| true);
    }

    /// Drops every entry matching `pred`.
    pub fn remove_where(&self, pred: impl Fn(&K, &V) -> bool) {
        if let Ok(mut map) = self.map.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            map.retain(|k, (_, v)| !pred(k, v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_invalidation_and_capacity() {
        let c: TtlCache<u32, u32> = TtlCache::new(Duration::from_millis(50), 2);
        c.fill(c.ticket(), 1, Arc::new(10));
        assert_eq!(c.get(&1).as_deref(), Some(&10));
        c.remove(&1);
        assert!(c.get(&1).is_none());
        c.fill(c.ticket(), 1, Arc::new(10));
        c.fill(c.ticket(), 2, Arc::new(20));
        c.fill(c.ticket(), 3, Arc::new(30));
        assert!(c.get(&1).is_none(), "cleared when full");
        assert_eq!(c.get(&3).as_deref(), Some(&30));
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.get(&3).is_none(), "expired");
    }

    #[tokio::test]
    async fn absent_keys_are_remembered_until_invalidated() {
        let c: TtlCache<String, ()> = TtlCache::new(Duration::from_secs(60), 10);
        let found: Result<Option<u32>, ()> = c.absent_unless("ak", async { Ok(None) }).await;
        assert_eq!(found, Ok(None));
        assert!(c.get("ak").is_some(), "remembered as absent");
        let found: Result<Option<u32>, ()> = c.absent_unless("b", async { Ok(Some(1)) }).await;
        assert_eq!(found, Ok(Some(1)));
        assert!(c.get("b").is_none(), "a found key is not remembered");
        let failed: Result<Option<u32>, &str> = c.absent_unless("e", async { Err("io") }).await;
        assert!(failed.is_err());
        assert!(c.get("e").is_none(), "a failed lookup proves nothing");
        c.remove("ak");
        assert!(c.get("ak").is_none());
        // An invalidation during the lookup (the key was just created): not remembered.
        let found: Result<Option<u32>, ()> = c
            .absent_unless("new", async {
                c.remove("new");
                Ok(None)
            })
            .await;
        assert_eq!(found, Ok(None));
        assert!(c.get("new").is_none());
    }

    #[test]
    fn a_value_read_before_an_invalidation_is_not_cached() {
        let c: TtlCache<&str, &str> = TtlCache::new(Duration::from_secs(60), 10);
        // A reader misses and reads the old value; a writer changes it and invalidates; the
        // reader's fill arrives last.
        let ticket = c.ticket();
        c.remove(&"alias/x");
        c.fill(ticket, "alias/x", Arc::new("old key"));
        assert!(c.get(&"alias/x").is_none(), "the old value was cached");
        // Any invalidation counts (remove_where too), and a fresh ticket fills.
        let ticket = c.ticket();
        c.remove_where(|_, _| false);
        c.fill(ticket, "alias/x", Arc::new("old key"));
        assert!(c.get(&"alias/x").is_none());
        c.fill(c.ticket(), "alias/x", Arc::new("new key"));
        assert_eq!(c.get(&"alias/x").as_deref(), Some(&"new key"));
    }
}
