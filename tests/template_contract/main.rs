//! template.yaml and the code must agree: the function's environment is exactly the
//! configuration contract, the function is the runtime and format we build for, and its role
//! can read the one secret and nothing broader.
//!
//! CloudFormation short-form tags (`!Ref X`, `!Sub ...`) load as their plain values, so
//! `!Ref SecretArn` reads as the string `SecretArn`.

use yaml_rust2::{Yaml, YamlLoader};

mod function;
mod monitoring;
mod role;
mod state_table;

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
