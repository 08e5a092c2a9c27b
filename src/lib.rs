//! entra-idc-sync: make Microsoft Entra ID provision to AWS IAM Identity Center now.
//!
//! Data flows one way: the Lambda entry point ([`handler`]) turns an invocation into a
//! [`request::SyncRequest`], the use case ([`sync`]) merges it with the function's
//! [`config`] and the Entra credentials from Secrets Manager ([`secret`]), gets a Graph token
//! ([`entra`]), drives the synchronization jobs through the Graph client ([`graph`]) and
//! returns a [`report`]. Around the trigger sit the restart-storm [`guard`], the [`health`]
//! judgement, the wait for the new [`cycle`], and CloudWatch [`metrics`]; [`outcome`] decides
//! whether the invocation failed. [`transport`] is the one HTTP stack both Entra and Graph calls use
//! (timeouts, retries, deadline); [`sensitive`] keeps secrets out of every output.

pub mod aws;
pub mod clients;
pub mod config;
pub mod cycle;
pub mod domain;
pub mod entra;
pub mod error;
pub mod graph;
pub mod guard;
pub mod handler;
pub mod health;
pub mod logging;
pub mod metrics;
pub mod outcome;
pub mod report;
pub mod request;
pub mod secret;
pub mod sensitive;
pub mod transport;
pub mod usecase;
