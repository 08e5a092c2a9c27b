//! The invocation payload as the Lambda runtime hands it over: bytes -> `Payload` (read the
//! way lambda_runtime reads it) -> `SyncRequest::from_payload`, and the JSON value ->
//! `SyncRequest::from_event`. Never panics; both agree on payloads of a sane size; a request
//! that is accepted has only known fields (in the object itself, or in the `detail` of an
//! EventBridge envelope).
#![no_main]

use entra_idc_sync::{Payload, REQUEST_FIELDS, SyncRequest};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::{Map, Value};

fn request_object(event: &Value) -> Option<&Map<String, Value>> {
    match event {
        Value::Object(fields)
            if fields.contains_key("source") && fields.contains_key("detail-type") =>
        {
            fields.get("detail").and_then(Value::as_object)
        }
        Value::Object(fields) => Some(fields),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut reader = serde_json::Deserializer::from_slice(data);
    if let Ok(payload) = Payload::deserialize(&mut reader) {
        let _ = SyncRequest::from_payload(&payload);
    }
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let result = SyncRequest::from_event(&event);
    // Under the size limit the payload path decides exactly as the value path does.
    if data.len() <= 8 * 1024 {
        assert_eq!(
            SyncRequest::from_payload(&Payload::new(event.clone())),
            result
        );
    }
    if let (Ok(_), Some(fields)) = (&result, request_object(&event)) {
        let unknown: Vec<&String> = fields
            .keys()
            .filter(|key| !REQUEST_FIELDS.contains(&key.as_str()))
            .collect();
        assert!(unknown.is_empty(), "accepted unknown fields {unknown:?}");
    }
    if let Err(error) = &result {
        let _ = format!("{error} {error:?}");
    }
});
