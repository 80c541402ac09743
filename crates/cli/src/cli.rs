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
    /// Run the KMS server (embedded SQLite store, TLS with a generated CA).
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
    /// Benchmarks behind docs/PERFORMANCE.md.
    Bench(BenchArgs),
    /// Print the audit trail (one JSON object per line) and verify its hash chain.
    Audit(AuditArgs),
}

/// `keywarden audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Data directory of the server whose trail to read (read-only; the server may be running).
    #[arg(long, env = "KEYWARDEN_DATA_DIR", default_value = "./keywarden-data")]
    pub data_dir: PathBuf,
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
    /// Do not print the records (only verify).
    #[arg(short, long)]
    pub quiet: bool,
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
    /// Encrypt a directory tree into a mirror tree (files get a `.kenv` / `.seed` suffix).
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Replace an existing output.
    #[arg(long)]
    pub force: bool,
    /// Plaintext bytes per segment (power of two, 4 KiB to 16 MiB).
    #[arg(long, default_value_t = 1 << 20, hide = true)]
    pub segment_size: u32,
    /// Input file, directory (with -r), or `-` for stdin.
    pub input: PathBuf,
    /// Output file, directory (with -r), or `-` for stdout.
    #[arg(short = 'o', long)]
    pub output: PathBuf,
}

/// `keywarden decrypt`.
#[derive(Args, Debug)]
pub struct DecryptArgs {
    /// Decrypt a tree made by `encrypt -r`, restoring the original names.
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Replace an existing output.
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
    /// Output file, directory (with -r), or `-` for stdout.
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

/// `keywarden serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Data directory (created 0700): database, root key, TLS files, admin credentials.
    #[arg(long, env = "KEYWARDEN_DATA_DIR", default_value = "./keywarden-data")]
    pub data_dir: PathBuf,
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
    /// Seconds a node trusts cached key state before re-reading the store.
    #[arg(long, default_value_t = 2)]
    pub cache_ttl: u64,
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
    /// Requests per second per access key (token bucket); 0 turns rate limiting off.
    #[arg(long, default_value_t = 1000)]
    pub rate_limit: u32,
    /// Requests an idle access key may send at once [default: the --rate-limit value].
    #[arg(long)]
    pub rate_burst: Option<u32>,
    /// Connections served at once; more wait in the kernel's accept backlog.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Seconds to receive a request's headers; also the idle keep-alive timeout.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,
    /// Seconds to receive a request's body.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout: u64,
    /// Seconds to complete a TLS handshake.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub tls_handshake_timeout: u64,
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
