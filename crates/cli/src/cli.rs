//! Command-line definitions.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// keywarden: a self-hosted KMS that speaks the Alibaba Cloud KMS API (2016-01-20).
#[derive(Parser)]
#[command(name = "keywarden", version, about, long_about = None)]
pub struct Cli {
    /// Client connection settings (given before the command; for every command that talks to a server).
    #[command(flatten)]
    pub client: ClientArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Where and as whom to connect. Each falls back to the environment, then the profile.
#[derive(Args, Debug, Clone, Default)]
pub struct ClientArgs {
    /// KMS endpoint, e.g. https://127.0.0.1:8443 [env: KEYWARDEN_ENDPOINT]
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Access key id [env: ALIBABA_CLOUD_ACCESS_KEY_ID]
    #[arg(long)]
    pub access_key_id: Option<String>,
    /// Access key secret; prefer the environment variable [env: ALIBABA_CLOUD_ACCESS_KEY_SECRET]
    #[arg(long, hide_env_values = true)]
    pub access_key_secret: Option<String>,
    /// PEM file of the CA to trust (the server's tls/ca.pem) [env: KEYWARDEN_CA_FILE]
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Profile file [default: $KEYWARDEN_CONFIG, else ~/.keywarden/config.json]
    #[arg(long)]
    pub profile: Option<PathBuf>,
}

/// The commands.
#[derive(Subcommand)]
pub enum Command {
    /// Run the KMS server (embedded SQLite store, or one node of several on PostgreSQL; TLS with a generated CA).
    Serve(ServeArgs),
    /// Call any KMS API action and print its JSON, e.g. `keywarden kms CreateKey --Description x`.
    Kms(KmsArgs),
    /// Call any RAM API action (users, access keys, policies) and print its JSON, e.g.
    /// `keywarden ram CreateUser --UserName alice`.
    Ram(KmsArgs),
    /// Store client settings in the profile (like `aliyun configure`).
    Configure(ConfigureArgs),
    /// Envelope-encrypt a file, stdin (`-`) or a directory tree (`-r`) under one or more CMKs.
    Encrypt(EncryptArgs),
    /// Decrypt a KENV envelope or a 4-line seed file (detected), or a tree (`-r`).
    Decrypt(DecryptArgs),
    /// Re-wrap a file's data key under other CMKs (or a key's new primary version); the body is untouched.
    Rewrap(RewrapArgs),
    /// Print a file's header as JSON (format, key ids, encryption context, segment size, ...).
    Inspect(InspectArgs),
    /// Benchmarks behind docs/PERFORMANCE.md: file range reads, a KMS load generator and its
    /// baseline responder.
    Bench(BenchArgs),
    /// Print the audit trail (one JSON object per line) and verify its hash chain.
    Audit(AuditArgs),
    /// Offline store operations: `store migrate` copies a stopped SQLite installation into PostgreSQL.
    Store(crate::store_cmd::StoreArgs),
}

/// `keywarden audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Data directory of the server whose trail to read (read-only; the server may be running).
    #[arg(long, env = "KEYWARDEN_DATA_DIR", default_value = "./keywarden-data")]
    pub data_dir: PathBuf,
    /// Read the trail of this store instead of DATA_DIR's: `sqlite` (DATA_DIR/keywarden.db)
    /// or the `postgres://` URL several nodes share (one trail for all of them).
    #[arg(long, env = "KEYWARDEN_STORE", default_value = "sqlite", value_parser = parse_store)]
    pub store: keywarden_server::StoreLocation,
    /// Start at the first record at or after this time: `YYYY-MM-DDTHH:MM:SSZ` or unix seconds.
    #[arg(long, value_parser = parse_time)]
    pub since: Option<i64>,
    /// Verify the hash chain; exit 10 naming the first bad record if it does not hold.
    #[arg(long)]
    pub verify: bool,
    /// A head the server logged earlier (`<seq>:<hash>`): the chain must pass through it
    /// (detects a truncated or rewritten log). Implies --verify.
    #[arg(long, value_name = "SEQ:HASH")]
    pub expect_head: Option<keywarden_store::AuditHead>,
    /// Print only records up to this time (`YYYY-MM-DDTHH:MM:SSZ` or unix seconds, inclusive);
    /// verification still reads to the end.
    #[arg(long, value_parser = parse_time)]
    pub until: Option<i64>,
    /// Output: `jsonl`, one JSON object per record with its hashes (for a SIEM), or `table`,
    /// one aligned line per record (for people).
    #[arg(long, value_enum, default_value_t = AuditFormat::Jsonl)]
    pub format: AuditFormat,
    /// Do not print the records (only verify).
    #[arg(short, long)]
    pub quiet: bool,
}

