//! The AWS SDK clients, each built on first use from one SDK configuration that is itself
//! loaded on first use: a cold start does no AWS work, and an invocation that needs no AWS
//! service builds no client for it.
//!
//! Adding a service (DynamoDB, STS, ...): add its crate, then a `OnceCell` field and a getter
//! shaped like [`AwsClients::secrets_manager`]. The use case that needs it calls the getter.

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use tokio::sync::OnceCell;

/// One per execution environment, shared (behind an `Arc`) by whatever calls AWS.
#[derive(Default)]
pub struct AwsClients {
    config: OnceCell<SdkConfig>,
    secrets_manager: OnceCell<aws_sdk_secretsmanager::Client>,
    sts: OnceCell<aws_sdk_sts::Client>,
    dynamodb: OnceCell<aws_sdk_dynamodb::Client>,
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

    pub async fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        self.dynamodb
            .get_or_init(|| async { aws_sdk_dynamodb::Client::new(self.config().await) })
            .await
    }

    /// Region, credentials and endpoint overrides (`AWS_ENDPOINT_URL_*`) as the SDK reads them
    /// from the environment, with our proxy rule ([`crate::proxy`]); read once, shared by every
    /// service client.
    async fn config(&self) -> &SdkConfig {
        self.config.get_or_init(crate::proxy::aws_sdk_config).await
    }
}

/// The AWS error code of a failed call. An answer the SDK cannot parse (moto and some proxies
/// send XML where JSON is expected) still has a status worth reading: 403 is access denied.
pub(crate) fn error_code<E: ProvideErrorMetadata>(error: &SdkError<E>) -> Option<&str> {
    match (
        error.code(),
        error.raw_response().map(|raw| raw.status().as_u16()),
    ) {
        (Some(code), _) => Some(code),
        (None, Some(403)) => Some("AccessDeniedException"),
        (None, _) => None,
    }
}

/// Why a call got no usable answer, from the SDK's error text (`DisplayErrorContext`), as
/// an instruction where the cause is a missing setting.
pub(crate) fn unavailable_detail(detail: &str) -> String {
    if detail.contains("MissingSigningRegion") {
        "no AWS region: Lambda sets AWS_REGION itself; elsewhere set AWS_REGION".into()
    } else if detail.contains("CredentialsNotLoaded") {
        "no AWS credentials: in Lambda the function's role provides them; elsewhere set \
         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
            .into()
    } else {
        without_debug_dump(detail).chars().take(400).collect()
    }
}

/// The SDK's error text ends with a Debug dump of the error, ` (DispatchFailure(…))`: drop
/// it, keep the readable chain before it.
fn without_debug_dump(text: &str) -> &str {
    let is_dump = |rest: &str| {
        let name_len = rest.chars().take_while(char::is_ascii_alphanumeric).count();
        rest.starts_with(|c: char| c.is_ascii_uppercase())
            && rest[name_len..].trim_start().starts_with(['(', '{'])
    };
    text.match_indices(" (")
        .find(|(at, _)| is_dump(&text[at + 2..]))
        .map_or(text, |(at, _)| &text[..at])
}
