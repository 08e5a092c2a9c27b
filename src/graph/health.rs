//! The Graph reads and calls behind the `check` action: the function's own app registration
//! (its credentials' expiry), the SCIM connection test, and the provisioning log.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::model::{Page, null_as_empty_list};
use super::{GraphClient, GraphError, Operation, QUERY_VALUE, Traced, parse_json};
use crate::transport::Deadline;
use percent_encoding::utf8_percent_encode;

/// At most this many failures are listed; the log itself has them all.
pub const PROVISIONING_LOG_TOP: usize = 10;

/// `GET /applications(appId=…)?$select=passwordCredentials,keyCredentials`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct ApplicationCredentials {
    #[serde(deserialize_with = "null_as_empty_list")]
    pub password_credentials: Vec<PasswordCredential>,
    #[serde(deserialize_with = "null_as_empty_list")]
    pub key_credentials: Vec<KeyCredential>,
}

/// A client secret as Graph describes it; the value itself is never returned.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct PasswordCredential {
    pub display_name: Option<String>,
    pub end_date_time: Option<String>,
    /// The secret's first three characters.
    pub hint: Option<String>,
    pub key_id: Option<String>,
    pub start_date_time: Option<String>,
}

/// A certificate registered on the app.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct KeyCredential {
    /// The certificate's SHA-1 thumbprint, base64 (Edm.Binary).
    pub custom_key_identifier: Option<String>,
    pub display_name: Option<String>,
    pub end_date_time: Option<String>,
    pub key_id: Option<String>,
    pub start_date_time: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub usage: Option<String>,
}

/// One entry of the provisioning log (`provisioningObjectSummary`), the fields we list.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct ProvisioningEntry {
    pub activity_date_time: Option<String>,
    pub job_id: Option<String>,
    pub provisioning_action: Option<String>,
    pub source_identity: Option<ProvisionedIdentity>,
    pub target_identity: Option<ProvisionedIdentity>,
    pub provisioning_status_info: Option<ProvisioningStatusInfo>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct ProvisionedIdentity {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub identity_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct ProvisioningStatusInfo {
    pub status: Option<String>,
    pub error_information: Option<ProvisioningErrorInformation>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct ProvisioningErrorInformation {
    pub error_code: Option<String>,
    pub reason: Option<String>,
    pub additional_details: Option<String>,
    pub error_category: Option<String>,
    pub recommended_action: Option<String>,
}

impl GraphClient {
    /// The function's own app registration, by its client id, with only its credentials.
    pub async fn application_credentials(
        &self,
        client_id: &str,
        deadline: &Deadline,
    ) -> Result<Traced<ApplicationCredentials>, GraphError> {
        let mut url = self.url(&[&format!("applications(appId='{}')", odata_quote(client_id))]);
        url.set_query(Some("$select=passwordCredentials,keyCredentials"));
        self.get_one(url, Operation::ReadApplication, deadline)
            .await
    }

    /// Entra's "Test connection": it calls IAM Identity Center's SCIM endpoint with the saved
    /// token. `Ok` is Graph's 204.
    pub async fn validate_credentials(
        &self,
        service_principal_id: &str,
        job_id: &str,
        deadline: &Deadline,
    ) -> Result<Traced<()>, GraphError> {
        let url = self.job_url(
            service_principal_id,
            job_id,
            Some("validateCredentials"),
            Operation::ValidateCredentials,
        )?;
        let body = json!({ "useSavedCredentials": true });
        let (_, request_id) = self
            .call(
                Method::POST,
                url,
                Some(body),
                Operation::ValidateCredentials,
                deadline,
            )
            .await?;
        Ok(Traced {
            value: (),
            request_ids: request_id.into_iter().collect(),
        })
    }

    /// The job's failed provisioning events since `since`, newest first as Graph returns them,
    /// at most [`PROVISIONING_LOG_TOP`]; one page only.
    pub async fn provisioning_failures(
        &self,
        job_id: &str,
        since: OffsetDateTime,
        deadline: &Deadline,
    ) -> Result<Traced<Vec<ProvisioningEntry>>, GraphError> {
        let mut url = self.url(&["auditLogs", "provisioning"]);
        url.set_query(Some(&provisioning_failures_query(job_id, since)));
        let operation = Operation::ReadProvisioningLog;
        let (response, request_id) = self
            .call(Method::GET, url, None, operation, deadline)
            .await?;
        let page: Page<ProvisioningEntry> = parse_json(response, operation).await?;
        Ok(Traced {
            value: page.value,
            request_ids: request_id.into_iter().collect(),
        })
    }
}

/// An OData string literal's content: a quote is doubled.
fn odata_quote(text: &str) -> String {
    text.replace('\'', "''")
}

/// `$filter=jobId eq '…' and provisioningStatusInfo/status eq 'failure' and activityDateTime
/// ge 2026-11-28T09:00:00Z&$top=10`; the date is an unquoted DateTimeOffset literal.
fn provisioning_failures_query(job_id: &str, since: OffsetDateTime) -> String {
    let since = since
        .replace_nanosecond(0)
        .unwrap_or(since)
        .format(&Rfc3339)
        .unwrap_or_default();
    let filter = format!(
        "jobId eq '{}' and provisioningStatusInfo/status eq 'failure' and activityDateTime ge {since}",
        odata_quote(job_id)
    );
    format!(
        "$filter={}&$top={PROVISIONING_LOG_TOP}",
        utf8_percent_encode(&filter, QUERY_VALUE)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_filter_is_graph_side_with_an_unquoted_date() {
        let since = OffsetDateTime::parse("2026-11-28T09:00:00.123Z", &Rfc3339).unwrap();
        let query = provisioning_failures_query("AWSSCIM.a'b.c", since);
        let decoded = percent_encoding::percent_decode_str(&query)
            .decode_utf8()
            .unwrap();
        assert_eq!(
            decoded,
            "$filter=jobId eq 'AWSSCIM.a''b.c' and provisioningStatusInfo/status eq 'failure' \
             and activityDateTime ge 2026-11-28T09:00:00Z&$top=10"
        );
        assert!(!query.contains(' '), "{query}");
    }

    #[test]
    fn credentials_and_log_entries_read_microsofts_shapes() {
        let app: ApplicationCredentials = serde_json::from_str(
            r#"{"@odata.context":"x","passwordCredentials":[{"customKeyIdentifier":null,
              "displayName":"lambda","endDateTime":"2027-05-01T00:00:00Z","hint":"abc",
              "keyId":"k1","secretText":null,"startDateTime":"2025-05-01T00:00:00Z"}],
              "keyCredentials":null}"#,
        )
        .unwrap();
        assert_eq!(app.password_credentials[0].hint.as_deref(), Some("abc"));
        assert!(app.key_credentials.is_empty());
        let entry: ProvisioningEntry = serde_json::from_str(
            r#"{"activityDateTime":"2026-11-28T09:10:00Z","jobId":"j","provisioningAction":"create",
              "sourceIdentity":{"id":"u1","displayName":"Jane","identityType":"User","details":{}},
              "provisioningStatusInfo":{"status":"failure","errorInformation":{"errorCode":"EntryConflict",
              "reason":"duplicate","recommendedAction":"fix it"}}}"#,
        )
        .unwrap();
        let error = entry
            .provisioning_status_info
            .and_then(|info| info.error_information)
            .unwrap();
        assert_eq!(error.error_code.as_deref(), Some("EntryConflict"));
    }
}
