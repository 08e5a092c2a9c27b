//! The AWS SDK clients, each built on first use from one SDK configuration that is itself
//! loaded on first use: a cold start does no AWS work, and an invocation that needs no AWS
//! service builds no client for it.
//!
//! Adding a service (DynamoDB, STS, ...): add its crate, then a `OnceCell` field and a getter
//! shaped like [`AwsClients::secrets_manager`]. The use case that needs it calls the getter.

use aws_config::{BehaviorVersion, SdkConfig};
use tokio::sync::OnceCell;

/// One per execution environment, shared (behind an `Arc`) by whatever calls AWS.
#[derive(Default)]
pub struct AwsClients {
    config: OnceCell<SdkConfig>,
    secrets_manager: OnceCell<aws_sdk_secretsmanager::Client>,
    sts: OnceCell<aws_sdk_sts::Client>,
}

impl AwsClients {
    pub fn new() -> Self {
        Self::default()
    }

    pub async fn secrets_manager(&self) -> &aws_sdk_secretsmanager::Client {
        self.secrets_manager
            .get_or_init(|| async { aws_sdk_secretsmanager::Client::new(self.config().await) })
            .await
    }

    /// STS, for outbound identity federation only. Its endpoint is the regional one the SDK
    /// resolves from AWS_REGION (the global endpoint does not serve GetWebIdentityToken);
    /// AWS_ENDPOINT_URL_STS overrides it.
    pub async fn sts(&self) -> &aws_sdk_sts::Client {
        self.sts
            .get_or_init(|| async { aws_sdk_sts::Client::new(self.config().await) })
            .await
    }

    /// Region, credentials and endpoint overrides (`AWS_ENDPOINT_URL_*`) as the SDK reads them
    /// from the environment; read once, shared by every service client.
    async fn config(&self) -> &SdkConfig {
        self.config
            .get_or_init(|| aws_config::load_defaults(BehaviorVersion::latest()))
            .await
    }
}
