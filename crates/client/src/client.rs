//! [`KmsClient`]: calls any KMS action over HTTP(S) with a pooled agent and returns the JSON
//! body, or a [`ClientError`] that tells an API error (with its code) from a transport failure;
//! [`ClientError::class`] says what it means ([`crate::class`]).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use crate::class::ErrorClass;
use crate::settings::Settings;
use crate::signer;

/// The KMS API version.
pub const KMS_VERSION: &str = "2016-01-20";

/// The RAM API version (users, access keys, policies), served on the same endpoint.
pub const RAM_VERSION: &str = "2015-05-01";

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with an API error.
    #[error("{action}: {code}: {message} (HTTP {status}, request {request_id})")]
    Api {
        /// The action called, e.g. `Decrypt`.
        action: String,
        /// HTTP status.
        status: u16,
        /// Wire code, e.g. `Forbidden.KeyNotFound`.
        code: String,
        /// Server message.
        message: String,
        /// Request id.
        request_id: String,
    },
    /// The server could not be reached or the connection failed.
    #[error("cannot reach the KMS at {endpoint}: {source}")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// The transport error.
        #[source]
        source: Box<ureq::Error>,
    },
    /// The answer was not the JSON the API promises.
    #[error("unexpected answer from the KMS: {0}")]
    Protocol(String),
    /// Local configuration problem (CA file, endpoint syntax).
    #[error("{0}")]
    Config(String),
}

impl ClientError {
    /// The API error code, when the server answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// What the failure means for the caller (see [`ErrorClass`]).
    pub fn class(&self) -> ErrorClass {
        ErrorClass::of(self)
    }
}

/// A KMS client. Cheap to share across threads.
pub struct KmsClient {
    settings: Settings,
    agent: ureq::Agent,
    host: String,
}

impl KmsClient {
    /// Builds a client (reads the CA file now).
    pub fn new(settings: Settings) -> Result<Self, ClientError> {
        let host = settings
            .endpoint
            .split_once("://")
            .map(|(_, rest)| rest)
            .ok_or_else(|| {
                ClientError::Config(format!(
                    "endpoint {:?} must start with https:// or http://",
                    settings.endpoint
                ))
            })?
            .trim_end_matches('/')
            .to_owned();
        let agent = agent(&settings)?;
        Ok(Self {
            settings,
            agent,
            host,
        })
    }

    /// The resolved settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Calls `action` with `params`; returns the response JSON (including `RequestId`).
    pub fn call(&self, action: &str, params: &[(String, String)]) -> Result<Value, ClientError> {
        self.call_version(KMS_VERSION, action, params)
    }

    /// Calls `action` of the product API `version` (e.g. [`RAM_VERSION`]) with `params`.
    ///
    /// A call refused with `Throttling` (the server's per-access-key rate limit; it did not run)
    /// is signed afresh and sent again after the `x-acs-retry-after` the server asked for, up to
    /// [`THROTTLE_RETRIES`] times; then the `Throttling` error is returned.
    pub fn call_version(
        &self,
        version: &str,
        action: &str,
        params: &[(String, String)],
    ) -> Result<Value, ClientError> {
        let mut retries = 0;
        loop {
            match self.call_once(version, action, params) {
                Attempt::Throttled(wait, _) if retries < THROTTLE_RETRIES => {
                    retries += 1;
                    std::thread::sleep(wait);
                }
                Attempt::Throttled(_, error) => return Err(error),
                Attempt::Done(result) => return result,
            }
        }
    }

    fn call_once(&self, version: &str, action: &str, params: &[(String, String)]) -> Attempt {
        match self.send(version, action, params) {
            Ok(value) => Attempt::Done(Ok(value)),
            Err((error, Some(wait))) => Attempt::Throttled(wait, error),
            Err((error, None)) => Attempt::Done(Err(error)),
        }
    }

    /// One signed request; an error comes with the wait the server asked for when it throttled.
    fn send(
        &self,
        version: &str,
        action: &str,
        params: &[(String, String)],
    ) -> Result<Value, (ClientError, Option<Duration>)> {
        let now = keywarden_core::dates::format_unix(keywarden_core::dates::now_unix());
        let signed = signer::sign_acs3(
            &self.host,
            action,
            version,
            params,
            &self.settings.access_key_id,
            self.settings.access_key_secret.expose_secret(),
            &now,
        );
        let url = format!("{}/?{}", self.settings.endpoint, signed.query);
        let mut req = self.agent.post(&url);
        for (name, value) in signed.headers.iter().filter(|(n, _)| n != "host") {
            req = req.header(name, value);
        }
        let mut resp = req.send_empty().map_err(|e| {
            let error = ClientError::Unreachable {
                endpoint: self.settings.endpoint.clone(),
                source: Box::new(e),
            };
            (error, None)
        })?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("x-acs-retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map(|ms| Duration::from_millis(ms.min(MAX_THROTTLE_WAIT_MS)));
        let text = resp
            .body_mut()
            .read_to_string()
            .map_err(|e| (ClientError::Protocol(e.to_string()), None))?;
        let json: Value = serde_json::from_str(&text).map_err(|_| {
            let error = ClientError::Protocol(format!(
                "HTTP {status}, body is not JSON: {}",
                text.chars().take(200).collect::<String>()
            ));
            (error, None)
        })?;
        if (200..300).contains(&status) {
            return Ok(json);
        }
        let field = |k: &str| {
            json.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let code = field("Code");
        let throttled = (code == "Throttling").then_some(retry_after).flatten();
        let error = ClientError::Api {
            action: action.to_owned(),
            status,
            code,
            message: field("Message"),
            request_id: field("RequestId"),
        };
        Err((error, throttled))
    }
}

/// How many times a throttled call is sent again.
pub const THROTTLE_RETRIES: u32 = 8;

/// The longest wait honoured from one `x-acs-retry-after`, in milliseconds.
const MAX_THROTTLE_WAIT_MS: u64 = 5_000;

/// The outcome of one attempt.
enum Attempt {
    /// Throttled: wait this long before trying again.
    Throttled(Duration, ClientError),
    /// Answered (or failed otherwise).
    Done(Result<Value, ClientError>),
}

fn agent(settings: &Settings) -> Result<ureq::Agent, ClientError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = TlsConfig::builder().unversioned_rustls_crypto_provider(provider);
    let ca = settings.ca_file.clone().or_else(|| {
        let system = std::path::PathBuf::from("/etc/ssl/certs/ca-certificates.crt");
        system.exists().then_some(system)
    });
    if let Some(path) = ca {
        let pem = std::fs::read(&path)
            .map_err(|e| ClientError::Config(format!("CA file {}: {e}", path.display())))?;
        let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(ClientError::Config(format!(
                "CA file {} holds no certificate",
                path.display()
            )));
        }
        tls = tls.root_certs(RootCerts::Specific(Arc::new(certs)));
    }
    let config = ureq::Agent::config_builder()
        .tls_config(tls.build())
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(5)))
        .timeout_global(Some(Duration::from_secs(30)))
        .max_idle_connections_per_host(16)
        .build();
    Ok(config.into())
}
