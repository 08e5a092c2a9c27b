//! The `ruleId` provision on demand needs, read from the job's schema once per execution
//! environment (it changes only when provisioning is reconfigured). Never hard-coded.

use std::collections::HashMap;
use std::sync::Mutex;

use super::error::ProvisionError;
use crate::graph::provisioning::{SynchronizationRule, SynchronizationSchema};
use crate::graph::{GraphClient, GraphError};
use crate::transport::Deadline;

#[derive(Default)]
pub struct RuleCache {
    by_job: Mutex<HashMap<(String, String), String>>,
}

impl RuleCache {
    /// The job's rule id, from the cache or its schema; `request_ids` gets the schema read's.
    pub async fn rule_id(
        &self,
        graph: &GraphClient,
        service_principal_id: &str,
        job_id: &str,
        request_ids: &mut Vec<String>,
        deadline: &Deadline,
    ) -> Result<String, RuleError> {
        let key = (service_principal_id.to_string(), job_id.to_string());
        if let Some(id) = self.by_job.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(id);
        }
        let schema = graph
            .job_schema(service_principal_id, job_id, deadline)
            .await?;
        request_ids.extend(schema.request_ids);
        let id = choose(&schema.value).ok_or_else(|| {
            RuleError::Provision(ProvisionError::NoProvisionOnDemandRule {
                job_id: job_id.to_string(),
                rules: describe(&schema.value),
            })
        })?;
        if let Ok(mut cache) = self.by_job.lock() {
            cache.insert(key, id.clone());
        }
        Ok(id)
    }

    /// Drops a job's rule, e.g. after Graph refused it.
    pub fn forget(&self, service_principal_id: &str, job_id: &str) {
        if let Ok(mut cache) = self.by_job.lock() {
            cache.remove(&(service_principal_id.to_string(), job_id.to_string()));
        }
    }
}

#[derive(Debug)]
pub enum RuleError {
    Graph(GraphError),
    Provision(ProvisionError),
}

impl From<GraphError> for RuleError {
    fn from(error: GraphError) -> Self {
        Self::Graph(error)
    }
}

/// The rule whose metadata says `supportsProvisionOnDemand` = `true`; failing that, the rule
/// that reads from Entra ID.
pub fn choose(schema: &SynchronizationSchema) -> Option<String> {
    let usable = |rule: &&SynchronizationRule| rule.id.as_deref().is_some_and(|id| !id.is_empty());
    let rules = &schema.synchronization_rules;
    rules
        .iter()
        .filter(usable)
        .find(|rule| rule.supports_provision_on_demand())
        .or_else(|| {
            rules
                .iter()
                .filter(usable)
                .find(|rule| rule.reads_from_entra())
        })
        .and_then(|rule| rule.id.clone())
}

fn describe(schema: &SynchronizationSchema) -> String {
    if schema.synchronization_rules.is_empty() {
        return "none".into();
    }
    schema
        .synchronization_rules
        .iter()
        .map(|rule| {
            format!(
                "{} from {}",
                rule.name.as_deref().or(rule.id.as_deref()).unwrap_or("?"),
                rule.source_directory_name.as_deref().unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::provisioning::MetadataEntry;

    fn rule(id: &str, source: &str, pod: bool) -> SynchronizationRule {
        SynchronizationRule {
            id: Some(id.into()),
            source_directory_name: Some(source.into()),
            metadata: pod
                .then(|| MetadataEntry {
                    key: Some("supportsProvisionOnDemand".into()),
                    value: Some("true".into()),
                })
                .into_iter()
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_rule_that_supports_provision_on_demand_wins() {
        let schema = SynchronizationSchema {
            synchronization_rules: vec![
                rule("inbound", "customappsso", false),
                rule("entra", "Azure Active Directory", false),
                rule("pod", "Azure Active Directory", true),
            ],
        };
        assert_eq!(choose(&schema).as_deref(), Some("pod"));
    }

    #[test]
    fn else_the_rule_reading_from_entra() {
        let schema = SynchronizationSchema {
            synchronization_rules: vec![
                rule("inbound", "customappsso", false),
                rule("entra", "Azure Active Directory", false),
            ],
        };
        assert_eq!(choose(&schema).as_deref(), Some("entra"));
        let none = SynchronizationSchema {
            synchronization_rules: vec![rule("inbound", "customappsso", false)],
        };
        assert_eq!(choose(&none), None);
        assert_eq!(describe(&none), "inbound from customappsso");
    }
}
