//! Property tests: every parser that sees input from outside the function (the invocation
//! payload, the Secrets Manager secret, Graph's answers, the environment, `Retry-After`,
//! Entra's token response, the access token's claims, the app registration's credentials and
//! the provisioning log) returns a value or an error on any input, never panics, and keeps
//! its promises — unknown request fields are refused by name, the client secret never appears
//! in an error or a `Debug` rendering, counts are read leniently.
//!
//! One module per parser. The cases are bounded so the whole suite runs in a few seconds in a
//! debug build; the `cargo fuzz` targets under `fuzz/` explore the same entry points for as
//! long as one likes (docs/FUZZING.md).
//!
//! `common` holds the test configuration and the arbitrary-JSON generators they share.

mod claims;
mod common;
mod environment;
mod graph;
mod request;
mod retry_after;
mod secret;
mod token;
mod wait;
