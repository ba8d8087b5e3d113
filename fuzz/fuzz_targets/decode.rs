//! decode → normalize → encode on arbitrary bytes: never a panic; an error
//! always names a known reason; a change always encodes and reads back equal.
#![no_main]

use cc_number_relay::change::Change;
use cc_number_relay::notification::{decode, Inbound};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Ok(Inbound::Change(change)) => {
            let json = change.to_json();
            let back: Change = serde_json::from_str(&json).expect("a change reads back");
            assert_eq!(&back, change.as_ref());
        }
        Ok(Inbound::RenewalReminder { .. }) => {}
        Err(e) => {
            assert!(!e.reason().is_empty());
            assert!(!e.to_string().is_empty());
        }
    }
});
