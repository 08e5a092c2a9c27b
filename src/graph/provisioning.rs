//! Provision on demand: the job's schema (where the rule id comes from) and the
//! `provisionOnDemand` call itself.

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::{GraphClient, GraphError, Operation, Traced};
use crate::transport::Deadline;

/// The part of a `synchronizationSchema` provision needs.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct SynchronizationSchema {
    #[serde(deserialize_with = "super::model::null_as_empty_list")]
    pub synchronization_rules: Vec<SynchronizationRule>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct SynchronizationRule {
    pub id: Option<String>,
    pub name: Option<String>,
    pub source_directory_name: Option<String>,
    pub target_directory_name: Option<String>,
    #[serde(deserialize_with = "super::model::null_as_empty_list")]
    pub metadata: Vec<MetadataEntry>,
}

/// A `stringKeyStringValuePair`; values are strings, but a bare `true` is accepted too.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct MetadataEntry {
    pub key: Option<String>,
    pub value: Option<Value>,
}

impl SynchronizationRule {
    /// `metadata` holds `supportsProvisionOnDemand` = `true`.
    pub fn supports_provision_on_demand(&self) -> bool {
        self.metadata.iter().any(|entry| {
            entry
                .key
                .as_deref()
                .is_some_and(|key| key.eq_ignore_ascii_case("supportsProvisionOnDemand"))
                && match &entry.value {
                    Some(Value::String(text)) => text.trim().eq_ignore_ascii_case("true"),
                    Some(Value::Bool(on)) => *on,
                    _ => false,
                }
        })
    }

    /// The rule reads from Entra ID ("Azure Active Directory" in Graph's schema).
    pub fn reads_from_entra(&self) -> bool {
        self.source_directory_name.as_deref().is_some_and(|name| {
            let name = name.to_ascii_lowercase();
            name.contains("azure active directory") || name.contains("entra")
        })
    }
}

impl GraphClient {
    /// `GET …/jobs/{jobId}/schema`.
    pub async fn job_schema(
        &self,
        service_principal_id: &str,
        job_id: &str,
        deadline: &Deadline,
    ) -> Result<Traced<SynchronizationSchema>, GraphError> {
        let url = self.job_url(
            service_principal_id,
            job_id,
            Some("schema"),
            Operation::ReadSchema,
        )?;
        self.get_one(url, Operation::ReadSchema, deadline).await
    }

    /// `POST …/jobs/{jobId}/provisionOnDemand` with `body`; Graph's answer as sent (a
    /// `stringKeyStringValuePair` the caller reads defensively). An answer that is not JSON
    /// comes back as a JSON string, so it is reported rather than lost.
    pub async fn provision_on_demand(
        &self,
        service_principal_id: &str,
        job_id: &str,
        body: Value,
        deadline: &Deadline,
    ) -> Result<Traced<Value>, GraphError> {
        let url = self.job_url(
            service_principal_id,
            job_id,
            Some("provisionOnDemand"),
            Operation::ProvisionOnDemand,
        )?;
        let (response, request_id) = self
            .call(
                Method::POST,
                url,
                Some(body),
                Operation::ProvisionOnDemand,
                deadline,
            )
            .await?;
        // Capped like every answer; an unreadable one is reported as empty text.
        let body = response.body().await.unwrap_or_default();
        let value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
        Ok(Traced {
            value,
            request_ids: request_id.into_iter().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aws_template_rule_supports_provision_on_demand() {
        let schema: SynchronizationSchema = serde_json::from_str(
            r#"{"id":"aWSSingleSignon.00000000000000000000000000000000","version":"6.0",
                "synchronizationRules":[{"id":"03f7d90d-bf71-41b1-bda6-aaf0ddbee5d8",
                  "name":"USERGROUP_OUTBOUND_USERGROUP","sourceDirectoryName":"Azure Active Directory",
                  "targetDirectoryName":"AWSSingleSignon","editable":true,"priority":1,
                  "metadata":[{"key":"defaultIfNullBehavior","value":"Skip"},
                              {"key":"supportsProvisionOnDemand","value":"true"}],
                  "objectMappings":[]}],"directories":null}"#,
        )
        .unwrap();
        let rule = &schema.synchronization_rules[0];
        assert!(rule.supports_provision_on_demand() && rule.reads_from_entra());
        let plain = SynchronizationRule {
            source_directory_name: Some("customappsso".into()),
            ..Default::default()
        };
        assert!(!plain.supports_provision_on_demand() && !plain.reads_from_entra());
    }
}
