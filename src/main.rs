//! The Lambda bootstrap: logging, settings, the clients built once, the handler loop; or,
//! outside Lambda (no `AWS_LAMBDA_RUNTIME_API`), the operator command line. No logic lives here.

use std::process::ExitCode;

use entra_idc_sync::{Clients, Context, Settings, SyncError, cli_main, handle, init_logging};
use lambda_runtime::{Error, service_fn};

fn main() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return cli_main();
    }
    match lambda() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("entra-idc-sync: {error}");
            ExitCode::FAILURE
        }
    }
}

fn lambda() -> Result<(), Error> {
    fill_runtime_defaults();
    init_logging();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(serve())
}

async fn serve() -> Result<(), Error> {
    // Built once per execution environment; every invocation borrows it.
    let context = match Settings::from_env() {
        Ok(settings) => Clients::new(&settings).map(|clients| Context::new(settings, clients)),
        Err(error) => Err(SyncError::from(error)),
    };
    let context = &context;
    lambda_runtime::run(service_fn(move |event| handle(context, event))).await
}

/// lambda_runtime panics without these; Lambda always sets them, local Runtime API stand-ins
/// may not.
fn fill_runtime_defaults() {
    for (name, default) in [
        ("AWS_LAMBDA_FUNCTION_NAME", "entra-idc-sync"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ] {
        if std::env::var(name).map_or(true, |value| value.is_empty()) {
            // SAFETY: called before any other thread exists (no runtime is built yet).
            unsafe { std::env::set_var(name, default) };
        }
    }
}
