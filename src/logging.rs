//! JSON log lines for CloudWatch, honouring Lambda's advanced logging controls.

use std::fmt::{self, Write as _};

use tracing::field::Field;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{Writer, debug_fn};

/// `RUST_LOG` (full directives) wins; otherwise `AWS_LAMBDA_LOG_LEVEL` (set by the function's
/// LoggingConfig) for this crate, with dependencies kept at WARN. JSON unless
/// `AWS_LAMBDA_LOG_FORMAT=Text`.
pub fn init() {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::new(directives),
        _ => EnvFilter::new(default_directives(
            std::env::var("AWS_LAMBDA_LOG_LEVEL").ok(),
        )),
    };
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .is_ok_and(|format| format.eq_ignore_ascii_case("text"));
    if text {
        // Only fails when a subscriber is already set, which nothing here does.
        let _ = tracing::subscriber::set_global_default(text_subscriber(filter, std::io::stdout));
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_target(false)
            .with_ansi(false)
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init();
    }
}

/// The command line: plain text on stderr (stdout is the report), warnings and errors only
/// unless `RUST_LOG` says otherwise.
pub fn init_cli() {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::new(directives),
        _ => EnvFilter::new("warn"),
    };
    // Only fails when a subscriber is already set, which nothing here does.
    let _ = tracing::subscriber::set_global_default(text_subscriber(filter, std::io::stderr));
}

/// Text lines, one per event: every field (Graph's display names and messages included) has
/// its control characters escaped, so no value can end a line and forge the next one. The
/// JSON format escapes them by itself.
fn text_subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false)
        .with_writer(writer)
        .fmt_fields(debug_fn(write_escaped_field).delimited(" "))
        .finish()
}

fn write_escaped_field(
    writer: &mut Writer<'_>,
    field: &Field,
    value: &dyn fmt::Debug,
) -> fmt::Result {
    let text = escape_controls(&format!("{value:?}"));
    if field.name() == "message" {
        writer.write_str(&text)
    } else {
        write!(writer, "{}={text}", field.name())
    }
}

/// Control characters (and Unicode's line and paragraph separators) as visible escapes.
pub fn escape_controls(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') => {
                let _ = write!(escaped, "\\u{{{:x}}}", c as u32);
            }
            c => escaped.push(c),
        }
    }
    escaped
}

fn default_directives(lambda_level: Option<String>) -> String {
    let level = match lambda_level
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("trace") => "trace",
        Some("debug") => "debug",
        Some("warn") => "warn",
        Some("error") | Some("fatal") => "error",
        _ => "info",
    };
    format!("warn,entra_idc_sync={level},lambda_runtime={level}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn text_logs_escape_control_characters() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = text_subscriber(EnvFilter::new("info"), move || writer.clone());
        let name = "AWS\nINFO forged: quarantine lifted\r\u{1b}[2J\u{2028}x";
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(app = %name, quoted = name, "found {name}");
        });
        let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(output.lines().count(), 1, "{output}");
        assert!(output.ends_with('\n'));
        assert!(
            !output.contains('\r') && !output.contains('\u{1b}') && !output.contains('\u{2028}')
        );
        assert!(output.contains("found AWS\\nINFO forged"), "{output}");
        assert!(output.contains("app=AWS\\nINFO"), "{output}");
    }

    #[test]
    fn lambda_levels_map_to_our_crate_only() {
        assert_eq!(
            default_directives(None),
            "warn,entra_idc_sync=info,lambda_runtime=info"
        );
        assert_eq!(
            default_directives(Some("FATAL".into())),
            "warn,entra_idc_sync=error,lambda_runtime=error"
        );
        assert_eq!(
            default_directives(Some("DEBUG".into())),
            "warn,entra_idc_sync=debug,lambda_runtime=debug"
        );
    }
}
