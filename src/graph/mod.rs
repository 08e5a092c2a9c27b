//! The Microsoft Graph client: the synchronization endpoints this function needs, on top of
//! the shared [`Transport`], with one token renewal on 401. Graph's JSON shapes are in
//! [`model`]; its error type, with the advice that says what to fix, in `error`.

pub mod directory;
mod error;
pub mod health;
pub mod model;
mod operation;
pub mod provisioning;

pub use error::{GraphError, GraphErrorKind};
pub use operation::Operation;

/// For use cases that find Graph's data unusable (see [`GraphError::bad_data`]).
pub use error::bad_data;

use std::collections::HashSet;
use std::sync::Arc;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, Response, Url};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::domain::ResetScope;
use crate::entra::Authenticator;
use crate::sensitive::quote_untrusted;
use crate::transport::{Deadline, Sent, Transport, TransportError};
use error::{failure, transport_failure, unexpected};
use model::{Page, ServicePrincipal, SynchronizationJob};

/// Pages followed in one collection at most: the IAM Identity Center app has a job or two,
/// and a display name a handful of matches, so more means a server that never stops.
pub const MAX_PAGES: usize = 100;

/// Characters left as they are in a query value (RFC 3986 unreserved).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A Graph result with the `request-id`s Graph gave for it (for support cases and reports).
#[derive(Debug, Clone)]
pub struct Traced<T> {
    pub value: T,
    pub request_ids: Vec<String>,
}

pub struct GraphClient {
    transport: Arc<Transport>,
    auth: Arc<Authenticator>,
    /// `{GRAPH_ENDPOINT}/v1.0/`
    base: Url,
}

impl GraphClient {
    pub fn new(transport: Arc<Transport>, auth: Arc<Authenticator>, graph_endpoint: &Url) -> Self {
        let mut base = graph_endpoint.clone();
        if let Ok(mut segments) = base.path_segments_mut() {
            segments.pop_if_empty().extend(["v1.0", ""]);
        }
        Self {
            transport,
            auth,
            base,
        }
    }

    /// Service principals whose displayName equals `name` (a filtered query, never a scan).
    pub async fn find_service_principals(
        &self,
        name: &str,
        deadline: &Deadline,
    ) -> Result<Traced<Vec<ServicePrincipal>>, GraphError> {
        let mut url = self.url(&["servicePrincipals"]);
        url.set_query(Some(&display_name_query(name)));
        self.collect(url, Operation::FindServicePrincipal, deadline)
            .await
    }

    pub async fn list_jobs(
        &self,
        service_principal_id: &str,
        deadline: &Deadline,
    ) -> Result<Traced<Vec<SynchronizationJob>>, GraphError> {
        let url = self.url(&[
            "servicePrincipals",
            service_principal_id,
            "synchronization",
            "jobs",
        ]);
        self.collect(url, Operation::ListJobs, deadline).await
    }

    pub async fn get_job(
        &self,
        service_principal_id: &str,
        job_id: &str,
        deadline: &Deadline,
    ) -> Result<Traced<SynchronizationJob>, GraphError> {
        let url = self.job_url(service_principal_id, job_id, None, Operation::ReadJob)?;
        self.get_one(url, Operation::ReadJob, deadline).await
    }

    /// `restart` with the JSON body Microsoft documents: `{"criteria":{"resetScope":…}}`, or
    /// `{}` for a plain restart.
    pub async fn restart(
        &self,
        service_principal_id: &str,
        job_id: &str,
        scope: &ResetScope,
        deadline: &Deadline,
    ) -> Result<Traced<()>, GraphError> {
        let body = match scope.criteria() {
            Some(criteria) => json!({ "criteria": { "resetScope": criteria } }),
            None => json!({}),
        };
        self.trigger(
            service_principal_id,
            job_id,
            "restart",
            Some(body),
            Operation::Restart,
            deadline,
        )
        .await
    }

    /// `start`, with no body: Microsoft documents none for it.
    pub async fn start(
        &self,
        service_principal_id: &str,
        job_id: &str,
        deadline: &Deadline,
    ) -> Result<Traced<()>, GraphError> {
        self.trigger(
            service_principal_id,
            job_id,
            "start",
            None,
            Operation::Start,
            deadline,
        )
        .await
    }

    async fn trigger(
        &self,
        service_principal_id: &str,
        job_id: &str,
        verb: &str,
        body: Option<Value>,
        operation: Operation,
        deadline: &Deadline,
    ) -> Result<Traced<()>, GraphError> {
        let url = self.job_url(service_principal_id, job_id, Some(verb), operation)?;
        let (_, request_id) = self
            .call(Method::POST, url, body, operation, deadline)
            .await?;
        Ok(Traced {
            value: (),
            request_ids: request_id.into_iter().collect(),
        })
    }

    /// Refuses an id that is no id (empty, `.`, `..`): in a URL it would name another
    /// resource (`…/jobs/..` is `…/jobs`).
    fn job_url(
        &self,
        service_principal_id: &str,
        job_id: &str,
        verb: Option<&str>,
        operation: Operation,
    ) -> Result<Url, GraphError> {
        for id in [service_principal_id, job_id] {
            if !usable_id(id) {
                return Err(unexpected(
                    operation,
                    format!("refusing to put the id {id:?} into a URL: it is not an id"),
                ));
            }
        }
        let mut segments = vec![
            "servicePrincipals",
            service_principal_id,
            "synchronization",
            "jobs",
            job_id,
        ];
        segments.extend(verb);
        Ok(self.url(&segments))
    }