/// What `keywarden audit` prints.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditFormat {
    /// One JSON object per line: the record, `prev_hash` and `hash`.
    Jsonl,
    /// One aligned text line per record.
    Table,
}

/// Unix milliseconds of `YYYY-MM-DDTHH:MM:SSZ` or of unix seconds.
fn parse_time(s: &str) -> Result<i64, String> {
    let secs = match s.parse::<i64>() {
        Ok(secs) => secs,
        Err(_) => keywarden_core::dates::parse_api(s)
            .ok_or_else(|| format!("{s:?} is neither YYYY-MM-DDTHH:MM:SSZ nor unix seconds"))?,
    };
    secs.checked_mul(1000)
        .ok_or_else(|| format!("{s:?} is out of range"))
}

/// `keywarden bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Which benchmark.
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// The benchmarks.
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Random-access reads from a KENV file after one unwrap; prints JSON timings.
    Range {
        /// The KENV file.
        file: PathBuf,
        /// How many reads.
        #[arg(long, default_value_t = 200)]
        reads: u32,
        /// Bytes per read.
        #[arg(long, default_value_t = 1 << 20)]
        size: u64,
    },
    /// Load generator: one KMS action over N keep-alive HTTP/1.1 connections for a fixed time.
    ///
    /// Talks to the configured endpoint with the usual client settings (--endpoint, credentials,
    /// --ca-file; TLS for https://). Every request is signed afresh (new random nonce, current
    /// timestamp); each connection has one request in flight at a time. Prints requests, req/s,
    /// p50/p99/max latency in ms, and the non-200 answers and failures grouped by HTTP status and
    /// API error code (count, and the first body of each in full); --json prints the same as one
    /// object. Exits non-zero (the exit code of the most frequent error) if any request failed or
    /// got a non-200.
    ///
    /// Set-up (before the clock starts): CreateKey unless --key-id is given; for Decrypt, one
    /// GenerateDataKey whose blob is then decrypted over and over. --no-setup makes no set-up
    /// call (for `bench hello`, which answers anything with any credentials).
    ///
    /// It shares the machine with the server it measures, so it runs on --threads worker threads
    /// (default 1) and leaves the other cores to the server.
    #[command(verbatim_doc_comment)]
    Kms(BenchKmsArgs),
    /// Baseline responder: the server's HTTP/TLS stack answering a fixed body, for `bench kms`.
    ///
    /// Uses the server's own listener, hyper settings and rustls configuration, and answers any
    /// request on `/` with a fixed GenerateDataKey-sized JSON body (and `x-acs-request-id`)
    /// without parsing or verifying anything. Runs until SIGTERM or Ctrl-C.
    ///
    /// With --tls it creates a CA and a certificate for localhost/127.0.0.1/::1 under
    /// <cert-dir>/tls/ (the layout of a data dir, so a `serve` data dir's CA can be reused) and
    /// prints the CA's path; then:
    ///   keywarden --endpoint https://127.0.0.1:PORT --ca-file <cert-dir>/tls/ca.pem \
    ///     --access-key-id x --access-key-secret y bench kms --no-setup --duration 5
    #[command(verbatim_doc_comment)]
    Hello(BenchHelloArgs),
}

