//! The load of `bench kms`: each connection is one task that polls its hyper connection and its
//! request loop together (no second task, no channel hop per request), sends one signed request
//! at a time until the window ends, and keeps its own [`Stats`]; they are merged at the end.
//! A connection the server closes (or that fails) is opened again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::BodyExt as _;
use hyper::Request;
use hyper::client::conn::http1::SendRequest;

use crate::bench::histogram::Histogram;
use crate::bench::report::ErrorGroups;
use crate::bench::signer::{Signer, Template};
use crate::bench::target::{Conn, ConnDriver, ReqBody, Target};

/// When requests count: those started in `start..end` (before `start` is the warm-up).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Measuring starts.
    pub start: Instant,
    /// No request is started after this.
    pub end: Instant,
}

/// What one connection (or, merged, the run) measured.
#[derive(Default)]
pub struct Stats {
    /// Latency of every answered request, in nanoseconds.
    pub latency: Histogram,
    /// Answers with status 200.
    pub ok: u64,
    /// Other answers.
    pub non200: u64,
    /// Requests without an answer (connection failed, reset, ...).
    pub failed: u64,
    /// Connections opened after the first.
    pub reconnects: u64,
    /// The non-200 answers and failures, grouped.
    pub errors: ErrorGroups,
    /// When the last counted request completed.
    pub last_done: Option<Instant>,
}

impl Stats {
    /// Adds `other`.
    pub fn merge(&mut self, other: Stats) {
        self.latency.merge(&other.latency);
        self.ok += other.ok;
        self.non200 += other.non200;
        self.failed += other.failed;
        self.reconnects += other.reconnects;
        self.errors.merge(other.errors);
        self.last_done = self.last_done.max(other.last_done);
    }

    fn failure(&mut self, error: &anyhow::Error) {
        self.failed += 1;
        self.errors.failure(&format!("{error:#}"));
    }
}

/// One request's answer.
struct Answer {
    status: u16,
    request_id: Option<String>,
    /// The body, kept only for non-200 answers.
    body: Vec<u8>,
}

/// What to do after a stretch of requests.
enum Step {
    /// The window ended.
    Done,
    /// The connection is gone: open another.
    Reconnect,
}

/// How long to wait before trying again after a connection could not be opened.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

/// Runs one connection (opened already, as `first`) through `window`.
pub async fn connection(
    target: Arc<Target>,
    template: Arc<Template>,
    first: Conn,
    window: Window,
) -> Stats {
    let mut stats = Stats::default();
    let mut signer = Signer::new(template);
    let mut next = Some(first);
    loop {
        let (mut sender, driver) = match next.take() {
            Some(conn) => conn,
            None => match target.connect().await {
                Ok(conn) => {
                    stats.reconnects += 1;
                    conn
                }
                Err(e) => {
                    if Instant::now() >= window.end {
                        break;
                    }
                    if Instant::now() >= window.start {
                        stats.failure(&e);
                    }
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
            },
        };
        let work = requests(&mut sender, &mut signer, &mut stats, window);
        if let Step::Done = drive(work, driver).await {
            break;
        }
    }
    stats
}

/// Polls the request loop and the connection's I/O in this task until the loop returns.
async fn drive(work: impl Future<Output = Step>, mut driver: ConnDriver) -> Step {
    let mut work = std::pin::pin!(work);
    tokio::select! {
        step = &mut work => step,
        // The connection ended (closed by the server, or failed): the loop sees it and returns.
        _ = &mut driver => work.await,
    }
}

/// Sends requests one at a time on `sender` until the window ends or the connection goes.
async fn requests(
    sender: &mut SendRequest<ReqBody>,
    signer: &mut Signer,
    stats: &mut Stats,
    window: Window,
) -> Step {
    loop {
        if Instant::now() >= window.end {
            return Step::Done;
        }
        if sender.ready().await.is_err() {
            return Step::Reconnect;
        }
        let req = match signer.request() {
            Ok(req) => req,
            Err(e) => {
                stats.failure(&e);
                return Step::Done;
            }
        };
        let started = Instant::now();
        let answer = exchange(sender, req).await;
        let done = Instant::now();
        let counted = started >= window.start;
        match answer {
            Ok(answer) if counted => record(stats, &answer, done - started, done),
            Ok(_) => {}
            Err(e) => {
                if counted {
                    stats.failure(&e);
                }
                return Step::Reconnect;
            }
        }
    }
}

fn record(stats: &mut Stats, answer: &Answer, took: Duration, done: Instant) {
    stats
        .latency
        .record(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
    stats.last_done = Some(done);
    if answer.status == 200 {
        stats.ok += 1;
    } else {
        stats.non200 += 1;
        stats
            .errors
            .answer(answer.status, &answer.body, answer.request_id.as_deref());
    }
}

/// Sends `req` and reads the whole answer (the body of a 200 is read and dropped).
async fn exchange(
    sender: &mut SendRequest<ReqBody>,
    req: Request<ReqBody>,
) -> anyhow::Result<Answer> {
    let resp = sender.send_request(req).await?;
    let (head, mut body) = resp.into_parts();
    let status = head.status.as_u16();
    if status == 200 {
        while let Some(frame) = body.frame().await {
            frame?;
        }
        return Ok(Answer {
            status,
            request_id: None,
            body: Vec::new(),
        });
    }
    let request_id = head
        .headers
        .get("x-acs-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = body.collect().await?.to_bytes();
    Ok(Answer {
        status,
        request_id,
        body: bytes.to_vec(),
    })
}
