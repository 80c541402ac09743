//! The signature-nonce window of a SQLite store, kept in process memory.
//!
//! Writing every nonce to SQLite would put an fsync on the path of every API request. The SQLite
//! store serves exactly one server process, so that process's memory *is* the whole nonce window:
//! no other node can see a nonce it missed. A restart forgets the window; requests signed before
//! the restart stay bounded by their timestamp window, which the server checks separately.
//!
//! Memory stays proportional to the live window: once the map has grown to twice its size after
//! the last purge (and at least [`MIN_PURGE_AT`] entries), expired nonces are dropped. That is
//! amortised O(1) per request.

use std::collections::HashMap;
use std::sync::Mutex;

use super::pool::lock;

/// The map size below which no purge is attempted.
const MIN_PURGE_AT: usize = 1024;

/// Nonces seen and the unix second at which each stops counting.
#[derive(Debug)]
pub(super) struct NonceWindow {
    inner: Mutex<Nonces>,
}

#[derive(Debug)]
struct Nonces {
    expiry: HashMap<String, i64>,
    purge_at: usize,
}

impl NonceWindow {
    /// An empty window.
    pub(super) fn new() -> Self {
        NonceWindow {
            inner: Mutex::new(Nonces {
                expiry: HashMap::new(),
                purge_at: MIN_PURGE_AT,
            }),
        }
    }

    /// Records `nonce` until `expires_at`; `false` if it is already recorded and not expired at
    /// `now` (a replay).
    pub(super) fn remember(&self, nonce: &str, expires_at: i64, now: i64) -> bool {
        lock(&self.inner).remember(nonce, expires_at, now)
    }

    /// Nonces currently held, expired or not (for tests of the purge).
    #[cfg(test)]
    fn held(&self) -> usize {
        lock(&self.inner).expiry.len()
    }
}

impl Nonces {
    fn remember(&mut self, nonce: &str, expires_at: i64, now: i64) -> bool {
        if self.expiry.get(nonce).is_some_and(|&until| until > now) {
            return false;
        }
        self.expiry.insert(nonce.to_owned(), expires_at);
        if self.expiry.len() >= self.purge_at {
            self.purge(now);
        }
        true
    }

    /// Drops expired nonces and sets the next purge at twice what is left.
    fn purge(&mut self, now: i64) {
        self.expiry.retain(|_, until| *until > now);
        self.purge_at = self.expiry.len().saturating_mul(2).max(MIN_PURGE_AT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_inside_window_is_refused() {
        let window = NonceWindow::new();
        assert!(window.remember("n", 100, 10));
        assert!(!window.remember("n", 100, 99));
        assert!(window.remember("other", 100, 10));
    }

    #[test]
    fn expired_nonce_is_accepted_again() {
        let window = NonceWindow::new();
        assert!(window.remember("n", 100, 10));
        assert!(window.remember("n", 200, 100));
        assert!(!window.remember("n", 300, 150));
    }

    #[test]
    fn purge_keeps_memory_near_the_live_window() {
        let window = NonceWindow::new();
        for i in 0..100_000 {
            // Each nonce lives for 10 seconds; one request per second-tick of 100 nonces.
            let now = i / 100;
            assert!(window.remember(&format!("n{i}"), now + 10, now));
        }
        // About 1,000 nonces are live at the end; the purge bound is twice that plus slack.
        assert!(window.held() <= 4 * MIN_PURGE_AT, "held {}", window.held());
    }

    #[test]
    fn purge_never_forgets_a_live_nonce() {
        let window = NonceWindow::new();
        assert!(window.remember("keep", 1_000_000, 0));
        for i in 0..10_000 {
            assert!(window.remember(&format!("n{i}"), 1, 0));
        }
        assert!(!window.remember("keep", 1_000_000, 5));
    }
}
