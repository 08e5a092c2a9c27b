//! A wrapper for values that must never be printed (client secrets and bearer tokens), and
//! the filter for text a server sent us before it is quoted in an error or a log line.

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

/// The most of a server's text quoted in an error or log line.
pub const QUOTE_LIMIT: usize = 2048;

/// A server's text (Graph's error message, Entra's error description) made safe to quote:
/// anything that looks like a credential is replaced by `[redacted]` (a `Bearer …` value, a
/// JWT `eyJ….….…`, a `client_secret=…`/`access_token=…` form field), and the rest is cut at
/// [`QUOTE_LIMIT`] bytes. A server that echoes our request must not put a token in CloudWatch.
pub fn quote_untrusted(text: &str) -> String {
    let redacted = redact_credentials(text);
    if redacted.len() <= QUOTE_LIMIT {
        return redacted;
    }
    let mut end = QUOTE_LIMIT;
    while !redacted.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [cut at {QUOTE_LIMIT} bytes]", &redacted[..end])
}

/// Characters of a base64url token (JWT segments) and of the usual opaque token alphabets.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=')
}

/// Where a value after `Bearer ` or `client_secret=` ends: any character a token may hold
/// counts as part of it, so none of it survives.
fn ends_value(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | ',' | ';' | '&' | '<' | '>' | '}' | ')' | ']'
        )
}

fn redact_credentials(text: &str) -> String {
    const MARKERS: [&str; 5] = [
        "bearer ",
        "client_secret=",
        "access_token=",
        "client_assertion=",
        "\"access_token\":\"",
    ];
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut index = 0;
    while index < text.len() {
        let after_marker = MARKERS
            .iter()
            .find(|marker| lower[index..].starts_with(**marker))
            .map(|marker| index + marker.len());
        let starts_jwt = text[index..].starts_with("eyJ")
            && !text[..index].ends_with(is_token_char)
            && looks_like_jwt(&text[index..]);
        let (value_start, keep_prefix) = match (after_marker, starts_jwt) {
            (Some(start), _) => (start, true),
            (None, true) => (index, false),
            (None, false) => {
                index += text[index..].chars().next().map_or(1, char::len_utf8);
                continue;
            }
        };
        let ends: fn(char) -> bool = if keep_prefix {
            ends_value
        } else {
            |c| !is_token_char(c)
        };
        let value_end = value_start
            + text[value_start..]
                .find(ends)
                .unwrap_or(text.len() - value_start);
        if value_end == value_start {
            index = value_start.max(index + 1);
            continue;
        }
        out.push_str(&text[rest..if keep_prefix { value_start } else { index }]);
        out.push_str(REDACTED);
        rest = value_end;
        index = value_end;
    }
    out.push_str(&text[rest..]);
    out
}

/// `eyJ…` followed by at least two more dot-separated base64url segments.
fn looks_like_jwt(text: &str) -> bool {
    let token: String = text.chars().take_while(|c| is_token_char(*c)).collect();
    let segments: Vec<&str> = token.split('.').collect();
    segments.len() >= 3 && segments[..2].iter().all(|segment| segment.len() >= 4)
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

    #[test]
    fn credentials_in_server_text_are_redacted() {
        let jwt = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJodHRwcyJ9.c2lnbmF0dXJl-_x";
        let echoed = format!(
            "Request was: Authorization: Bearer simtok-{CANARY} and {jwt}; form client_secret={CANARY}&scope=x, {{\"access_token\":\"{CANARY}\"}}"
        );
        let quoted = quote_untrusted(&echoed);
        assert!(!quoted.contains(CANARY), "{quoted}");
        assert!(!quoted.contains("eyJ0eXAi"), "{quoted}");
        assert!(quoted.contains("Bearer [redacted]"), "{quoted}");
        assert!(quoted.contains("&scope=x"), "{quoted}");
        for plain in [
            "Insufficient privileges to complete the operation.",
            "eyJ alone is fine, so is Bearer",
            "",
        ] {
            assert_eq!(quote_untrusted(plain), plain);
        }
    }

    proptest::proptest! {
        #[test]
        fn no_bearer_value_survives(
            before in "[ -~]{0,40}",
            token in "[A-Za-z0-9._~+/=!#$%*:?@^|-]{1,60}",
            after in "([ ,;&\"][ -~]{0,40})?",
        ) {
            let quoted = quote_untrusted(&format!("{before}Bearer {token}{after}"));
            proptest::prop_assert!(!quoted.contains(&format!("Bearer {token}")), "{}", quoted);
            proptest::prop_assert!(quoted.len() <= QUOTE_LIMIT + 40);
        }
    }

    #[test]
    fn quoted_text_is_capped() {
        let long = "é".repeat(QUOTE_LIMIT);
        let quoted = quote_untrusted(&long);
        assert!(quoted.len() < QUOTE_LIMIT + 40, "{}", quoted.len());
        assert!(quoted.ends_with(&format!("[cut at {QUOTE_LIMIT} bytes]")));
    }
}
