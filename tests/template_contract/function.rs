//! The function itself: its environment, runtime and binary, concurrency, logging and schedules.

use std::collections::BTreeSet;

use entra_idc_sync::FUNCTION_ENVIRONMENT;

use super::*;

#[test]
fn function_environment_is_exactly_the_configuration_contract() {
    let template = template();
    let variables = &the_function(&template)["Properties"]["Environment"]["Variables"];
    let in_template: BTreeSet<&str> = variables
        .as_hash()
        .expect("the function sets Environment.Variables")
        .keys()
        .filter_map(Yaml::as_str)
        .collect();
    let in_code: BTreeSet<&str> = FUNCTION_ENVIRONMENT.iter().copied().collect();
    assert_eq!(
        in_template,
        in_code,
        "template-only: {:?}, code-only: {:?}",
        in_template.difference(&in_code).collect::<Vec<_>>(),
        in_code.difference(&in_template).collect::<Vec<_>>()
    );
    for (name, value) in variables.as_hash().into_iter().flatten() {
        let source = value.as_str().unwrap_or_default();
        if name.as_str() == Some("STATE_TABLE") {
            assert_eq!(
                source, "StateTable",
                "STATE_TABLE must be the stack's own table"
            );
            continue;
        }
        assert!(
            template["Parameters"][source].as_hash().is_some(),
            "{name:?} must come from a parameter, not {value:?}"
        );
    }
}

#[test]
fn function_runs_the_binary_we_build_on_the_runtime_we_target() {
    let template = template();
    let function = the_function(&template);
    let properties = &function["Properties"];
    assert_eq!(properties["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(properties["Handler"].as_str(), Some("bootstrap"));
    assert_eq!(strings(&properties["Architectures"]), ["arm64"]);
    assert_eq!(
        properties["LoggingConfig"]["LogFormat"].as_str(),
        Some("JSON")
    );
    assert_eq!(
        function["Metadata"]["BuildMethod"].as_str(),
        Some("rust-cargolambda")
    );
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"].as_str(),
        Some(env!("CARGO_PKG_NAME"))
    );
}

/// Accounts with a concurrency quota under 101 cannot reserve any: the reservation is a
/// choice, off by default, and overlap is kept out by other means (the state table's lease,
/// and a schedule that never delivers one run twice).
#[test]
fn reserved_concurrency_is_a_parameter_off_by_default() {
    let template = template();
    let function = the_function(&template);
    let reserved = &function["Properties"]["ReservedConcurrentExecutions"];
    let Yaml::Array(choice) = reserved else {
        panic!(
            "ReservedConcurrentExecutions must be !If [condition, 1, AWS::NoValue], not {reserved:?}"
        );
    };
    assert_eq!(choice.len(), 3);
    assert_eq!(
        choice[1].as_i64(),
        Some(1),
        "reserving means exactly one run at a time"
    );
    assert_eq!(choice[2].as_str(), Some("AWS::NoValue"));
    let condition = choice[0].as_str().expect("a condition name");
    let equals = strings(&template["Conditions"][condition]);
    assert_eq!(
        equals,
        ["ReservedConcurrentExecutions", "1"],
        "{condition} decides it"
    );
    assert_ne!(default_of(&template, "ReservedConcurrentExecutions"), "1");
    let description = parameter(&template, "ReservedConcurrentExecutions")["Description"]
        .as_str()
        .unwrap_or_default();
    for needed in ["lease", "101", "never retries"] {
        assert!(
            description.contains(needed),
            "the description must say {needed:?}"
        );
    }
    // Without reserved concurrency one scheduled run must still be one invocation.
    assert_eq!(
        function["Properties"]["EventInvokeConfig"]["MaximumRetryAttempts"].as_i64(),
        Some(0)
    );
    let schedule = &function["Properties"]["Events"]["Schedule"]["Properties"];
    assert_eq!(
        schedule["RetryPolicy"]["MaximumRetryAttempts"].as_i64(),
        Some(0)
    );
}

/// Lambda's REPORT lines (duration, memory, init) are system logs at INFO.
#[test]
fn system_log_level_defaults_to_info() {
    let template = template();
    let logging = &the_function(&template)["Properties"]["LoggingConfig"];
    let system = logging["SystemLogLevel"]
        .as_str()
        .expect("SystemLogLevel is set");
    let level = if template["Parameters"][system].as_hash().is_some() {
        default_of(&template, system)
    } else {
        system.to_string()
    };
    assert_eq!(level, "INFO");
}

/// /aws/lambda/<name> is where Lambda writes a function's logs by default: a log group of ours
/// there could collide with a function of that name.
#[test]
fn log_group_cannot_clash_with_a_function_default_log_group() {
    let template = template();
    let groups = resources_of_type(&template, "AWS::Logs::LogGroup");
    assert!(!groups.is_empty());
    for (name, group) in groups {
        let group_name = group["Properties"]["LogGroupName"]
            .as_str()
            .unwrap_or_default();
        assert!(
            group_name.starts_with('/') && !group_name.starts_with("/aws/"),
            "{name}: {group_name:?} is in AWS's namespace"
        );
        assert!(
            group_name.contains("${AWS::StackName}"),
            "{name}: one per stack"
        );
        // Renaming the group replaces it on stacks deployed before: their logs stay.
        assert_eq!(
            group["UpdateReplacePolicy"].as_str(),
            Some("Retain"),
            "{name}: a replacement must not delete the old group's logs"
        );
    }
}

/// The function's scheduled events (`Events` of type ScheduleV2), by name.
fn schedules(template: &Yaml) -> Vec<(String, Yaml)> {
    the_function(template)["Properties"]["Events"]
        .as_hash()
        .into_iter()
        .flatten()
        .filter(|(_, event)| event["Type"].as_str() == Some("ScheduleV2"))
        .map(|(name, event)| (name.as_str().unwrap_or_default().to_string(), event.clone()))
        .collect()
}

#[test]
fn a_second_schedule_runs_check_daily_and_is_on_by_default() {
    let template = template();
    let checks: Vec<_> = schedules(&template)
        .into_iter()
        .filter(|(_, event)| {
            let input = event["Properties"]["Input"].as_str().unwrap_or_default();
            serde_json::from_str::<serde_json::Value>(input)
                .is_ok_and(|input| input["action"] == "check")
        })
        .collect();
    assert_eq!(
        checks.len(),
        1,
        "exactly one schedule sends {{\"action\":\"check\"}}"
    );
    let properties = &checks[0].1["Properties"];
    let expression = properties["ScheduleExpression"]
        .as_str()
        .unwrap_or_default();
    let parameter = &template["Parameters"][expression];
    let default = parameter["Default"].as_str().unwrap_or_default();
    assert!(
        default == "rate(1 day)"
            || (default.starts_with("cron(") && default.matches('*').count() >= 2),
        "the check schedule's default must be daily, not {default:?}"
    );
    // State: !If [CheckScheduleIsEnabled, ENABLED, DISABLED], the condition on a parameter
    // defaulting to "true".
    let state = &properties["State"];
    let condition = state[0].as_str().or_else(|| state["Fn::If"][0].as_str());
    let condition = condition.expect("the check schedule's State is conditional");
    let switch = strings(&template["Conditions"][condition]);
    let named = switch.first().cloned().unwrap_or_default();
    assert_eq!(
        template["Parameters"][named.as_str()]["Default"].as_str(),
        Some("true"),
        "the check schedule is on by default ({condition}: {switch:?})"
    );
    assert_eq!(
        properties["RetryPolicy"]["MaximumRetryAttempts"].as_i64(),
        Some(0)
    );
}
