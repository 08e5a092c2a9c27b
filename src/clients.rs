//! The composition root: every client the use cases call, built once per execution
//! environment from the [`Settings`]. `main` owns the result; the use cases borrow it, so warm
//! invocations reuse connections, the cached secret and the cached token.
//!
//! Nothing here talks to the network: the HTTP clients connect on first call and the AWS SDK
//! clients are built on first use ([`AwsClients`]).

use std::sync::Arc;

use crate::aws::AwsClients;
use crate::config::{Credentials, Settings};
use crate::entra::{Authenticator, TokenClient};
use crate::error::SyncError;
use crate::federation::WebIdentityTokens;
use crate::graph::GraphClient;
use crate::secret::SecretStore;
use crate::state::StateStore;
use crate::transport::{RetryPolicy, Transport};

pub struct Clients {
    /// The one HTTP stack (timeouts, retries, deadline) for Entra, Graph and any new HTTPS API.
    pub transport: Arc<Transport>,
    /// Secrets Manager or STS (the credential source) and DynamoDB, each built lazily.
    pub aws: Arc<AwsClients>,
    /// Graph bearer tokens from the credentials secret (or STS) and Entra's token endpoint, cached.
    pub auth: Arc<Authenticator>,
    pub graph: GraphClient,
    /// The DynamoDB state table, when `STATE_TABLE` is set; its client is built on first use.
    pub state: Option<StateStore>,
}

impl Clients {
    pub fn new(settings: &Settings) -> Result<Self, SyncError> {
        let transport = Transport::new(settings.http_timeout, RetryPolicy::default())
            .map(Arc::new)
            .map_err(|error| SyncError::Startup(format!("the HTTP client failed: {error}")))?;
        let aws = Arc::new(AwsClients::new());
        let tokens = TokenClient::new(
            transport.clone(),
            settings.endpoints.authority.clone(),
            settings.endpoints.scope.clone(),
        );
        let auth = Arc::new(match &settings.credentials {
            Credentials::Secret { secret_id } => {
                Authenticator::new(SecretStore::new(secret_id.clone(), aws.clone()), tokens)
            }
            Credentials::AwsFederation {
                tenant_id,
                client_id,
            } => Authenticator::federated(
                tenant_id.clone(),
                client_id.clone(),
                WebIdentityTokens::new(aws.clone()),
                tokens,
            ),
        });
        let graph = GraphClient::new(transport.clone(), auth.clone(), &settings.endpoints.graph);
        let state = settings
            .state_table
            .clone()
            .map(|table| StateStore::dynamodb(table, aws.clone()));
        Ok(Self {
            transport,
            aws,
            auth,
            graph,
            state,
        })
    }
}
