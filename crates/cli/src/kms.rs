//! `keywarden kms <Action> [--Name value]...`: any KMS API action, printed as pretty JSON;
//! `keywarden ram <Action> ...` the same for the RAM API (users, access keys, policies).

use keywarden_client::KmsClient;
use keywarden_client::client::RAM_VERSION;
use keywarden_client::settings::{Overrides, Settings};

use keywarden_server::action::Product;
use keywarden_server::table;

use crate::cli::{Cli, ClientArgs, KmsArgs};
use crate::exit::{USAGE, fail};

/// Parses the command line; `kms --help` and `ram --help` list the actions the server's action
/// table serves (`keywarden_server::table`), so the list cannot drift from the server.
pub fn parse_args() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let command = Cli::command()
        .mut_subcommand("kms", |c| c.after_help(action_list(Product::Kms)))
        .mut_subcommand("ram", |c| c.after_help(action_list(Product::Ram)));
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// `Actions (<version>): A, B, ...`, wrapped, with `[DryRun]` marks.
fn action_list(product: Product) -> String {
    let mut out = format!(
        "Actions ({} {}; * = supports DryRun):\n",
        product.prefix(),
        product.version()
    );
    let mut line = String::from(" ");
    for action in table::actions(product) {
        let item = format!(" {}{}", action.name, if action.dry_run { "*" } else { "" });
        if line.len() + item.len() > 78 {
            out.push_str(&line);
            out.push('\n');
            line = String::from(" ");
        }
        line.push_str(&item);
    }
    out.push_str(&line);
    out
}

/// Builds a client from flags, environment and profile.
pub fn client(args: &ClientArgs) -> anyhow::Result<KmsClient> {
    let overrides = Overrides {
        endpoint: args.endpoint.clone(),
        access_key_id: args.access_key_id.clone(),
        access_key_secret: args.access_key_secret.clone(),
        ca_file: args.ca_file.clone(),
        profile: args.profile.clone(),
    };
    Ok(KmsClient::new(Settings::resolve(&overrides)?)?)
}

/// Runs the command.
pub fn run(client_args: &ClientArgs, args: KmsArgs) -> anyhow::Result<()> {
    let params = parse_params(&args.params)?;
    let response = client(client_args)?.call(&args.action, &params)?;
    println!("{}", serde_json::to_string_pretty(&response)?);
    Ok(())
}

/// Runs `keywarden ram`.
pub fn run_ram(client_args: &ClientArgs, args: KmsArgs) -> anyhow::Result<()> {
    let params = parse_params(&args.params)?;
    let response = client(client_args)?.call_version(RAM_VERSION, &args.action, &params)?;
    println!("{}", serde_json::to_string_pretty(&response)?);
    Ok(())
}

/// `--Name value` / `--Name=value` pairs → parameters.
fn parse_params(raw: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut it = raw.iter();
    while let Some(arg) = it.next() {
        let Some(name) = arg.strip_prefix("--") else {
            return Err(fail(USAGE, format!("expected --Name value, found {arg:?}")));
        };
        let (name, value) = match name.split_once('=') {
            Some((n, v)) => (n.to_owned(), v.to_owned()),
            None => {
                let v = it
                    .next()
                    .ok_or_else(|| fail(USAGE, format!("--{name} needs a value")))?;
                (name.to_owned(), v.clone())
            }
        };
        if name.is_empty() {
            return Err(fail(USAGE, "empty parameter name"));
        }
        out.push((name, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params() {
        let raw: Vec<String> = [
            "--KeyId",
            "alias/x",
            "--NumberOfBytes=16",
            "--Plaintext",
            "--dash",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let p = parse_params(&raw).unwrap();
        assert_eq!(p[0], ("KeyId".into(), "alias/x".into()));
        assert_eq!(p[1], ("NumberOfBytes".into(), "16".into()));
        assert_eq!(p[2], ("Plaintext".into(), "--dash".into()));
        assert!(parse_params(&["KeyId".into()]).is_err());
        assert!(parse_params(&["--KeyId".into()]).is_err());
    }
}
