//! JSON log lines for CloudWatch, honouring Lambda's advanced logging controls.

use tracing_subscriber::EnvFilter;

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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(false);
    if text {
        builder.init();
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init();
    }
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
