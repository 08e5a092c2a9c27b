//! Entra's token response: `TokenClient::request` against a one-answer local token endpoint.

use std::sync::Arc;
use std::time::Duration;

use entra_idc_sync::{Deadline, EntraCredentials, Proof, RetryPolicy, TokenClient, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::SECRET_ID;

/// Entra's `expires_in` is read as any u64; a token must be usable whatever lifetime the
/// endpoint claims, also near `u64::MAX`, where `Instant::now() + lifetime` would overflow.
#[test]
fn any_token_lifetime_gives_a_token() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let credentials = EntraCredentials::parse(
        SECRET_ID,
        r#"{"tenant_id":"contoso.onmicrosoft.com","client_id":"66666666-7777-8888-9999-000000000000","client_secret":"CANARY-token-test"}"#,
    )
    .expect("valid credentials");
    for expires_in in [3599, i64::MAX as u64, u64::MAX] {
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let authority = format!("http://{}/", listener.local_addr().expect("an address"));
            // One token endpoint answer: read the request, send a token with that lifetime.
            let server = tokio::spawn(async move {
                let (mut socket, _) = listener.accept().await.expect("a connection");
                let mut request = Vec::new();
                let mut chunk = [0u8; 4096];
                while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                    let read = socket.read(&mut chunk).await.expect("a request");
                    if read == 0 {
                        return;
                    }
                    request.extend_from_slice(&chunk[..read]);
                }
                let body = format!(
                    r#"{{"token_type":"Bearer","access_token":"t","expires_in":{expires_in}}}"#
                );
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
            let transport = Arc::new(
                Transport::new(Duration::from_secs(5), RetryPolicy::default())
                    .expect("an HTTP client"),
            );
            let tokens = TokenClient::new(
                transport,
                url::Url::parse(&authority).expect("a URL"),
                "https://graph.microsoft.com/.default".into(),
            );
            let token = tokens
                .request(
                    &credentials,
                    &Proof::client_secret(credentials.client_secret().expect("a secret").clone()),
                    &Deadline::after(Duration::from_secs(10)),
                )
                .await;
            assert!(token.is_ok(), "expires_in {expires_in}: {token:?}");
            let _ = server.await;
        });
    }
}
