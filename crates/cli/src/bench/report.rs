//! What `bench kms` prints: the figures as text or one JSON object, and the non-200 answers
//! and failures grouped so that a flood prints a handful of lines.
//!
//! Grouping: a JSON error answer groups by HTTP status and `Code` (its bodies differ only in
//! `RequestId` and, for some codes, echoed request details such as the server's string-to-sign);
//! any other answer by status and body with its request id blanked; a failure (no answer) by its
//! message. Each group keeps its count and its first body; at most [`MAX_GROUPS`] groups are
//! kept, the rest count as one "other" group.

use std::time::Duration;

use serde_json::{Value, json};

use crate::bench::load::Stats;

/// Groups kept; further distinct errors are counted together.
const MAX_GROUPS: usize = 32;

/// Groups whose first body is printed in full (text output).
const SHOWN_BODIES: usize = 5;

/// Bytes of a body kept for the report.
const MAX_BODY: usize = 4096;

/// One kind of error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    key: String,
    /// HTTP status, or `None` for a request without an answer.
    pub status: Option<u16>,
    /// The API error code, when the body had one.
    pub code: Option<String>,
    /// How many.
    pub count: u64,
    /// The first body (or failure message), as received.
    pub first: String,
}

/// The errors of a run, grouped.
#[derive(Default, Debug)]
pub struct ErrorGroups {
    groups: Vec<Group>,
    /// Errors beyond [`MAX_GROUPS`] kinds.
    other: u64,
}

impl ErrorGroups {
    /// Counts a non-200 answer.
    pub fn answer(&mut self, status: u16, body: &[u8], request_id: Option<&str>) {
        let text = String::from_utf8_lossy(body.get(..MAX_BODY).unwrap_or(body)).into_owned();
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let code = json
            .as_ref()
            .and_then(|j| j.get("Code"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let key = match (&code, request_id.or_else(|| json_request_id(json.as_ref()))) {
            (Some(code), _) => format!("{status} {code}"),
            (None, Some(id)) if !id.is_empty() => format!("{status} {}", text.replace(id, "")),
            (None, _) => format!("{status} {text}"),
        };
        self.add(Group {
            key,
            status: Some(status),
            code,
            count: 1,
            first: text,
        });
    }

    /// Counts a request that got no answer.
    pub fn failure(&mut self, message: &str) {
        self.add(Group {
            key: format!("failure {message}"),
            status: None,
            code: None,
            count: 1,
            first: message.to_owned(),
        });
    }

    fn add(&mut self, new: Group) {
        if let Some(g) = self.groups.iter_mut().find(|g| g.key == new.key) {
            g.count += new.count;
        } else if self.groups.len() < MAX_GROUPS {
            self.groups.push(new);
        } else {
            self.other += new.count;
        }
    }

    /// Adds `other`'s groups.
    pub fn merge(&mut self, other: ErrorGroups) {
        for g in other.groups {
            self.add(g);
        }
        self.other += other.other;
    }

    /// The groups, most frequent first.
    pub fn sorted(&self) -> Vec<&Group> {
        let mut out: Vec<&Group> = self.groups.iter().collect();
        out.sort_by_key(|g| std::cmp::Reverse(g.count));
        out
    }

    /// Errors that did not fit in a group.
    pub fn other(&self) -> u64 {
        self.other
    }
}

fn json_request_id(json: Option<&Value>) -> Option<&str> {
    json?.get("RequestId")?.as_str()
}

/// What the run was, for the report.
pub struct RunInfo {
    /// The action.
    pub action: &'static str,
    /// `v1` or `acs3`.
    pub signature: &'static str,
    /// `http` or `https`.
    pub transport: &'static str,
    /// The endpoint.
    pub endpoint: String,
    /// Connections.
    pub connections: u32,
    /// Worker threads.
    pub threads: u32,
    /// Warm-up seconds.
    pub warmup: f64,
}

/// The figures of a run.
pub struct Figures<'a> {
    info: &'a RunInfo,
    stats: &'a Stats,
    secs: f64,
}

impl Figures<'_> {
    /// What was run.
    pub fn info(&self) -> &RunInfo {
        self.info
    }
}

fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

impl<'a> Figures<'a> {
    /// The figures of `stats` measured over `elapsed`.
    pub fn new(info: &'a RunInfo, stats: &'a Stats, elapsed: Duration) -> Self {
        Self {
            info,
            stats,
            secs: elapsed.as_secs_f64(),
        }
    }

    /// Answered requests (any status).
    pub fn requests(&self) -> u64 {
        self.stats.ok + self.stats.non200
    }

