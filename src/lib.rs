//! entra-idc-sync: make Microsoft Entra ID provision to AWS IAM Identity Center now.
//!
//! Data flows one way. The Lambda entry point (`handler`) turns an invocation into a
//! [`SyncRequest`] (`request`); `main` has built the [`Settings`] (`config`) and every client
//! once (`clients`: the HTTP `transport`, the AWS SDK clients in `aws`, the Entra token client
//! in `entra` reading the credentials `secret`, the Graph client in `graph`); the use case for
//! the action (`usecase`) borrows them, and returns a [`Report`] (`report`). `transport`
//! bounds every answer (size, time) and `proxy` is the one proxy rule for it and the AWS
//! SDK. Around the trigger sit the restart-storm `guard`, the `health` judgement, the wait for
//! the new `cycle`, and CloudWatch `metrics`; `outcome` decides whether the invocation failed. The
//! domain's words (`domain`: [`Action`], [`ResetScope`], [`Target`]) are used by all and use
//! none; `sensitive` keeps secrets out of every output; `error` is the invocation's one error
//! type, [`SyncError`].
//!
//! The modules are private; what `main`, the tests and the fuzz targets use is re-exported
//! here, so the crate's public face is this list.

mod aws;
mod certificate;
mod checks;
mod claims;
mod cli;
mod clients;
mod config;
mod cycle;
mod domain;
mod entra;
mod error;
mod federation;
mod graph;
mod guard;
mod handler;
mod health;
mod logging;
mod metrics;
mod outcome;
mod permissions;
mod proxy;
mod report;
mod request;
mod secret;
mod sensitive;
mod state;
mod transport;
mod usecase;

// The entry point and what it wires.
/// The operator command line (the binary run outside Lambda).
pub use cli::main as cli_main;
pub use clients::Clients;
pub use config::{
    ConfigError, CredentialSource, Credentials, DEVELOPMENT_ENVIRONMENT, FUNCTION_ENVIRONMENT,
    Settings,
};
pub use error::SyncError;
pub use handler::handle;
pub use logging::init as init_logging;
pub use usecase::Context;

// The metric names the template's alarms watch.
pub use metrics::{NAMESPACE as METRICS_NAMESPACE, SUCCESSFUL_RUNS};

// The domain's words, the request and the report.
pub use domain::{Action, MAX_WAIT_LIMIT, ResetScope, Target, TenantId, parse_guid};
pub use report::Report;
pub use request::{Payload, REQUEST_FIELDS, RequestError, SyncRequest};

// The parsers and judges the property tests and fuzz targets drive.
pub use claims::{TokenClaims, decode as decode_token_claims};
pub use cycle::wait_for_cycle;
pub use graph::health::{ApplicationCredentials, ProvisioningEntry};
pub use graph::model::{
    Page, ServicePrincipal, SynchronizationJob, TaskExecution, is_placeholder_time, parse_time,
};
pub use guard::TriggerGuard;
pub use health::judge;
pub use secret::{ClientCredential, EntraCredentials, SECRET_KEYS, SecretError, SecretKeys};
pub use sensitive::Sensitive;
pub use transport::{Deadline, RetryPolicy, Transport, parse_retry_after};

// The clients, for tests that build them against local servers.
pub use aws::AwsClients;
pub use certificate::{CertificateCredential, CertificateError};
pub use entra::advice::ProofKind;
pub use entra::{Authenticator, Proof, TokenClient};
pub use federation::{
    ENTRA_AUDIENCE, FederationError, SIGNING_ALGORITHM, TOKEN_DURATION_SECONDS, WebIdentityTokens,
};
pub use graph::GraphClient;
pub use secret::SecretStore;
pub use state::{
    Acquired, Held, JobKey, JobState, Lease, LeaseTaken, MAX_ITEM_BYTES, ProvisionState, Snapshot,
    StateError, StateStore, StateUpdate,
};
