//! `Retry-After`: `parse_retry_after` on seconds, HTTP dates and anything else.

use std::time::{Duration, UNIX_EPOCH};

use entra_idc_sync::parse_retry_after;
use proptest::prelude::*;

use crate::common::config;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_retry_after_value_gives_a_pause_or_none(
        value in prop_oneof![
            any::<String>(),
            "[A-Za-z]{3}, [0-9]{1,2} [A-Za-z]{3} [0-9]{1,5} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT",
            "[ \t]{0,2}[0-9]{1,25}[ \t]{0,2}",
        ],
        now in 0u64..=253_402_300_799,
    ) {
        let now = UNIX_EPOCH + Duration::from_secs(now);
        let pause = parse_retry_after(&value, now);
        if let Ok(seconds) = value.trim().parse::<u64>() {
            prop_assert_eq!(pause, Some(Duration::from_secs(seconds)));
        }
    }

    #[test]
    fn retry_after_dates_give_the_time_left_until_them(
        at in 0u64..=253_402_300_799,
        now in 0u64..=253_402_300_799,
    ) {
        let text = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(at));
        let pause = parse_retry_after(&text, UNIX_EPOCH + Duration::from_secs(now));
        prop_assert_eq!(pause, Some(Duration::from_secs(at.saturating_sub(now))), "{}", text);
    }
}
