//! The function's role: what it may read and call, per credential source, and federation's limits.

use super::*;

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
