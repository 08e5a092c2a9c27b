//! The readable table: a summary, then one line per check or job with a mark; the fix text
//! only where something is wrong. Read from the report's JSON, so every action's report
//! renders without this module knowing its types.

use serde_json::Value;

use crate::logging::escape_controls;

const OK: &str = "✓";
const WARNING: &str = "!";
const FAILED: &str = "✗";
const UNAVAILABLE: &str = "?";

fn mark(status: &str) -> &'static str {
    match status {
        "ok" => OK,
        "warning" => WARNING,
        "failed" => FAILED,
        _ => UNAVAILABLE,
    }
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The whole table for a report (or for the checks a `CheckFailed` error carries).
pub fn table(report: &Value) -> String {
    let mut lines = Vec::new();
    let summary = text(report, "summary");
    if !summary.is_empty() {
        lines.push(summary.to_string());
    }
    let objects = report.get("objects").and_then(Value::as_array);
    match report.get("checks").and_then(Value::as_array) {
        Some(checks) if !checks.is_empty() => lines.extend(checks.iter().flat_map(check_lines)),
        _ if objects.is_some() => {
            lines.extend(objects.into_iter().flatten().flat_map(object_lines))
        }
        _ => {
            for job in report
                .get("jobs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                lines.extend(job_lines(job));
            }
        }
    }
    // Names and messages come from Graph: a control character must not reach the terminal.
    lines
        .iter()
        .map(|line| escape_controls(line))
        .collect::<Vec<_>>()
        .join("\n")
}

fn check_lines(check: &Value) -> Vec<String> {
    let status = text(check, "status");
    let job = text(check, "jobId");
    let name = if job.is_empty() {
        text(check, "name").to_string()
    } else {
        format!("{} [{job}]", text(check, "name"))
    };
    let mut lines = vec![format!(
        "{} {name:<20} {}",
        mark(status),
        text(check, "detail")
    )];
    let fix = text(check, "fix");
    if status != "ok" && !fix.is_empty() {
        lines.push(format!("    fix: {fix}"));
    }
    lines
}

/// One provisioned (or skipped, or failed) user or group.
fn object_lines(object: &Value) -> Vec<String> {
    let result = text(object, "result");
    let status = if result == "failed" { "failed" } else { "ok" };
    let name = [
        text(object, "userPrincipalName"),
        text(object, "displayName"),
    ]
    .into_iter()
    .find(|name| !name.is_empty())
    .unwrap_or_default();
    let members = object
        .get("members")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let with_members = if members > 0 {
        format!(" with {members} member(s)")
    } else {
        String::new()
    };
    let mut lines = vec![format!(
        "{} {} {name} ({}){with_members}  {result}",
        mark(status),
        text(object, "kind"),
        text(object, "id"),
    )];
    let code = text(object, "errorCode");
    if !code.is_empty() {
        lines.push(format!("    {code}: {}", text(object, "errorMessage")));
    }
    lines
}

fn job_lines(job: &Value) -> Vec<String> {
    let result = text(job, "result");
    let health = job.get("health");
    let healthy = health
        .and_then(|h| h.get("healthy"))
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let status = match (result, healthy) {
        ("failed", _) => "failed",
        (_, false) => "warning",
        _ => "ok",
    };
    let mut line = format!(
        "{} {}  {result}  (status {})",
        mark(status),
        text(job, "jobId"),
        job.get("statusCode")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
    );
    let skip = text(job, "skipReason");
    if !skip.is_empty() {
        line.push_str(&format!(": {skip}"));
    }
    let mut lines = vec![line];
    if let Some(error) = job.get("error") {
        lines.push(format!(
            "    {}: {}",
            text(error, "errorType"),
            text(error, "errorMessage")
        ));
    }
    for problem in health
        .and_then(|h| h.get("problems"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        lines.push(format!("    {}", text(problem, "message")));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checks_get_a_mark_each_and_a_fix_only_when_wrong() {
        let report = json!({"summary": "check: 3 checks", "checks": [
            {"name": "credentials", "status": "ok", "detail": "a token was issued", "fix": null},
            {"name": "jobs", "jobId": "AWSSCIM.x", "status": "failed", "detail": "quarantined", "fix": "restart"},
            {"name": "provisioningErrors", "jobId": "AWSSCIM.x", "status": "unavailable", "detail": "403", "fix": "grant AuditLog.Read.All"}
        ]});
        let table = table(&report);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "check: 3 checks");
        assert!(lines[1].starts_with("✓ credentials") && lines[1].contains("a token was issued"));
        assert!(lines[2].starts_with("✗ jobs [AWSSCIM.x]"));
        assert_eq!(lines[3], "    fix: restart");
        assert!(lines[4].starts_with("? provisioningErrors"));
        assert_eq!(lines.len(), 6);
    }

    #[test]
    fn provisioned_objects_are_one_line_each_with_graphs_error_below() {
        let report = json!({"summary": "provision: 1 provisioned, 1 failed", "objects": [
            {"kind": "user", "id": "u1", "userPrincipalName": "jane@contoso.com", "members": [],
             "result": "provisioned", "errorCode": null},
            {"kind": "group", "id": "g1", "displayName": "AWS Admins", "members": [{"id": "u2"}],
             "result": "failed", "errorCode": "EntryConflict", "errorMessage": "duplicate"}
        ]});
        assert_eq!(
            table(&report),
            "provision: 1 provisioned, 1 failed\n✓ user jane@contoso.com (u1)  provisioned\n\
             ✗ group AWS Admins (g1) with 1 member(s)  failed\n    EntryConflict: duplicate"
        );
    }

    #[test]
    fn control_characters_from_graph_are_escaped() {
        let report = json!({"summary": "s", "checks": [
            {"name": "jobs", "status": "failed", "detail": "bad\u{1b}[2Jname\nforged line", "fix": "x"}
        ]});
        let table = table(&report);
        assert!(!table.contains('\u{1b}'), "{table:?}");
        assert_eq!(table.lines().count(), 3, "{table}");
    }

    #[test]
    fn jobs_are_one_line_each_with_problems_below() {
        let report = json!({"summary": "status: 2 jobs read", "jobs": [
            {"jobId": "A", "result": "statusRead", "statusCode": "Active", "health": {"healthy": true, "problems": []}},
            {"jobId": "B", "result": "statusRead", "statusCode": "Quarantine",
             "health": {"healthy": false, "problems": [{"code": "Quarantined", "message": "in quarantine: run restart"}]}}
        ]});
        let table = table(&report);
        assert_eq!(
            table,
            "status: 2 jobs read\n✓ A  statusRead  (status Active)\n! B  statusRead  (status Quarantine)\n    in quarantine: run restart"
        );
    }
}
