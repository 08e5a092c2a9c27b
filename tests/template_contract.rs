//! template.yaml and the code must agree: the function's environment is exactly the
//! configuration contract, the function is the runtime and format we build for, and its role
//! can read the one secret and nothing broader.
//!
//! CloudFormation short-form tags (`!Ref X`, `!Sub ...`) load as their plain values, so
//! `!Ref SecretArn` reads as the string `SecretArn`.

use std::collections::BTreeSet;

use entra_idc_sync::config::FUNCTION_ENVIRONMENT;
use yaml_rust2::{Yaml, YamlLoader};

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
        let parameter = value.as_str().unwrap_or_default();
        assert!(
            template["Parameters"][parameter].as_hash().is_some(),
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
    assert_eq!(properties["ReservedConcurrentExecutions"].as_i64(), Some(1));
}

#[test]
fn role_reads_only_the_named_secret_and_writes_only_logs() {
    let template = template();
    let mut statements = Vec::new();
    granted_statements(&template["Resources"], &mut statements);
    assert!(!statements.is_empty(), "no IAM statements found");
    let allowed = [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
    ];
    for statement in &statements {
        assert_eq!(statement["Effect"].as_str(), Some("Allow"));
        let actions = strings(&statement["Action"]);
        let resources = strings(&statement["Resource"]);
        assert!(
            !resources.iter().any(|r| r == "*"),
            "wildcard resource in {statement:?}"
        );
        for action in &actions {
            assert!(
                allowed.contains(&action.as_str()),
                "unexpected action {action}"
            );
        }
        if actions.iter().any(|a| a == "secretsmanager:GetSecretValue") {
            assert_eq!(actions, ["secretsmanager:GetSecretValue"]);
            assert_eq!(
                resources,
                ["SecretArn"],
                "GetSecretValue must name the secret parameter only"
            );
        }
        if actions.iter().any(|a| a == "kms:Decrypt") {
            assert_eq!(resources, ["SecretKmsKeyArn"]);
            let via = &statement["Condition"]["StringEquals"]["kms:ViaService"];
            assert!(
                via.as_str()
                    .is_some_and(|v| v.starts_with("secretsmanager.")),
                "kms:Decrypt needs kms:ViaService"
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
