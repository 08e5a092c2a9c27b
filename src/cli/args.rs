//! The command line's words -> the same request object an invocation payload carries, so the
//! command line and the Lambda share one validation and one use-case path.

use std::ffi::OsString;

use serde_json::{Map, Value, json};

pub const USAGE: &str = "\
Usage: entra-idc-sync <restart|start|status|check|provision> [options]

Runs one action against the IAM Identity Center enterprise app's provisioning, with the
function's configuration: the same environment variables (SECRET_ID, APP_DISPLAY_NAME,
SERVICE_PRINCIPAL_ID, AZURE_CLOUD, ...) and the standard AWS credential chain (AWS_PROFILE,
SSO, environment).

Options:
  --json                       print the report as JSON instead of a table
  --dry-run                    say what would be triggered; change nothing
  --force                      trigger even when the restart-storm guard would not
  --wait                       wait for the triggered cycle to finish (progress on a terminal)
  --job ID                     act on this synchronization job only
  --reset-scope SCOPE          restart criteria, e.g. Watermark,Escrows
  --user X                     provision this user (object id or UPN); repeatable
  --group X                    provision this group (object id or display name); repeatable
  --service-principal-id ID    the enterprise app's object id (instead of SERVICE_PRINCIPAL_ID)
  --app-display-name NAME      the enterprise app's display name (instead of APP_DISPLAY_NAME)
  --secret-id ID               the Secrets Manager secret (instead of SECRET_ID)
  --help                       print this help

Exit codes: 0 the action succeeded, 1 it failed (errorType and message on stderr),
2 a usage or configuration error.";

const ACTIONS: &[&str] = &["restart", "start", "status", "check", "provision"];

/// What the command line asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    pub action: String,
    pub json: bool,
    pub dry_run: bool,
    pub force: bool,
    pub wait: bool,
    pub job: Option<String>,
    pub reset_scope: Option<String>,
    pub users: Vec<String>,
    pub groups: Vec<String>,
    pub service_principal_id: Option<String>,
    pub app_display_name: Option<String>,
    pub secret_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Run(Args),
}

impl Args {
    /// The invocation payload these arguments stand for (camelCase, as in events/).
    pub fn request(&self) -> Value {
        let mut request = Map::new();
        request.insert("action".into(), json!(self.action));
        let flags = [
            ("dryRun", self.dry_run),
            ("force", self.force),
            ("wait", self.wait),
        ];
        for (field, on) in flags {
            if on {
                request.insert(field.into(), json!(true));
            }
        }
        let texts = [
            ("jobId", &self.job),
            ("resetScope", &self.reset_scope),
            ("servicePrincipalId", &self.service_principal_id),
            ("appDisplayName", &self.app_display_name),
        ];
        for (field, value) in texts {
            if let Some(value) = value {
                request.insert(field.into(), json!(value));
            }
        }
        for (field, values) in [("users", &self.users), ("groups", &self.groups)] {
            if !values.is_empty() {
                request.insert(field.into(), json!(values));
            }
        }
        Value::Object(request)
    }
}

/// Parses the arguments after the program name. Errors are one line for stderr.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let mut parsed = Args::default();
    let mut action: Option<String> = None;
    while let Some(arg) = parser.next().map_err(|error| error.to_string())? {
        match arg {
            Long("help") | Short('h') => return Ok(Command::Help),
            Long("json") => parsed.json = true,
            Long("dry-run") => parsed.dry_run = true,
            Long("force") => parsed.force = true,
            Long("wait") => parsed.wait = true,
            Long("job") => parsed.job = Some(text(&mut parser, "--job")?),
            Long("reset-scope") => parsed.reset_scope = Some(text(&mut parser, "--reset-scope")?),
            Long("user") => parsed.users.push(text(&mut parser, "--user")?),
            Long("group") => parsed.groups.push(text(&mut parser, "--group")?),
            Long("service-principal-id") => {
                parsed.service_principal_id = Some(text(&mut parser, "--service-principal-id")?)
            }
            Long("app-display-name") => {
                parsed.app_display_name = Some(text(&mut parser, "--app-display-name")?)
            }
            Long("secret-id") => parsed.secret_id = Some(text(&mut parser, "--secret-id")?),
            Value(value) if action.is_none() => {
                let value = value
                    .into_string()
                    .map_err(|_| "the action is not valid text".to_string())?;
                if !ACTIONS.contains(&value.as_str()) {
                    return Err(format!(
                        "unknown action {value:?}: use one of {}",
                        ACTIONS.join(", ")
                    ));
                }
                action = Some(value);
            }
            Value(value) => {
                return Err(format!(
                    "unexpected argument {:?}: give one action, then options",
                    value.to_string_lossy()
                ));
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    parsed.action =
        action.ok_or_else(|| format!("no action given: use one of {}", ACTIONS.join(", ")))?;
    Ok(Command::Run(parsed))
}

fn text(parser: &mut lexopt::Parser, option: &str) -> Result<String, String> {
    parser
        .value()
        .map_err(|error| error.to_string())?
        .into_string()
        .map_err(|_| format!("{option} needs valid text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(words: &[&str]) -> Result<Command, String> {
        parse(words.iter().map(OsString::from))
    }

    #[test]
    fn every_option_reaches_the_request() {
        let Command::Run(args) = run(&[
            "provision",
            "--json",
            "--dry-run",
            "--user",
            "jane@contoso.com",
            "--user=bob@contoso.com",
            "--group",
            "AWS Admins",
            "--job",
            "AWSSCIM.a.b",
            "--app-display-name",
            "AWS IAM Identity Center",
            "--secret-id",
            "entra/creds",
        ])
        .unwrap() else {
            panic!("not a run")
        };
        assert!(args.json);
        assert_eq!(args.secret_id.as_deref(), Some("entra/creds"));
        assert_eq!(
            args.request(),
            json!({"action":"provision","dryRun":true,"jobId":"AWSSCIM.a.b",
                   "appDisplayName":"AWS IAM Identity Center",
                   "users":["jane@contoso.com","bob@contoso.com"],"groups":["AWS Admins"]})
        );
    }

    #[test]
    fn options_may_come_before_the_action() {
        let Command::Run(args) =
            run(&["--wait", "--force", "restart", "--reset-scope", "Full"]).unwrap()
        else {
            panic!("not a run")
        };
        assert_eq!(
            args.request(),
            json!({"action":"restart","force":true,"wait":true,"resetScope":"Full"})
        );
    }

    #[test]
    fn usage_errors_say_what_is_wrong() {
        for (words, expected) in [
            (vec![], "no action"),
            (vec!["reboot"], "unknown action \"reboot\""),
            (vec!["check", "status"], "unexpected argument \"status\""),
            (vec!["check", "--frobnicate"], "--frobnicate"),
            (vec!["check", "--job"], "--job"),
        ] {
            let error = run(&words).unwrap_err();
            assert!(error.contains(expected), "{words:?}: {error}");
        }
        assert_eq!(run(&["check", "--help"]).unwrap(), Command::Help);
    }
}
