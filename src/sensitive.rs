//! A wrapper for values that must never be printed: client secrets and bearer tokens.

use std::fmt;

use serde::{Serialize, Serializer};
use zeroize::Zeroizing;

const REDACTED: &str = "[redacted]";

/// A secret string. `Debug`, `Display` and `Serialize` print `[redacted]`; the memory is
/// zeroed on drop. The only way to the value is [`Sensitive::expose`], so every use is
/// visible in review.
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive(Zeroizing<String>);

impl Sensitive {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The secret value, for the one place that must send it (a form field, a header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Sensitive {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "canary-Zx9!secret-value";

    #[test]
    fn every_rendering_hides_the_value() {
        let secret = Sensitive::new(CANARY);
        let renderings = [
            format!("{secret}"),
            format!("{secret:?}"),
            format!("{secret:#?}"),
            serde_json::to_string(&secret).unwrap(),
            format!("{:?}", Some(secret.clone())),
        ];
        for rendering in renderings {
            assert!(!rendering.contains(CANARY), "leaked in {rendering}");
            assert!(rendering.contains(REDACTED));
        }
        assert_eq!(secret.expose(), CANARY);
    }
}
