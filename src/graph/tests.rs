use super::*;

#[test]
fn display_name_filter_escapes_quotes_and_encodes_everything() {
    assert_eq!(
        display_name_query("O'Brien & Co/AWS"),
        "$filter=displayName%20eq%20%27O%27%27Brien%20%26%20Co%2FAWS%27&$select=id,appId,displayName"
    );
}