/// The actions `bench kms` can drive.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchAction {
    /// GenerateDataKey (32 bytes) under the key.
    #[value(name = "GenerateDataKey")]
    GenerateDataKey,
    /// Decrypt of one GenerateDataKey blob made at set-up.
    #[value(name = "Decrypt")]
    Decrypt,
    /// Encrypt of 1 KiB of plaintext.
    #[value(name = "Encrypt")]
    Encrypt,
    /// DescribeKey of the key.
    #[value(name = "DescribeKey")]
    DescribeKey,
    /// CreateKey (a durable write per call: a key row and its first version).
    #[value(name = "CreateKey")]
    CreateKey,
}

/// The signature scheme `bench kms` signs with.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchSignature {
    /// RPC v1 HMAC-SHA1, every parameter in the query (what the official SDKs send by default).
    V1,
    /// ACS3-HMAC-SHA256 in `Authorization`, with host and every x-acs-* header signed.
    Acs3,
}

/// `keywarden bench kms`.
#[derive(Args, Debug, Clone)]
pub struct BenchKmsArgs {
    /// The action to send.
    #[arg(long, value_enum, default_value_t = BenchAction::GenerateDataKey)]
    pub action: BenchAction,
    /// Keep-alive connections, each with one request in flight at a time.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub connections: u32,
    /// Seconds to measure (after the warm-up).
    #[arg(long, default_value_t = 10.0, value_parser = positive_secs)]
    pub duration: f64,
    /// Seconds of load before measuring (requests sent, not counted).
    #[arg(long, default_value_t = 0.0, value_parser = non_negative_secs)]
    pub warmup: f64,
    /// Signature scheme.
    #[arg(long, value_enum, default_value_t = BenchSignature::V1)]
    pub signature: BenchSignature,
    /// Use this key instead of creating one.
    #[arg(long)]
    pub key_id: Option<String>,
    /// Make no set-up call: use --key-id (or a dummy id) and, for Decrypt, a dummy blob. For
    /// targets that answer without checking (`bench hello`).
    #[arg(long)]
    pub no_setup: bool,
    /// Worker threads of the load generator (the server gets the rest of the machine).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub threads: u32,
    /// Print the figures as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `keywarden bench hello`.
#[derive(Args, Debug, Clone)]
pub struct BenchHelloArgs {
    /// Address to listen on (port 0 picks a free port; the endpoint is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Serve HTTPS with a generated CA and certificate.
    #[arg(long)]
    pub tls: bool,
    /// Where the TLS files go (under <DIR>/tls/, reused when present) [default: a new temporary
    /// directory, removed at exit].
    #[arg(long, requires = "tls")]
    pub cert_dir: Option<PathBuf>,
}

fn positive_secs(s: &str) -> Result<f64, String> {
    let v = non_negative_secs(s)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err("must be more than 0".into())
    }
}

fn non_negative_secs(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if v.is_finite() && (0.0..=86_400.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{s:?} is not within 0 to 86400 seconds"))
    }
}

/// Output file format of `encrypt`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    /// keywarden's streaming envelope (docs/FORMAT.md): parallel, authenticated per segment.
    Kenv,
    /// The 4-line base64 AES-EAX format of Alibaba's documented Python example.
    Seed,
}

