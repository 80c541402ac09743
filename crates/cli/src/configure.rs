//! `keywarden configure`: writes the client profile (0600) from the flags and environment, or
//! shows it with the secret redacted.

use std::io::BufRead;

use keywarden_client::profile::{self, Profile};

use crate::cli::{ClientArgs, ConfigureArgs};
use crate::exit::{CREDENTIALS, fail};

/// Runs the command.
pub fn run(client: &ClientArgs, args: ConfigureArgs) -> anyhow::Result<()> {
    let path = client
        .profile
        .clone()
        .or_else(profile::default_path)
        .ok_or_else(|| fail(CREDENTIALS, "no profile path: set HOME or KEYWARDEN_CONFIG"))?;
    let mut p = profile::load(&path)?;
    if args.show {
        if p.access_key_secret.is_some() {
            p.access_key_secret = Some("********".into());
        }
        println!("{}", serde_json::to_string_pretty(&p)?);
        return Ok(());
    }
    merge(&mut p, client)?;
    profile::save(&path, &p)?;
    eprintln!("keywarden: profile written to {}", path.display());
    Ok(())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn merge(p: &mut Profile, c: &ClientArgs) -> anyhow::Result<()> {
    if let Some(e) = c.endpoint.clone().or_else(|| env("KEYWARDEN_ENDPOINT")) {
        p.endpoint = Some(e);
    }
    if let Some(ca) = c
        .ca_file
        .clone()
        .or_else(|| env("KEYWARDEN_CA_FILE").map(Into::into))
    {
        p.ca_file = Some(std::path::absolute(ca)?);
    }
    if let Some(id) = c
        .access_key_id
        .clone()
        .or_else(|| env("ALIBABA_CLOUD_ACCESS_KEY_ID"))
    {
        let secret = match c
            .access_key_secret
            .clone()
            .or_else(|| env("ALIBABA_CLOUD_ACCESS_KEY_SECRET"))
        {
            Some(s) => s,
            None => read_secret_line()?,
        };
        p.access_key_id = Some(id);
        p.access_key_secret = Some(secret);
        p.credentials_file = None;
    }
    Ok(())
}

fn read_secret_line() -> anyhow::Result<String> {
    eprint!("AccessKeySecret: ");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let secret = line.trim().to_owned();
    if secret.is_empty() {
        return Err(fail(CREDENTIALS, "no access key secret given"));
    }
    Ok(secret)
}