    /// Requests that failed or got a non-200.
    pub fn errors(&self) -> u64 {
        self.stats.non200 + self.stats.failed
    }

    fn rate(&self) -> f64 {
        if self.secs > 0.0 {
            self.requests() as f64 / self.secs
        } else {
            0.0
        }
    }

    /// One JSON object.
    pub fn json(&self) -> Value {
        let h = &self.stats.latency;
        let errors: Vec<Value> = self
            .stats
            .errors
            .sorted()
            .into_iter()
            .map(|g| {
                json!({ "Status": g.status, "Code": g.code, "Count": g.count, "Body": g.first })
            })
            .collect();
        json!({
            "Action": self.info.action,
            "Signature": self.info.signature,
            "Transport": self.info.transport,
            "Endpoint": self.info.endpoint,
            "Connections": self.info.connections,
            "Threads": self.info.threads,
            "WarmupSeconds": self.info.warmup,
            "Seconds": self.secs,
            "Requests": self.requests(),
            "Ok": self.stats.ok,
            "Non200": self.stats.non200,
            "Failed": self.stats.failed,
            "Reconnects": self.stats.reconnects,
            "ReqPerSec": self.rate(),
            "P50Ms": ms(h.quantile(0.5)),
            "P99Ms": ms(h.quantile(0.99)),
            "MaxMs": ms(h.max()),
            "Errors": errors,
            "OtherErrors": self.stats.errors.other(),
        })
    }

    /// The text report, lines without trailing newlines.
    pub fn text(&self) -> Vec<String> {
        let (i, h) = (self.info, &self.stats.latency);
        let mut out = vec![
            format!(
                "bench kms: {} {} over {} to {}, {} connections, {} thread(s), {:.2} s measured after {} s warm-up",
                i.action,
                i.signature,
                i.transport,
                i.endpoint,
                i.connections,
                i.threads,
                self.secs,
                i.warmup
            ),
            format!(
                "requests {}  req/s {:.1}  reconnects {}",
                self.requests(),
                self.rate(),
                self.stats.reconnects
            ),
            format!(
                "latency ms  p50 {:.3}  p99 {:.3}  max {:.3}",
                ms(h.quantile(0.5)),
                ms(h.quantile(0.99)),
                ms(h.max())
            ),
            format!(
                "errors {}  (non-200 {}, failed {})",
                self.errors(),
                self.stats.non200,
                self.stats.failed
            ),
        ];
        out.extend(error_lines(&self.stats.errors));
        out
    }
}

fn error_lines(errors: &ErrorGroups) -> Vec<String> {
    let mut out = Vec::new();
    for (n, g) in errors.sorted().into_iter().enumerate() {
        let what = match (g.status, &g.code) {
            (Some(s), Some(code)) => format!("HTTP {s} {code}"),
            (Some(s), None) => format!("HTTP {s}"),
            (None, _) => "no answer".to_owned(),
        };
        out.push(format!("  {:>8} x {what}", g.count));
        if n < SHOWN_BODIES {
            out.push(format!("           {}", g.first.trim_end()));
        }
    }
    if errors.other() > 0 {
        out.push(format!("  {:>8} x other kinds", errors.other()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(id: &str, message: &str) -> Vec<u8> {
        json!({"RequestId": id, "Code": "SignatureDoesNotMatch", "Message": message})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn a_flood_groups_into_one_line_per_kind() {
        let mut e = ErrorGroups::default();
        for i in 0..1000 {
            let id = format!("ID-{i}");
            e.answer(400, &body(&id, &format!("sts {i}")), Some(&id));
        }
        e.answer(503, b"busy ID-1", Some("ID-1"));
        e.answer(503, b"busy ID-2", Some("ID-2"));
        e.failure("connection reset");
        let groups = e.sorted();
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].count, 1000);
        assert_eq!(groups[0].code.as_deref(), Some("SignatureDoesNotMatch"));
        assert!(groups[0].first.contains("ID-0"), "the first body, whole");
        assert_eq!(
            groups[1].count, 2,
            "plain bodies group without their request id"
        );
        let lines = error_lines(&e);
        assert_eq!(lines.len(), 6, "{lines:?}");
    }

    #[test]
    fn distinct_kinds_are_bounded() {
        let mut e = ErrorGroups::default();
        for i in 0..100 {
            e.failure(&format!("error {i}"));
        }
        let mut other = ErrorGroups::default();
        other.failure("error 0");
        e.merge(other);
        assert_eq!(e.sorted().len(), MAX_GROUPS);
        assert_eq!(e.sorted()[0].count, 2);
        assert_eq!(e.other(), 100 - MAX_GROUPS as u64);
    }
}
