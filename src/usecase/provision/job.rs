//! Which synchronization job provision acts on: the request's `jobId`, or the app's only job.
//! Job ids change only when provisioning is reconfigured, so they are kept for an hour per
//! execution environment: a warm run with nothing to do then costs no job listing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::ProvisionError;
use crate::error::SyncError;
use crate::graph::{GraphClient, GraphErrorKind};
use crate::transport::Deadline;

const JOBS_TTL: Duration = Duration::from_secs(3600);

#[derive(Default)]
pub struct JobCache {
    by_service_principal: Mutex<HashMap<String, (Instant, Vec<String>)>>,
}

impl JobCache {
    /// The job id to act on; `request_ids` gets the listing's when Graph was asked.
    pub async fn job_id(
        &self,
        graph: &GraphClient,
        service_principal_id: &str,
        app: &str,
        wanted: Option<&str>,
        request_ids: &mut Vec<String>,
        deadline: &Deadline,
    ) -> Result<String, SyncError> {
        let ids = match self.cached(service_principal_id) {
            Some(ids) => ids,
            None => {
                let ids = self
                    .list(graph, service_principal_id, request_ids, deadline)
                    .await?;
                self.remember(service_principal_id, &ids);
                ids
            }
        };
        pick(&ids, app, wanted)
    }

    async fn list(
        &self,
        graph: &GraphClient,
        service_principal_id: &str,
        request_ids: &mut Vec<String>,
        deadline: &Deadline,
    ) -> Result<Vec<String>, SyncError> {
        match graph.list_jobs(service_principal_id, deadline).await {
            Ok(jobs) => {
                request_ids.extend(jobs.request_ids);
                Ok(jobs
                    .value
                    .into_iter()
                    .map(|job| job.id)
                    .filter(|id| !id.is_empty())
                    .collect())
            }
            Err(error) if error.kind() == Some(GraphErrorKind::NotFound) => {
                Err(SyncError::ServicePrincipalIdNotFound {
                    id: service_principal_id.to_string(),
                })
            }
            Err(error) => Err(error.into()),
        }
    }

    fn cached(&self, service_principal_id: &str) -> Option<Vec<String>> {
        let cache = self.by_service_principal.lock().ok()?;
        let (at, ids) = cache.get(service_principal_id)?;
        (at.elapsed() < JOBS_TTL).then(|| ids.clone())
    }

    fn remember(&self, service_principal_id: &str, ids: &[String]) {
        if let Ok(mut cache) = self.by_service_principal.lock() {
            cache.insert(
                service_principal_id.to_string(),
                (Instant::now(), ids.to_vec()),
            );
        }
    }

    /// Forgets an app's jobs, e.g. after Graph said one is gone.
    pub fn forget(&self, service_principal_id: &str) {
        if let Ok(mut cache) = self.by_service_principal.lock() {
            cache.remove(service_principal_id);
        }
    }
}

fn pick(ids: &[String], app: &str, wanted: Option<&str>) -> Result<String, SyncError> {
    let available = ids.join(", ");
    if ids.is_empty() {
        return Err(SyncError::ProvisioningNotConfigured {
            app: app.to_string(),
        });
    }
    if let Some(wanted) = wanted {
        return ids
            .iter()
            .find(|id| id.as_str() == wanted)
            .cloned()
            .ok_or_else(|| SyncError::JobNotFound {
                job_id: wanted.to_string(),
                app: app.to_string(),
                available,
            });
    }
    match ids {
        [only] => Ok(only.clone()),
        _ => Err(ProvisionError::SeveralJobs {
            app: app.to_string(),
            count: ids.len(),
            available,
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_only_job_or_the_named_one() {
        let ids = vec!["AWSSCIM.a.b".to_string(), "AWSSCIM.c.d".to_string()];
        assert_eq!(pick(&ids[..1], "app", None).unwrap(), "AWSSCIM.a.b");
        assert_eq!(
            pick(&ids, "app", Some("AWSSCIM.c.d")).unwrap(),
            "AWSSCIM.c.d"
        );
        let several = pick(&ids, "app", None).unwrap_err();
        assert!(several.to_string().contains("jobId"), "{several}");
        assert_eq!(
            pick(&ids, "app", Some("x")).unwrap_err().error_type(),
            "JobNotFound"
        );
        assert_eq!(
            pick(&[], "app", None).unwrap_err().error_type(),
            "ProvisioningNotConfigured"
        );
    }
}