/// `keywarden encrypt`.
#[derive(Args, Debug)]
pub struct EncryptArgs {
    /// CMK (id, alias or ARN) to wrap the data key under; repeat to add recipients.
    #[arg(long = "key-id", required = true)]
    pub key_ids: Vec<String>,
    /// Encryption context pair `name=value` (repeatable); needed again for nothing: it is stored in the header.
    #[arg(long = "context", value_parser = parse_pair)]
    pub context: Vec<(String, String)>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FileFormat::Kenv)]
    pub format: FileFormat,
    /// Encrypt a directory tree into a mirror tree (files get a `.kenv` / `.seed` suffix;
    /// refused if a new name is taken, e.g. `a` and a directory `a.kenv`).
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Replace an existing output, or write to an existing FIFO, device or link to one.
    #[arg(long)]
    pub force: bool,
    /// Plaintext bytes per segment (power of two, 4 KiB to 16 MiB).
    #[arg(long, default_value_t = 1 << 20, hide = true)]
    pub segment_size: u32,
    /// Input file, directory (with -r), or `-` for stdin.
    pub input: PathBuf,
    /// Output file, directory (with -r), or `-` for stdout. An existing file, symbolic link
    /// (e.g. /dev/stdout), FIFO or device is written only with --force (/dev/null needs none).
    #[arg(short = 'o', long)]
    pub output: PathBuf,
}

/// `keywarden decrypt`.
#[derive(Args, Debug)]
pub struct DecryptArgs {
    /// Decrypt a tree made by `encrypt -r`, restoring the original names (refused if two
    /// inputs, such as `x` and `x.kenv`, would get the same name).
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Replace an existing output, or write to an existing FIFO, device or link to one.
    #[arg(long)]
    pub force: bool,
    /// Random access (KENV files): first plaintext byte to output; only the segments the range touches are read.
    #[arg(long, conflicts_with = "recursive")]
    pub offset: Option<u64>,
    /// Random access (KENV files): number of plaintext bytes to output from --offset (default: to the end).
    #[arg(long, conflicts_with = "recursive")]
    pub length: Option<u64>,
    /// Input file, directory (with -r), or `-` for stdin.
    pub input: PathBuf,
    /// Output file, directory (with -r), or `-` for stdout. An existing file, symbolic link
    /// (e.g. /dev/stdout), FIFO or device is written only with --force (/dev/null needs none).
    /// Nothing unverified is ever written: a seed file reaches stdout, a FIFO or a device only
    /// once its tag verified, a KENV file one verified segment at a time.
    #[arg(short = 'o', long)]
    pub output: PathBuf,
}

/// `keywarden rewrap`.
#[derive(Args, Debug)]
pub struct RewrapArgs {
    /// The CMKs the data key is wrapped under afterwards (replaces the current list).
    #[arg(long = "key-id", required = true)]
    pub key_ids: Vec<String>,
    /// The KENV file, rewritten atomically.
    pub file: PathBuf,
}

/// `keywarden inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The file, or `-` for stdin.
    pub file: PathBuf,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("{s:?} is not name=value"))
}

/// `--store`: `sqlite` or a PostgreSQL URL.
fn parse_store(s: &str) -> Result<keywarden_server::StoreLocation, String> {
    keywarden_server::StoreLocation::parse(s)
}

