//! The phone-number resource over HTTP: the Contact Center list, paged and
//! paced for RingCentral's Heavy rate group, and one number by id.
//!
//! One get per vanished number rather than RingCentral's batch syntax: its
//! answer is a 207 multipart/mixed whose error parts do not name their id,
//! and a reconciliation looks up only the few numbers that left the list.

use super::client::{Client, Method};
use super::error::{ErrorBody, RingCentralError as Error};
use super::subscription::expect_ok;
use super::{Listing, PhoneNumbersApi};
use crate::change::{NumberState, PhoneNumberId};
use crate::notification::decode_number;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::time::Duration;

const LIST: &str = "/restapi/v1.0/account/~/phone-number?usageType=ContactCenterNumber&perPage=1000";
const ONE: &str = "/restapi/v1.0/account/~/phone-number";
/// The list is in the Heavy group, 10 requests a minute by default: one page
/// every 6 s stays under it even with another client of the same app.
pub const HEAVY_PAGE_INTERVAL: Duration = Duration::from_secs(6);
/// A guard against a server that never says "last page".
const MAX_PAGES: u32 = 1000;

/// The client, and the pause between list pages.
pub struct PhoneNumbers<'a> {
    pub client: &'a Client,
    pub page_interval: Duration,
}

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(default, borrow)]
    records: Vec<&'a RawValue>,
    #[serde(default)]
    navigation: Navigation,
    #[serde(default)]
    paging: Paging,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Navigation {
    next_page: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Paging {
    page: Option<u32>,
    total_pages: Option<u32>,
}

impl Page<'_> {
    /// `totalPages` may be omitted "for performance reasons": `nextPage` then decides.
    fn is_last(&self, page: u32) -> bool {
        if self.records.is_empty() {
            return true;
        }
        match (self.paging.total_pages, &self.navigation.next_page) {
            (Some(total), _) => self.paging.page.unwrap_or(page) >= total,
            (None, next) => next.is_none(),
        }
    }
}

impl PhoneNumbersApi for PhoneNumbers<'_> {
    fn contact_center_numbers(&self, on_page: &mut dyn FnMut(u32, usize)) -> Result<Listing, Error> {
        let operation = "listing Contact Center numbers";
        let mut listing = Listing::default();
        for page in 1..=MAX_PAGES {
            if page > 1 {
                std::thread::sleep(self.page_interval);
            }
            let answer = self
                .client
                .api(Method::Get, &format!("{LIST}&page={page}"), None, operation)?;
            expect_ok(&answer, operation)?;
            let parsed: Page<'_> = serde_json::from_str(&answer.body).map_err(|e| Error::InvalidAnswer {
                operation,
                detail: e.to_string(),
            })?;
            for (at, record) in parsed.records.iter().enumerate() {
                match decode_number(record.get().as_bytes()) {
                    Ok(number) => listing.numbers.push(number),
                    Err(e) => listing
                        .unreadable
                        .push((raw_id(record).unwrap_or(format!("page {page} #{at}")), e)),
                }
            }
            listing.pages = page;
            on_page(page, listing.numbers.len());
            if parsed.is_last(page) {
                break;
            }
        }
        Ok(listing)
    }

    fn number(&self, id: &PhoneNumberId) -> Result<Option<NumberState>, Error> {
        let operation = "reading a phone number";
        let path = format!("{ONE}/{}", id_segment(id)?);
        let answer = self.client.api(Method::Get, &path, None, operation)?;
        let body = ErrorBody::parse(&answer.body);
        // RingCentral's generic not-found is CMN-102, with 404 or sometimes 400.
        if answer.status == 404 || (answer.status == 400 && body.code() == Some("CMN-102")) {
            return Ok(None);
        }
        expect_ok(&answer, operation)?;
        decode_number(answer.body.as_bytes())
            .map(Some)
            .map_err(|e| Error::InvalidAnswer {
                operation,
                detail: e.to_string(),
            })
    }
}

/// The raw id of a record that did not decode, for the report.
fn raw_id(record: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Id {
        id: serde_json::Value,
    }
    let id = serde_json::from_str::<Id>(record.get()).ok()?.id;
    Some(match id {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

/// Ids are digits in RingCentral; anything else must not leave the path.
fn id_segment(id: &PhoneNumberId) -> Result<&str, Error> {
    let text = id.as_str();
    if text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(text)
    } else {
        Err(Error::InvalidAnswer {
            operation: "reading a phone number",
            detail: format!("{text:?} is not a phone number id"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(json: &str) -> Page<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_last_page_is_told_by_paging_or_navigation() {
        assert!(!page(r#"{"records":[{}],"paging":{"page":1,"totalPages":3}}"#).is_last(1));
        assert!(page(r#"{"records":[{}],"paging":{"page":3,"totalPages":3}}"#).is_last(3));
        assert!(!page(r#"{"records":[{}],"navigation":{"nextPage":{"uri":"x"}}}"#).is_last(1));
        assert!(page(r#"{"records":[{}],"navigation":{}}"#).is_last(1));
        assert!(page(r#"{"records":[],"navigation":{"nextPage":{"uri":"x"}}}"#).is_last(1));
    }
}
