//! A compact log-linear latency histogram: values in nanoseconds, 128 linear sub-buckets per
//! power of two (so a reported percentile is within 0.4 % of the true value), exact below 128 ns,
//! values beyond about 68 s clamped. One per connection, merged at the end; recording is an
//! index computation and an increment.

/// Linear sub-buckets per power of two, as a power of two.
const SUB_BITS: u32 = 7;

/// Sub-buckets per power of two.
const SUB: u64 = 1 << SUB_BITS;

/// Largest recorded value (2^36 ns, about 68.7 s); larger ones count as this.
const MAX_VALUE: u64 = (1 << 36) - 1;

/// Buckets needed to cover `0..=MAX_VALUE`.
const BUCKETS: usize = bucket_of(MAX_VALUE) + 1;

/// Latency counts by bucket, plus the exact maximum.
#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u32>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
        }
    }
}

/// The bucket of `v` (at most `MAX_VALUE`).
const fn bucket_of(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let shift = 63 - v.leading_zeros() - SUB_BITS;
    // `v >> shift` is within SUB..2*SUB, so buckets continue where the exact ones stop.
    (shift as u64 * SUB + (v >> shift)) as usize
}

/// The lowest value of bucket `i` and the bucket's width.
fn bucket_range(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < 2 * SUB {
        return (i, 1);
    }
    let shift = i / SUB - 1;
    let top = i - shift * SUB;
    (top << shift, 1 << shift)
}

impl Histogram {
    /// Counts one value (nanoseconds).
    pub fn record(&mut self, nanos: u64) {
        let v = nanos.min(MAX_VALUE);
        if let Some(c) = self.counts.get_mut(bucket_of(v)) {
            *c = c.saturating_add(1);
        }
        self.total += 1;
        self.max = self.max.max(nanos);
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a = a.saturating_add(*b);
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// Values counted.
    #[cfg(test)]
    pub fn len(&self) -> u64 {
        self.total
    }

    /// The exact largest value (nanoseconds).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0 to 1) in nanoseconds: the middle of its bucket, never more
    /// than the maximum; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        // The rank of the wanted value, 1-based: ceil(q * n), at least 1.
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                let (low, width) = bucket_range(i);
                return (low + (width - 1) / 2).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_ranges_invert_them() {
        let mut expected_low = 0;
        for i in 0..BUCKETS {
            let (low, width) = bucket_range(i);
            assert_eq!(low, expected_low, "bucket {i}");
            assert_eq!(bucket_of(low), i);
            assert_eq!(bucket_of(low + width - 1), i);
            expected_low = low + width;
        }
        assert_eq!(expected_low, MAX_VALUE + 1);
    }

    #[test]
    fn quantiles_within_the_bucket_precision() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v * 1000);
        }
        assert_eq!(h.len(), 100_000);
        assert_eq!(h.max(), 100_000_000);
        for (q, want) in [
            (0.5, 50_000_000.0),
            (0.99, 99_000_000.0),
            (1.0, 100_000_000.0),
        ] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.005, "q{q}: {got} vs {want}");
        }
        assert_eq!(Histogram::default().quantile(0.5), 0);
    }

    #[test]
    fn merge_adds_and_huge_values_clamp() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        a.record(5);
        b.record(u64::MAX);
        a.merge(&b);
        assert_eq!(a.len(), 2);
        assert_eq!(a.max(), u64::MAX);
        assert_eq!(a.quantile(0.5), 5);
        assert!(a.quantile(1.0) > MAX_VALUE / 2);
    }
}
