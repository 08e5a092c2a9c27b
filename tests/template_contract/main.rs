//! template.yaml and the code must agree: the function's environment is exactly the
//! configuration contract, the function is the runtime and format we build for, and its role
//! can read the one secret and nothing broader.
//!
//! CloudFormation short-form tags (`!Ref X`, `!Sub ...`) load as their plain values, so
//! `!Ref SecretArn` reads as the string `SecretArn`.

use std::collections::{BTreeMap, BTreeSet};

use entra_idc_sync::{FUNCTION_ENVIRONMENT, METRICS_NAMESPACE, SUCCESSFUL_RUNS};
use yaml_rust2::{Yaml, YamlLoader};

/// Everything the state store does (src/state): single items, conditional writes, no Scan.
const STATE_TABLE_ACTIONS: [&str; 5] = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
];

fn template() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml is readable");
    YamlLoader::load_from_str(&text)
        .expect("template.yaml parses")
        .remove(0)
}

fn resources_of_type<'a>(template: &'a Yaml, kind: &str) -> Vec<(&'a str, &'a Yaml)> {
    let Some(resources) = template["Resources"].as_hash() else {
        return Vec::new();
    };
    resources
        .iter()
        .filter(|(_, resource)| resource["Type"].as_str() == Some(kind))
        .map(|(name, resource)| (name.as_str().unwrap_or_default(), resource))
        .collect()
}

fn the_function(template: &Yaml) -> &Yaml {
    let functions = resources_of_type(template, "AWS::Serverless::Function");
    assert_eq!(functions.len(), 1, "exactly one function");
    functions[0].1
}

/// Values of a scalar-or-list field (`Action: x` or `Action: [x, y]`).
fn strings(node: &Yaml) -> Vec<String> {
    match node {
        Yaml::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        Yaml::String(text) => vec![text.clone()],
        _ => Vec::new(),
    }
}

/// Every IAM policy statement granted to a role or function (not trust policies).
fn granted_statements(node: &Yaml, out: &mut Vec<Yaml>) {
    match node {
        Yaml::Hash(map) => {
            for (key, value) in map {
                match key.as_str() {
                    Some("AssumeRolePolicyDocument") => {}
                    Some("PolicyDocument") => {
                        if let Yaml::Array(statements) = &value["Statement"] {
                            out.extend(statements.iter().cloned());
                        }
                    }
                    _ => granted_statements(value, out),
                }
            }
        }
        Yaml::Array(items) => items.iter().for_each(|item| granted_statements(item, out)),
        _ => {}
    }
}

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

#[test]
fn role_reads_only_the_named_secret_and_writes_only_logs() {
    let template = template();
    let mut statements = Vec::new();
    // Grants to the function's identity; resource policies (the alarm topic's) grant others.
    for kind in ["AWS::IAM::Role", "AWS::Serverless::Function"] {
        for (_, resource) in resources_of_type(&template, kind) {
            granted_statements(resource, &mut statements);
        }
    }
    assert!(!statements.is_empty(), "no IAM statements found");
    let allowed = [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
        "sts:GetWebIdentityToken",
    ]
    .into_iter()
    .chain(STATE_TABLE_ACTIONS)
    .collect::<Vec<_>>();
    for statement in &statements {
        assert_eq!(statement["Effect"].as_str(), Some("Allow"));
        let actions = strings(&statement["Action"]);
        let resources = strings(&statement["Resource"]);
        for action in &actions {
            assert!(
                allowed.contains(&action.as_str()),
                "unexpected action {action}"
            );
        }
        // GetWebIdentityToken has no resource to name; its conditions are checked below.
        if actions != ["sts:GetWebIdentityToken"] {
            assert!(
                !resources.iter().any(|r| r == "*"),
                "wildcard resource in {statement:?}"
            );
        }
        if actions.iter().any(|a| a == "secretsmanager:GetSecretValue") {
            assert_eq!(actions, ["secretsmanager:GetSecretValue"]);
            assert_eq!(
                resources,
                ["${SecretArn}"],
                "GetSecretValue must name the secret parameter only"
            );
        }
        if actions.iter().any(|a| a.starts_with("dynamodb:")) {
            assert_eq!(
                resources,
                ["StateTable.Arn"],
                "DynamoDB actions must name the state table only"
            );
        }
        if actions.iter().any(|a| a == "kms:Decrypt") {
            assert_eq!(resources, ["SecretKmsKeyArn"]);
            let via = &statement["Condition"]["StringEquals"]["kms:ViaService"];
            // URLSuffix, not amazonaws.com: the China Regions' endpoints end in .com.cn.
            assert_eq!(
                via.as_str(),
                Some("secretsmanager.${AWS::Region}.${AWS::URLSuffix}"),
                "kms:Decrypt needs kms:ViaService for every partition"
            );
        }
    }
    let reads_secret = statements.iter().any(|s| {
        strings(&s["Action"])
            .iter()
            .any(|a| a == "secretsmanager:GetSecretValue")
    });
    assert!(reads_secret, "the role must be able to read the secret");
}

