//! Topic routing, the SNS publish, and parking in the dead-letter queue.

mod clients;
mod park;
mod sns;

pub use clients::{Sinks, SNS_TIMEOUTS, SQS_TIMEOUTS};
pub use park::{ParkError, ParkReason, Parked, ParkedRecord};
pub use sns::{message_attributes, PublishError};

/// SNS and SQS refuse the two Unicode non-characters U+FFFE and U+FFFF even
/// inside JSON strings; serde_json writes them raw, so escape them here.
pub fn xml_safe(json: String) -> String {
    if json.contains(['\u{fffe}', '\u{ffff}']) {
        json.replace('\u{fffe}', "\\ufffe").replace('\u{ffff}', "\\uffff")
    } else {
        json
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn xml_safe_escapes_non_characters_and_keeps_json_equal() {
        let json = serde_json::to_string("a\u{ffff}b\u{fffe}").unwrap();
        let safe = super::xml_safe(json);
        assert_eq!(safe, r#""a\uffffb\ufffe""#);
        assert_eq!(serde_json::from_str::<String>(&safe).unwrap(), "a\u{ffff}b\u{fffe}");
    }
}
