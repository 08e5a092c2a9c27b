use super::*;

#[test]
fn retry_after_accepts_seconds_and_http_dates() {
    let now = UNIX_EPOCH + Duration::from_secs(1_445_412_470);
    assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon", now), None);
}

#[test]
fn retry_after_accepts_microsofts_decimal_seconds() {
    let now = SystemTime::now();
    assert_eq!(
        parse_retry_after("2.128", now),
        Some(Duration::from_millis(2128))
    );
    assert_eq!(
        parse_retry_after(" 0.5 ", now),
        Some(Duration::from_millis(500))
    );
    for nonsense in ["-1", "NaN", "inf", "1e3", ".", "1.2.3", ""] {
        assert_eq!(parse_retry_after(nonsense, now), None, "{nonsense}");
    }
    assert_eq!(
        parse_retry_after("99999999999999999999", now),
        Some(Duration::MAX)
    );
}

/// A loopback server that answers every connection with `answer` (raw HTTP/1.1 bytes,
/// then `stall` before closing) and records each request's head.
async fn raw_server(
    answer: Vec<u8>,
    stall: Duration,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (answer, record) = (answer.clone(), record.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && socket.read(&mut byte).await.unwrap_or(0) == 1
                {
                    head.push(byte[0]);
                }
                record
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                let _ = socket.write_all(&answer).await;
                tokio::time::sleep(stall).await;
            });
        }
    });
    (address, seen)
}

fn transport(timeout: Duration, proxy: &ProxyRule) -> Transport {
    let retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    Transport::with_proxy(timeout, retry, proxy).unwrap()
}

async fn get(transport: &Transport, url: &str) -> Result<Vec<u8>, TransportError> {
    let deadline = Deadline::after(Duration::from_secs(20));
    let url = url.to_string();
    transport
        .send("test", Idempotency::Safe, &deadline, |client| {
            client.get(&url)
        })
        .await?
        .body()
        .await
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused_with_or_without_a_length() {
    let transport = transport(Duration::from_secs(10), &ProxyRule::default());
    let declared = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
        MAX_BODY_BYTES + 1
    );
    let (address, _) = raw_server(declared.into_bytes(), Duration::ZERO).await;
    let error = get(&transport, &format!("http://{address}/"))
        .await
        .unwrap_err();
    assert!(matches!(error, TransportError::TooLarge { .. }), "{error}");

    let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..9 {
        chunked.extend(format!("{:x}\r\n", chunk.len()).bytes());
        chunked.extend(&chunk);
        chunked.extend(b"\r\n");
    }
    chunked.extend(b"0\r\n\r\n");
    let (address, _) = raw_server(chunked, Duration::ZERO).await;
    let error = get(&transport, &format!("http://{address}/"))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("larger than 8388608 bytes"),
        "{error}"
    );

    let small = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".to_vec();
    let (address, _) = raw_server(small, Duration::ZERO).await;
    assert_eq!(
        get(&transport, &format!("http://{address}/"))
            .await
            .unwrap(),
        b"{}"
    );
}

#[tokio::test]
async fn a_body_that_stalls_is_a_timeout() {
    let transport = transport(Duration::from_millis(500), &ProxyRule::default());
    let partial = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"value\":".to_vec();
    let (address, _) = raw_server(partial, Duration::from_secs(5)).await;
    let error = get(&transport, &format!("http://{address}/"))
        .await
        .unwrap_err();
    assert!(matches!(error, TransportError::Timeout(_)), "{error:?}");
    assert!(error.to_string().contains("request timeout"), "{error}");
}

#[tokio::test]
async fn plain_http_never_goes_through_a_proxy_and_https_may() {
    let (proxy, proxied) = raw_server(
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".to_vec(),
        Duration::ZERO,
    )
    .await;
    let proxy_url = format!("http://{proxy}");
    let rule = ProxyRule::from_lookup(|name| {
        ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"]
            .contains(&name)
            .then(|| proxy_url.clone())
    });
    let transport = transport(Duration::from_secs(5), &rule);
    let (server, direct) = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        Duration::ZERO,
    )
    .await;
    assert_eq!(
        get(&transport, &format!("http://{server}/token"))
            .await
            .unwrap(),
        b"ok"
    );
    assert_eq!(direct.lock().unwrap().len(), 1);
    assert!(
        proxied.lock().unwrap().is_empty(),
        "plain http went to the proxy"
    );

    // https: only a CONNECT naming the host reaches the proxy (which refuses it here).
    let _ = get(&transport, "https://login.microsoftonline.com/x").await;
    let seen = proxied.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with("CONNECT login.microsoftonline.com:443 "),
        "{seen:?}"
    );
}

#[test]
fn backoff_grows_is_bounded_and_honours_retry_after() {
    let policy = RetryPolicy::default();
    for attempt in 1..=10 {
        let pause = policy.delay(attempt, None);
        let ceiling = policy
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt - 1))
            .min(policy.max_delay);
        assert!(
            pause <= ceiling && pause >= ceiling / 2,
            "{attempt}: {pause:?}"
        );
    }
    let asked = Duration::from_secs(30);
    assert_eq!(policy.delay(1, Some(asked)), asked);
}

#[test]
fn lambda_deadline_keeps_a_margin() {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let deadline = Deadline::from_lambda_deadline_ms(now_ms + 10_000);
    let left = deadline.remaining().unwrap();
    assert!(left <= Duration::from_millis(8_500) && left > Duration::from_secs(7));
    assert!(
        Deadline::from_lambda_deadline_ms(now_ms)
            .remaining()
            .is_none()
    );
}
