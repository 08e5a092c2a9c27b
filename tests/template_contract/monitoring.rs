//! What an operator is told: the missed-runs and credential alarms, health events, the dashboard.

use std::collections::BTreeMap;

use entra_idc_sync::{METRICS_NAMESPACE, SUCCESSFUL_RUNS};

use super::*;

fn alarms(template: &Yaml) -> Vec<(&str, &Yaml)> {
    resources_of_type(template, "AWS::CloudWatch::Alarm")
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
