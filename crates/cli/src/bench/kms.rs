//! `keywarden bench kms`: set-up calls through the ordinary client (CreateKey, a blob for
//! Decrypt), then the measured load on a tokio runtime of `--threads` workers: every connection
//! opened first, then `--warmup` seconds uncounted and `--duration` seconds counted. Prints the
//! figures ([`crate::bench::report`]) and fails with the exit code of the most frequent error
//! when any request failed or got a non-200.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use keywarden_client::{ClientError, KmsClient};
use serde_json::Value;
use tokio::task::JoinSet;

use crate::bench::load::{self, Stats, Window};
use crate::bench::report::{Figures, RunInfo};
use crate::bench::signer::{Call, Template};
use crate::bench::target::{Conn, Target};
use crate::cli::{BenchAction, BenchKmsArgs, BenchSignature, ClientArgs};
use crate::exit::{self, fail};

/// Bytes of Encrypt plaintext.
const PLAINTEXT_BYTES: usize = 1024;

/// The key id used with `--no-setup` when none is given.
const DUMMY_KEY_ID: &str = "bench-no-setup";

/// Runs the command.
pub fn run(client_args: &ClientArgs, args: &BenchKmsArgs) -> anyhow::Result<()> {
    let client = crate::kms::client(client_args)?;
    let params = setup(&client, args)?;
    let settings = client.settings();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::try_from(args.threads).unwrap_or(1))
        .enable_all()
        .build()?;
    let (target, stats, elapsed) = runtime.block_on(async {
        let target = Target::resolve(&settings.endpoint, settings.ca_file.as_deref()).await?;
        let template = Template::new(&Call {
            scheme: args.signature,
            host: &target.host,
            action: action_name(args.action),
            params: &params,
            access_key_id: &settings.access_key_id,
            secret: settings.access_key_secret.expose_secret(),
            region: &settings.region,
        })?;
        measure(Arc::new(target), Arc::new(template), args).await
    })?;
    let info = RunInfo {
        action: action_name(args.action),
        signature: signature_name(args.signature),
        transport: target.transport(),
        endpoint: settings.endpoint.clone(),
        connections: args.connections,
        threads: args.threads,
        warmup: args.warmup,
    };
    print_and_judge(&Figures::new(&info, &stats, elapsed), &stats, args.json)
}

fn action_name(a: BenchAction) -> &'static str {
    match a {
        BenchAction::GenerateDataKey => "GenerateDataKey",
        BenchAction::Decrypt => "Decrypt",
        BenchAction::Encrypt => "Encrypt",
        BenchAction::DescribeKey => "DescribeKey",
        BenchAction::CreateKey => "CreateKey",
    }
}

fn signature_name(s: BenchSignature) -> &'static str {
    match s {
        BenchSignature::V1 => "v1",
        BenchSignature::Acs3 => "acs3",
    }
}

fn pair(k: &str, v: String) -> (String, String) {
    (k.to_owned(), v)
}

/// The action's parameters, after the set-up calls it needs.
fn setup(client: &KmsClient, args: &BenchKmsArgs) -> anyhow::Result<Vec<(String, String)>> {
    let key_id = match (&args.key_id, args.no_setup) {
        (Some(id), _) => id.clone(),
        (None, true) => DUMMY_KEY_ID.to_owned(),
        (None, false) => {
            let created = client.call("CreateKey", &[])?;
            string_at(&created, &["KeyMetadata", "KeyId"])?
        }
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(match args.action {
        BenchAction::GenerateDataKey | BenchAction::DescribeKey => vec![pair("KeyId", key_id)],
        BenchAction::CreateKey => Vec::new(),
        BenchAction::Encrypt => {
            // 768 random bytes are 1024 base64 characters: 1 KiB of plaintext text.
            let mut bytes = vec![0u8; PLAINTEXT_BYTES / 4 * 3];
            aws_lc_rs::rand::fill(&mut bytes)
                .map_err(|_| anyhow::anyhow!("random generator failed"))?;
            vec![pair("KeyId", key_id), pair("Plaintext", b64.encode(bytes))]
        }
        BenchAction::Decrypt if args.no_setup => {
            vec![pair("CiphertextBlob", b64.encode([0u8; 108]))]
        }
        BenchAction::Decrypt => {
            let made = client.call("GenerateDataKey", &[pair("KeyId", key_id)])?;
            vec![pair(
                "CiphertextBlob",
                string_at(&made, &["CiphertextBlob"])?,
            )]
        }
    })
}

fn string_at(v: &Value, path: &[&str]) -> anyhow::Result<String> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("answer without {}: {v}", path.join(".")))
}

/// Opens every connection, then runs the window; returns the target, the merged stats and the
/// measured time (from the window's start to the last counted answer).
async fn measure(
    target: Arc<Target>,
    template: Arc<Template>,
    args: &BenchKmsArgs,
) -> anyhow::Result<(Arc<Target>, Stats, Duration)> {
    let connections = open_all(&target, args.connections).await?;
    let start = Instant::now() + Duration::from_secs_f64(args.warmup);
    let window = Window {
        start,
        end: start + Duration::from_secs_f64(args.duration),
    };
    let mut tasks = JoinSet::new();
    for conn in connections {
        let (target, template) = (Arc::clone(&target), Arc::clone(&template));
        tasks.spawn(load::connection(target, template, conn, window));
    }
    let mut total = Stats::default();
    while let Some(stats) = tasks.join_next().await {
        total.merge(stats?);
    }
    let elapsed = total
        .last_done
        .map_or(Duration::from_secs_f64(args.duration), |t| {
            t.saturating_duration_since(start)
        });
    Ok((target, total, elapsed))
}

/// Opens `n` connections at once; the first failure fails the run.
async fn open_all(target: &Arc<Target>, n: u32) -> anyhow::Result<Vec<Conn>> {
    let mut opening = JoinSet::new();
    for _ in 0..n {
        let target = Arc::clone(target);
        opening.spawn(async move { target.connect().await });
    }
    let mut out = Vec::new();
    while let Some(conn) = opening.join_next().await {
        out.push(conn?.map_err(|e| fail(exit::UNREACHABLE, format!("{e:#}")))?);
    }
    Ok(out)
}

/// Prints the figures; an error (with the exit code of the most frequent kind) when any
/// request failed or got a non-200.
fn print_and_judge(figures: &Figures<'_>, stats: &Stats, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", figures.json());
    } else {
        for line in figures.text() {
            println!("{line}");
        }
    }
    if figures.errors() == 0 {
        return Ok(());
    }
    let top = stats.errors.sorted().into_iter().next();
    let (code, what) = match top {
        Some(g) => match (g.status, &g.code) {
            (Some(status), Some(api)) => {
                let e = ClientError::Api {
                    action: figures.info().action.to_owned(),
                    status,
                    code: api.clone(),
                    message: String::new(),
                    request_id: String::new(),
                };
                (exit::client_code(&e), format!("HTTP {status} {api}"))
            }
            (Some(status), None) => (exit::API, format!("HTTP {status}")),
            (None, _) => (exit::UNREACHABLE, g.first.clone()),
        },
        None => (exit::OTHER, "unknown".to_owned()),
    };
    Err(fail(
        code,
        format!(
            "bench kms: {} of {} requests failed or answered non-200 (most often: {what})",
            figures.errors(),
            figures.requests() + stats.failed
        ),
    ))
}
