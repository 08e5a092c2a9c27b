//! The operator command line: the same binary, run outside Lambda, runs one action with the
//! function's configuration (environment variables, the standard AWS credential chain, the
//! same secret) through the same request parsing and use cases as an invocation, and prints
//! the report as a table or as JSON.
//!
//! Exit codes: 0 the action succeeded; 1 it failed (errorType and message on stderr);
//! 2 a usage or configuration error.

pub mod args;
mod render;

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::checks;
use crate::clients::Clients;
use crate::config::Settings;
use crate::error::SyncError;
use crate::handler;
use crate::logging;
use crate::report::Report;
use crate::request::Payload;
use crate::transport::Deadline;
use crate::usecase::Context;
use args::{Args, Command, USAGE};

/// Longer than any wait the use cases allow (Lambda's longest timeout) plus the checks.
const CLI_DEADLINE: Duration = Duration::from_secs(960);
const SUCCESS: u8 = 0;
const FAILED: u8 = 1;
const USAGE_ERROR: u8 = 2;

/// Runs the command line with the process's arguments.
pub fn main() -> ExitCode {
    let args = match args::parse(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::from(SUCCESS);
        }
        Ok(Command::Run(args)) => args,
        Err(error) => {
            eprintln!(
                "entra-idc-sync: {error}\nUsage: entra-idc-sync \
                 <restart|start|status|check|provision> [options]; --help lists them"
            );
            return ExitCode::from(USAGE_ERROR);
        }
    };
    logging::init_cli();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => ExitCode::from(runtime.block_on(run(&args))),
        Err(error) => {
            eprintln!("StartupError: the async runtime could not start: {error}");
            ExitCode::from(FAILED)
        }
    }
}

async fn run(args: &Args) -> u8 {
    let context = match build(args) {
        Ok(context) => context,
        Err(error) => return fail(args, &error),
    };
    let payload = Payload::new(args.request());
    let work = handler::run(&context, &payload, Deadline::after(CLI_DEADLINE));
    match with_progress(args.wait, work).await {
        Ok(report) => {
            print_report(args, &report);
            SUCCESS
        }
        Err(error) => fail(args, &error),
    }
}

/// The function's settings, with `--secret-id` in place of `SECRET_ID`, and its clients.
fn build(args: &Args) -> Result<Context, SyncError> {
    let settings = Settings::from_lookup(|name| match (name, &args.secret_id) {
        ("SECRET_ID", Some(secret_id)) => Some(secret_id.clone()),
        _ => std::env::var(name).ok(),
    })?;
    let clients = Clients::new(&settings)?;
    Ok(Context::new(settings, clients))
}

fn print_report(args: &Args, report: &Report) {
    let value = serde_json::to_value(report).unwrap_or(Value::Null);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
    } else {
        println!("{}", render::table(&value));
    }
}

/// Prints a failure: the error on stderr; the checks a `CheckFailed` carries on stdout.
fn fail(args: &Args, error: &SyncError) -> u8 {
    let checks = match error {
        SyncError::CheckFailed { checks, .. } => Some((
            format!("check: {}", checks::summarize(checks)),
            serde_json::to_value(checks).unwrap_or(Value::Null),
        )),
        _ => None,
    };
    if args.json {
        let mut body = json!({"errorType": error.error_type(), "errorMessage": error.to_string()});
        if let Some((_, checks)) = &checks {
            body["checks"] = checks.clone();
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        );
    } else if let Some((summary, checks)) = checks {
        println!(
            "{}",
            render::table(&json!({"summary": summary, "checks": checks}))
        );
    }
    eprintln!("{}: {error}", error.error_type());
    match error {
        SyncError::Config(_) | SyncError::Request(_) => USAGE_ERROR,
        _ => FAILED,
    }
}

/// Runs `work`; when `show` and stderr is a terminal, a line on stderr counts the seconds.
async fn with_progress<T>(show: bool, work: impl Future<Output = T>) -> T {
    if !(show && std::io::stderr().is_terminal()) {
        return work.await;
    }
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    tokio::pin!(work);
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            _ = ticks.tick() => {
                eprint!(
                    "\rwaiting for the provisioning cycle to finish... {}s",
                    started.elapsed().as_secs()
                );
                let _ = std::io::stderr().flush();
            }
        }
    };
    eprintln!();
    result
}