    /// Path segments are percent-encoded one by one (job ids contain dots and may hold more).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// One resource: a GET and its JSON answer.
    async fn get_one<T: DeserializeOwned>(
        &self,
        url: Url,
        operation: Operation,
        deadline: &Deadline,
    ) -> Result<Traced<T>, GraphError> {
        let (sent, request_id) = self
            .call(Method::GET, url, None, operation, deadline)
            .await?;
        Ok(Traced {
            value: parse_json(sent, operation).await?,
            request_ids: request_id.into_iter().collect(),
        })
    }

    /// All pages of a collection; `@odata.nextLink` is followed only on Graph's own host, at
    /// most [`MAX_PAGES`] times, and never to a page already read.
    async fn collect<T: DeserializeOwned>(
        &self,
        first: Url,
        operation: Operation,
        deadline: &Deadline,
    ) -> Result<Traced<Vec<T>>, GraphError> {
        let mut items = Vec::new();
        let mut request_ids = Vec::new();
        let mut seen = HashSet::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            if seen.len() >= MAX_PAGES {
                return Err(unexpected(
                    operation,
                    format!(
                        "Graph kept sending next page links past {MAX_PAGES} pages; stopping \
                         rather than paging without end. Try again later; if it persists, open a \
                         Microsoft support case with the request ids in the logs"
                    ),
                ));
            }
            if !seen.insert(url.as_str().to_string()) {
                return Err(unexpected(
                    operation,
                    format!(
                        "Graph sent a next page link to a page already read ({}); stopping \
                         rather than reading it again. Try again later",
                        quote_untrusted(url.as_str())
                    ),
                ));
            }
            let (sent, request_id) = self
                .call(Method::GET, url, None, operation, deadline)
                .await?;
            request_ids.extend(request_id);
            let page: Page<T> = parse_json(sent, operation).await?;
            items.extend(page.value);
            next = page
                .next_link
                .map(|link| self.same_origin(&link, operation))
                .transpose()?;
        }
        Ok(Traced {
            value: items,
            request_ids,
        })
    }

    fn same_origin(&self, link: &str, operation: Operation) -> Result<Url, GraphError> {
        Url::parse(link)
            .ok()
            .filter(|url| url.origin() == self.base.origin())
            .ok_or_else(|| {
                unexpected(
                    operation,
                    format!(
                        "Graph sent a next page link to another host ({}); not following it",
                        quote_untrusted(link)
                    ),
                )
            })
    }

    /// Sends with a bearer token; a 401 gets one new token and one retry.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<Value>,
        operation: Operation,
        deadline: &Deadline,
    ) -> Result<(Sent, Option<String>), GraphError> {
        let mut renew = false;
        loop {
            let token = self.auth.bearer(deadline, renew).await?;
            let sent = self
                .transport
                .send_waiting(
                    operation.describe(),
                    operation.idempotency(),
                    deadline,
                    operation.patience(),
                    |client| {
                        let request = client
                            .request(method.clone(), url.clone())
                            .bearer_auth(token.expose());
                        match &body {
                            Some(body) => request.json(body),
                            None if method == Method::POST => request.header("content-length", "0"),
                            None => request,
                        }
                    },
                )
                .await
                .map_err(|error| transport_failure(operation, error))?;
            let request_id = header(&sent.response, "request-id");
            if sent.response.status().as_u16() == 401 && !renew {
                renew = true;
                continue;
            }
            if sent.response.status().is_success() {
                return Ok((sent, request_id));
            }
            return Err(failure(operation, sent).await);
        }
    }
}

/// `$filter=displayName eq '…'` with OData quote doubling, percent-encoded, and `$select`.
fn display_name_query(name: &str) -> String {
    let expression = format!("displayName eq {}", odata_quoted(name));
    format!(
        "$filter={}&$select=id,appId,displayName",
        query_value(&expression)
    )
}

/// An OData string literal: single quotes, with quotes inside doubled.
fn odata_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A query parameter value, percent-encoded (everything but RFC 3986 unreserved characters).
fn query_value(text: &str) -> String {
    utf8_percent_encode(text, QUERY_VALUE).to_string()
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
}

/// Whether Graph's id can name a resource in a URL path.
pub fn usable_id(id: &str) -> bool {
    !matches!(id.trim(), "" | "." | "..")
}

async fn parse_json<T: DeserializeOwned>(
    sent: Sent,
    operation: Operation,
) -> Result<T, GraphError> {
    let body = sent.body().await.map_err(|error| match error {
        TransportError::TooLarge { .. } => {
            unexpected(operation, format!("Graph's answer was refused: {error}"))
        }
        error => transport_failure(operation, error),
    })?;
    serde_json::from_slice(&body).map_err(|error| {
        unexpected(
            operation,
            format!("Graph's answer could not be read ({error})"),
        )
    })
}

#[cfg(test)]
mod tests;