fn parameter<'a>(template: &'a Yaml, name: &str) -> &'a Yaml {
    let parameter = &template["Parameters"][name];
    assert!(parameter.as_hash().is_some(), "parameter {name} is missing");
    parameter
}

/// A parameter's default as text (`Default: 3` and `Default: "3"` alike).
fn default_of(template: &Yaml, name: &str) -> String {
    match &parameter(template, name)["Default"] {
        Yaml::String(text) => text.clone(),
        Yaml::Integer(number) => number.to_string(),
        other => panic!("parameter {name} has no scalar default: {other:?}"),
    }
}

fn alarms(template: &Yaml) -> Vec<(&str, &Yaml)> {
    resources_of_type(template, "AWS::CloudWatch::Alarm")
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
    }
}

/// "No successful run for N schedule periods": a heartbeat metric, missing data breaching,
/// N and the period from parameters, off while the schedule is off.
#[test]
fn missed_runs_alarm_fires_after_n_periods_without_a_successful_run() {
    let template = template();
    let found: Vec<_> = alarms(&template)
        .into_iter()
        .filter(|(_, alarm)| alarm["Properties"]["MetricName"].as_str() == Some(SUCCESSFUL_RUNS))
        .collect();
    assert_eq!(found.len(), 1, "one alarm on SuccessfulRuns");
    let (name, alarm) = found[0];
    let properties = &alarm["Properties"];
    assert_eq!(properties["Namespace"].as_str(), Some(METRICS_NAMESPACE));
    assert_eq!(properties["Statistic"].as_str(), Some("Sum"));
    assert_eq!(
        properties["ComparisonOperator"].as_str(),
        Some("LessThanThreshold")
    );
    assert_eq!(properties["Threshold"].as_i64(), Some(1));
    assert_eq!(properties["TreatMissingData"].as_str(), Some("breaching"));
    assert_eq!(strings(&properties["AlarmActions"]), ["AlarmTopic"]);
    assert_eq!(
        properties["Dimensions"][0]["Value"].as_str(),
        Some("SyncFunction")
    );

    // N consecutive periods, N a parameter.
    let n = properties["EvaluationPeriods"]
        .as_str()
        .expect("N is a parameter");
    assert_eq!(properties["DatapointsToAlarm"].as_str(), Some(n));
    assert_eq!(parameter(&template, n)["Type"].as_str(), Some("Number"));
    assert_eq!(parameter(&template, n)["MinValue"].as_i64(), Some(0));

    // The period is one schedule period, in seconds, for every allowed value.
    let period = strings(&properties["Period"]);
    let [map, minutes_parameter, key] = &period[..] else {
        panic!("{name}: Period must be !FindInMap [map, parameter, key], not {period:?}");
    };
    let allowed = strings(&parameter(&template, minutes_parameter)["AllowedValues"]);
    assert!(allowed.contains(&default_of(&template, minutes_parameter)));
    let seconds: BTreeMap<u64, i64> = allowed
        .iter()
        .map(|minutes| {
            let seconds = template["Mappings"][map.as_str()][minutes.as_str()][key.as_str()]
                .as_i64()
                .unwrap_or_else(|| panic!("{map} has no {key} for {minutes} minutes"));
            (minutes.parse().expect("minutes are numbers"), seconds)
        })
        .collect();
    for (minutes, seconds) in &seconds {
        assert_eq!(*seconds, *minutes as i64 * 60, "{minutes} minutes");
    }
    // The defaults deploy: CloudWatch allows Period x EvaluationPeriods of at most a day for
    // periods under an hour.
    let default_n: i64 = default_of(&template, n).parse().expect("a number");
    let default_period = seconds[&default_of(&template, minutes_parameter).parse().unwrap()];
    assert!(default_n >= 2, "one late metric must not raise the alarm");
    assert!(default_n * default_period <= 86_400);

    // Off with the schedule, and when N is 0.
    let condition = alarm["Condition"]
        .as_str()
        .expect("the alarm is conditional");
    let text = format!("{:?}", template["Conditions"][condition]);
    assert!(text.contains("ScheduleIsEnabled"), "{condition}: {text}");
    assert!(text.contains(n), "{condition}: {text}");
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

#[test]
fn an_alarm_fires_when_the_client_secret_has_less_than_30_days() {
    let template = template();
    let alarms = resources_of_type(&template, "AWS::CloudWatch::Alarm");
    let (_, alarm) = alarms
        .iter()
        .find(|(_, alarm)| {
            alarm["Properties"]["MetricName"].as_str() == Some("ClientSecretDaysLeft")
        })
        .expect("an alarm on ClientSecretDaysLeft");
    let properties = &alarm["Properties"];
    assert_eq!(properties["Namespace"].as_str(), Some("EntraIdcSync"));
    assert_eq!(properties["Threshold"].as_i64(), Some(30));
    assert_eq!(
        properties["ComparisonOperator"].as_str(),
        Some("LessThanThreshold")
    );
    assert_eq!(strings(&properties["AlarmActions"]), ["AlarmTopic"]);
    assert_eq!(
        properties["Dimensions"][0]["Name"].as_str(),
        Some("FunctionName")
    );
}

#[test]
fn the_scim_token_expiry_health_event_reaches_the_alarm_topic() {
    let template = template();
    let rules = resources_of_type(&template, "AWS::Events::Rule");
    let (rule_name, rule) = rules
        .iter()
        .find(|(_, rule)| {
            strings(&rule["Properties"]["EventPattern"]["detail"]["eventTypeCode"])
                == ["AWS_IAMIDENTITYCENTER_SCIM_BEARER_TOKEN_EXPIRY_NOTIFICATION"]
        })
        .expect("a rule for the SCIM token expiry event");
    let pattern = &rule["Properties"]["EventPattern"];
    assert_eq!(strings(&pattern["source"]), ["aws.health"]);
    assert_eq!(strings(&pattern["detail-type"]), ["AWS Health Event"]);
    let targets = rule["Properties"]["Targets"].as_vec().expect("targets");
    assert_eq!(strings(&targets[0]["Arn"]), ["AlarmTopic"]);
    // The topic policy lets EventBridge publish, for this rule only.
    let policies = resources_of_type(&template, "AWS::SNS::TopicPolicy");
    assert_eq!(policies.len(), 1);
    let statements = policies[0].1["Properties"]["PolicyDocument"]["Statement"]
        .as_vec()
        .expect("statements");
    let events = statements
        .iter()
        .find(|s| s["Principal"]["Service"].as_str() == Some("events.amazonaws.com"))
        .expect("events.amazonaws.com may publish");
    assert_eq!(strings(&events["Action"]), ["sns:Publish"]);
    let source = &events["Condition"]["ArnEquals"]["aws:SourceArn"];
    assert_eq!(
        source.as_str().or_else(|| source[0].as_str()),
        Some(format!("{rule_name}.Arn").as_str()),
        "only this rule may publish"
    );
    assert!(
        statements
            .iter()
            .any(|s| s["Principal"]["Service"].as_str() == Some("cloudwatch.amazonaws.com")),
        "the alarms must still be able to publish once the topic has a policy"
    );
}

#[test]
fn the_dashboard_shows_what_an_operator_looks_at_first() {
    let template = template();
    let dashboards = resources_of_type(&template, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1);
    let body = dashboards[0].1["Properties"]["DashboardBody"]
        .as_str()
        .expect("a DashboardBody (!Sub string)");
    // After !Sub the ${...} become plain strings; any placeholder text keeps the JSON valid.
    let mut substituted = String::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        substituted.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closed ${") + start;
        substituted.push('X');
        rest = &rest[end + 1..];
    }
    substituted.push_str(rest);
    let body: serde_json::Value = serde_json::from_str(&substituted).expect("the body is JSON");
    let widgets = body["widgets"].as_array().expect("widgets");
    let metrics: Vec<String> = widgets
        .iter()
        .filter_map(|w| w["properties"]["metrics"].as_array())
        .flatten()
        .filter_map(|m| m[1].as_str().map(str::to_string))
        .collect();
    for wanted in [
        "Invocations",
        "Errors",
        "Triggered",
        "Skipped",
        "Failed",
        "Provisioned",
        "CycleDuration",
        "ClientSecretDaysLeft",
    ] {
        assert!(
            metrics.iter().any(|m| m == wanted),
            "no {wanted} widget: {metrics:?}"
        );
    }
    let queries: Vec<&str> = widgets
        .iter()
        .filter(|w| w["type"] == "log")
        .filter_map(|w| w["properties"]["query"].as_str())
        .collect();
    assert!(
        queries
            .iter()
            .any(|q| q.contains("check result") && q.contains("failed")),
        "a Logs Insights widget lists the latest failed checks: {queries:?}"
    );
}

/// The role's inline policies as (condition, policy name); `None` for unconditional ones.
/// `!If [Cond, Policy, !Ref AWS::NoValue]` loads as a three-item list.
fn role_policies(template: &Yaml) -> Vec<(Option<String>, String, Yaml)> {
    let role = &template["Resources"]["FunctionRole"]["Properties"]["Policies"];
    let mut out = Vec::new();
    for entry in role.as_vec().expect("FunctionRole has Policies") {
        match entry {
            Yaml::Array(branches) => {
                let condition = branches[0].as_str().map(str::to_string);
                let policy = &branches[1];
                let name = policy["PolicyName"].as_str().unwrap_or_default();
                assert_eq!(branches[2].as_str(), Some("AWS::NoValue"));
                out.push((condition, name.to_string(), policy.clone()));
            }
            policy => out.push((
                None,
                policy["PolicyName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                policy.clone(),
            )),
        }
    }
    out
}

#[test]
fn each_credential_source_gets_only_its_own_permission() {
    let template = template();
    let parameter = &template["Parameters"]["CredentialSource"];
    assert_eq!(parameter["Default"].as_str(), Some("secret"));
    assert_eq!(
        strings(&parameter["AllowedValues"]),
        ["secret", "aws-federation"]
    );
    for value in strings(&parameter["AllowedValues"]) {
        assert!(
            value.parse::<entra_idc_sync::CredentialSource>().is_ok(),
            "{value} must be a value the code accepts"
        );
    }
    assert_eq!(
        strings(&template["Conditions"]["UsesFederation"]),
        ["CredentialSource", "aws-federation"]
    );
    let policies = role_policies(&template);
    let condition_of = |name: &str| {
        policies
            .iter()
            .find(|(_, policy, _)| policy == name)
            .map(|(condition, _, _)| condition.clone())
            .unwrap_or_else(|| panic!("no policy {name}"))
    };
    assert_eq!(
        condition_of("read-entra-credentials-secret").as_deref(),
        Some("UsesSecret")
    );
    assert_eq!(
        condition_of("decrypt-secret-via-secrets-manager").as_deref(),
        Some("HasSecretKmsKey")
    );
    assert_eq!(
        strings(&template["Conditions"]["HasSecretKmsKey"])
            .first()
            .map(String::as_str),
        Some("UsesSecret"),
        "the KMS grant needs CredentialSource secret too"
    );
    assert_eq!(
        condition_of("get-web-identity-token-for-entra").as_deref(),
        Some("UsesFederation")
    );
}

#[test]
fn federation_tokens_are_pinned_to_entra_rs256_and_five_minutes() {
    let template = template();
    let (_, _, policy) = role_policies(&template)
        .into_iter()
        .find(|(_, name, _)| name == "get-web-identity-token-for-entra")
        .expect("the federation policy");
    let statements = policy["PolicyDocument"]["Statement"].as_vec().unwrap();
    assert_eq!(statements.len(), 1);
    let statement = &statements[0];
    assert_eq!(strings(&statement["Action"]), ["sts:GetWebIdentityToken"]);
    let condition = &statement["Condition"];
    assert_eq!(
        condition["ForAllValues:StringEquals"]["sts:IdentityTokenAudience"].as_str(),
        Some(entra_idc_sync::ENTRA_AUDIENCE)
    );
    assert_eq!(
        condition["Null"]["sts:IdentityTokenAudience"].as_str(),
        Some("false"),
        "ForAllValues alone also allows a request without an audience"
    );
    assert_eq!(
        condition["StringEquals"]["sts:SigningAlgorithm"].as_str(),
        Some(entra_idc_sync::SIGNING_ALGORITHM)
    );
    assert_eq!(
        condition["NumericLessThanEquals"]["sts:DurationSeconds"].as_i64(),
        Some(i64::from(entra_idc_sync::TOKEN_DURATION_SECONDS))
    );
}

#[test]
fn the_role_arn_is_an_output_for_the_federated_credential() {
    let template = template();
    let output = &template["Outputs"]["FunctionRoleArn"];
    assert_eq!(output["Value"].as_str(), Some("FunctionRole.Arn"));
}

#[test]
fn state_table_is_on_demand_recoverable_keyed_by_pk_and_reachable_only_by_the_function() {
    let template = template();
    let tables = resources_of_type(&template, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), 1, "exactly one table");
    let (name, table) = tables[0];
    assert_eq!(name, "StateTable");
    let properties = &table["Properties"];
    assert_eq!(properties["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(
        properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    let keys = properties["KeySchema"].as_vec().expect("a key schema");
    assert_eq!(keys.len(), 1, "partition key only");
    assert_eq!(keys[0]["AttributeName"].as_str(), Some("pk"));
    assert_eq!(keys[0]["KeyType"].as_str(), Some("HASH"));
    let attributes = properties["AttributeDefinitions"]
        .as_vec()
        .expect("attributes");
    assert_eq!(attributes.len(), 1);
    assert_eq!(attributes[0]["AttributeType"].as_str(), Some("S"));
    assert!(
        properties["TableName"].is_badvalue(),
        "a fixed table name collides between two stacks"
    );

    let mut statements = Vec::new();
    granted_statements(&template["Resources"], &mut statements);
    let state: Vec<_> = statements
        .iter()
        .filter(|s| {
            strings(&s["Action"])
                .iter()
                .any(|a| a.starts_with("dynamodb:"))
        })
        .collect();
    assert_eq!(state.len(), 1, "one statement grants the state table");
    assert_eq!(strings(&state[0]["Action"]), STATE_TABLE_ACTIONS);
    assert_eq!(strings(&state[0]["Resource"]), ["StateTable.Arn"]);
}
