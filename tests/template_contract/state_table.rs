//! The state table: billing, recovery, key schema and who may reach it.

use super::*;

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
