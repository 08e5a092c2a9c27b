//! The Lambda bootstrap: logging, state built once, the handler loop. No logic lives here.

use entra_idc_sync::config::Settings;
use entra_idc_sync::error::SyncError;
use entra_idc_sync::sync::SyncService;
use entra_idc_sync::{handler, logging};
use lambda_runtime::{Error, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    logging::init();
    let service = Settings::from_env()
        .map_err(SyncError::from)
        .and_then(SyncService::new);
    let service = &service;
    lambda_runtime::run(service_fn(move |event| handler::handle(service, event))).await
}