/// `--cache-ttl`: `N` seconds or `Nms` milliseconds.
fn parse_ttl(s: &str) -> Result<std::time::Duration, String> {
    let (digits, millis) = match s.strip_suffix("ms") {
        Some(d) => (d, true),
        None => (s.strip_suffix('s').unwrap_or(s), false),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (2, 2s or 500ms)"))?;
    Ok(if millis {
        std::time::Duration::from_millis(n)
    } else {
        std::time::Duration::from_secs(n)
    })
}

/// `keywarden serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Data directory (created 0700): database, root key, TLS files, admin credentials. On a
    /// PostgreSQL store it holds only this node's TLS files, credentials and root key.
    #[arg(long, env = "KEYWARDEN_DATA_DIR", default_value = "./keywarden-data")]
    pub data_dir: PathBuf,
    /// Where keys, users and the audit trail live: `sqlite` (DATA_DIR/keywarden.db, one
    /// server) or a `postgres://user@host:port/database?sslmode=...` URL shared by several
    /// nodes (password in the URL, PGPASSWORD, or the file KEYWARDEN_STORE_PASSWORD_FILE).
    #[arg(long, env = "KEYWARDEN_STORE", default_value = "sqlite", value_parser = parse_store)]
    pub store: keywarden_server::StoreLocation,
    /// The root key file (default DATA_DIR/root.key); every node of one store needs the same.
    #[arg(long, env = "KEYWARDEN_ROOT_KEY_FILE")]
    pub root_key_file: Option<PathBuf>,
    /// Database connections this node opens at most (PostgreSQL store).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(2..))]
    pub store_connections: u32,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "KEYWARDEN_LISTEN", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Serve plain HTTP instead of HTTPS. For local development only: secrets cross the wire in clear.
    #[arg(long)]
    pub no_tls: bool,
    /// Extra DNS name or IP for the server certificate (repeatable).
    #[arg(long = "tls-san")]
    pub tls_sans: Vec<String>,
    /// Region id used in ARNs (recorded at first start).
    #[arg(long)]
    pub region: Option<String>,
    /// How long cached keys, aliases, credentials and policies are trusted before the store is
    /// read again: seconds (`2`) or milliseconds (`500ms`). Default 2 s on SQLite; 500 ms on a
    /// PostgreSQL store, where it may not exceed 1 s (the staleness bound between nodes).
    #[arg(long, value_parser = parse_ttl)]
    pub cache_ttl: Option<std::time::Duration>,
    /// Do not write a client profile pointing at this server.
    #[arg(long)]
    pub no_profile: bool,
    /// Certificate chain (PEM) to serve instead of the generated one; reloaded when it changes.
    #[arg(long, requires = "tls_key", conflicts_with = "no_tls")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM, mode 0600) of --tls-cert.
    #[arg(long, requires = "tls_cert", conflicts_with = "no_tls")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates issued by this CA (PEM).
    #[arg(long, conflicts_with = "no_tls")]
    pub tls_client_ca: Option<PathBuf>,
    /// Requests per second per access key (token bucket), counted by each node on its own; 0 turns rate limiting off.
    #[arg(long, default_value_t = 1000)]
    pub rate_limit: u32,
    /// Requests an idle access key may send at once [default: the --rate-limit value].
    #[arg(long)]
    pub rate_burst: Option<u32>,
    /// Connections served at once; more wait in the kernel's accept backlog.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Connections served at once from one client address; more are closed at once. Behind a
    /// load balancer (one address for every client) set it to --max-connections.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_ip: u32,
    /// Failed authentications per second per client address (token bucket); beyond it the
    /// address's requests get Throttling before any check. 0 turns it off.
    #[arg(long, default_value_t = 10)]
    pub auth_failure_rate: u32,
    /// Failed authentications an address may have at once.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub auth_failure_burst: u32,
    /// Seconds to receive a request's headers; also the idle keep-alive timeout.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,
    /// Seconds to receive a request's body.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout: u64,
    /// Seconds to complete a TLS handshake.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub tls_handshake_timeout: u64,
    /// Create a new installation in a data dir that holds other files. Without it, state (a
    /// root key, a database, an account) is created only in an absent or empty directory, and
    /// an existing installation must be whole: a missing or wrong root.key, database or
    /// instance.json refuses the start.
    #[arg(long)]
    pub init: bool,
    /// Keep audit records this many days: older ones are removed at start and hourly, and
    /// `keywarden audit --verify` proves the rest from the anchor the removal leaves. Without
    /// it nothing is ever removed.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub audit_retention: Option<u32>,
}

/// `keywarden kms <Action> [--Param value]...` (and `keywarden ram <Action> ...`).
#[derive(Args, Debug)]
pub struct KmsArgs {
    /// The API action, e.g. CreateKey, GenerateDataKey, Decrypt (kms); CreateUser,
    /// AttachPolicyToUser (ram).
    pub action: String,
    /// Action parameters as `--Name value` (or `--Name=value`) pairs.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub params: Vec<String>,
}

/// `keywarden configure`.
#[derive(Args, Debug)]
pub struct ConfigureArgs {
    /// Print the current profile (secret redacted) instead of writing it.
    #[arg(long)]
    pub show: bool,
}
