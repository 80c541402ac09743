//! A small time-bounded cache for the hot path (key records, aliases, unwrapped CMK versions,
//! access keys). Entries expire after a TTL so that changes made by another server on the same
//! database are seen within that bound; local changes invalidate at once.
//!
//! Values are `Arc`s: readers clone a pointer under a read lock and never block each other.
//! When the map is full it is cleared (simple, bounded, and correct: a miss only costs a read).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// A TTL cache of `Arc<V>` by `K`.
pub struct TtlCache<K, V> {
    map: RwLock<HashMap<K, (Instant, Arc<V>)>>,
    ttl: Duration,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V> TtlCache<K, V> {
    /// A cache whose entries live `ttl` and that holds at most `capacity` entries.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            ttl,
            capacity,
        }
    }

    /// The live entry for `key`.
    pub fn get(&self, key: &K) -> Option<Arc<V>> {
        let map = self.map.read().ok()?;
        let (at, v) = map.get(key)?;
        (at.elapsed() < self.ttl).then(|| Arc::clone(v))
    }

    /// Stores `value` for `key`.
    pub fn insert(&self, key: K, value: Arc<V>) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= self.capacity {
                map.clear();
            }
            map.insert(key, (Instant::now(), value));
        }
    }

    /// Drops the entry for `key`.
    pub fn remove(&self, key: &K) {
        if let Ok(mut map) = self.map.write() {
            map.remove(key);
        }
    }

    /// Drops every entry matching `pred`.
    pub fn remove_where(&self, pred: impl Fn(&K, &V) -> bool) {
        if let Ok(mut map) = self.map.write() {
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
        c.insert(1, Arc::new(10));
        assert_eq!(c.get(&1).as_deref(), Some(&10));
        c.remove(&1);
        assert!(c.get(&1).is_none());
        c.insert(1, Arc::new(10));
        c.insert(2, Arc::new(20));
        c.insert(3, Arc::new(30));
        assert!(c.get(&1).is_none(), "cleared when full");
        assert_eq!(c.get(&3).as_deref(), Some(&30));
        std::thread::sleep(Duration::from_millis(60));
        assert!(c.get(&3).is_none(), "expired");
    }
}
