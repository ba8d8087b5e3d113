//! The stand-in's phone-number resource, as `PHONE-NUMBERS-API.md` in
//! shared/ringcentral collects RingCentral's documents:
//! `GET /restapi/v1.0/account/~/phone-number` lists the account's numbers
//! (ids as int64), filtered by a repeated `usageType`, paged by `page` and
//! `perPage` (the stand-in caps a page at `page_cap`, as RingCentral caps it
//! at 1000), with `paging` and `navigation`; the list is in the Heavy rate
//! group, limited on its own. `GET …/phone-number/{id}` answers one number,
//! or 404 `CMN-102` naming `phoneNumberId`.
//!
//! Each account has its own numbers. `{accountId}` is `~` (the caller's
//! account) or the caller's own id; another account's id (or an unknown
//! one) is 403 `CMN-101` naming `accountId` (see [`other_account`]).

use super::{answer, api_error, rate_limited, Answer, RateLimit, Request, StandIn, State, DEFAULT_ACCOUNT_ID};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const PATH: &str = "/restapi/v1.0/account/";
const MAX_PER_PAGE: usize = 1000;

#[derive(Default)]
pub struct Numbers {
    /// By account id, then by number id (RingCentral's int64).
    pub(super) records: BTreeMap<String, BTreeMap<u64, Value>>,
    /// Most records per page, below RingCentral's 1000 so that few numbers make many pages.
    page_cap: Option<usize>,
    /// Leave out `totalPages`/`totalElements`, as RingCentral may "for performance reasons".
    omit_totals: bool,
    heavy_limit: Option<RateLimit>,
}

/// One number of the default account as the list shows it.
pub fn record(id: u64, e164: &str, usage_type: &str) -> Value {
    record_in(DEFAULT_ACCOUNT_ID, id, e164, usage_type)
}

/// One number of `account_id` as the list shows it (its `uri` names the account).
pub fn record_in(account_id: &str, id: u64, e164: &str, usage_type: &str) -> Value {
    json!({
        "uri": format!("https://platform.ringcentral.com/restapi/v1.0/account/{account_id}/phone-number/{id}"),
        "id": id,
        "phoneNumber": e164,
        "paymentType": "Local",
        "location": "Washington, DC",
        "type": "VoiceFax",
        "usageType": usage_type,
        "status": "Normal",
        "contactCenterProvider": {"id": "12345", "name": "ProviderName"},
        "label": "stand-in",
        "primary": false,
    })
}

impl StandIn {
    /// Adds or replaces a number of the default account (a change
    /// RingCentral makes). Another account's: [`super::Account::put_number`].
    pub fn put_number(&self, record: Value) {
        self.account(DEFAULT_ACCOUNT_ID).put_number(record);
    }

    /// The ids of the default account's Contact Center numbers now: the
    /// truth a subscriber's directory must converge to.
    pub fn contact_center_ids(&self) -> std::collections::BTreeSet<String> {
        self.account(DEFAULT_ACCOUNT_ID).contact_center_ids()
    }

    /// The default account no longer has it.
    pub fn remove_number(&self, id: u64) {
        self.account(DEFAULT_ACCOUNT_ID).remove_number(id);
    }

    pub fn set_page_cap(&self, records: usize) {
        self.with(|s| s.numbers.page_cap = Some(records));
    }

    pub fn omit_totals(&self) {
        self.with(|s| s.numbers.omit_totals = true);
    }

    /// The next `requests` list requests (Heavy group) get 429 with this Retry-After.
    pub fn heavy_rate_limit(&self, requests: u32, retry_after: u64) {
        self.with(|s| {
            s.numbers.heavy_limit = Some(RateLimit {
                remaining: requests,
                retry_after,
                penalty_until: None,
            })
        });
    }

    /// Requests to the phone-number resource so far: (list pages, gets by id).
    pub fn phone_number_requests(&self) -> (usize, usize) {
        let log = self.log();
        let ours = log.iter().filter(|l| l.path.starts_with(PATH) && l.status != 429);
        let (lists, gets): (Vec<_>, Vec<_>) = ours.partition(|l| l.path.ends_with("/phone-number"));
        (lists.len(), gets.len())
    }
}

/// `account`: the caller's, as its access token carries it.
pub(super) fn route(request: &Request, state: &Arc<Mutex<State>>, server: &str, account: &str) -> Answer {
    let rest = &request.path[PATH.len()..];
    let Some((named, resource)) = rest.split_once('/') else {
        return api_error(404, "CMN-102", "Resource is not found");
    };
    if named != "~" && named != account {
        return other_account();
    }
    let segments: Vec<&str> = resource.split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["phone-number"]) => list(request, &mut state.lock().unwrap(), server, account),
        ("GET", ["phone-number", id]) => one(id, &state.lock().unwrap(), account),
        _ => api_error(404, "CMN-102", "Resource is not found"),
    }
}

/// `{accountId}` naming an account other than the caller's. RingCentral
/// documents no code for it, and the spec's phone-number operations list
/// no 403: the stand-in answers 403 `CMN-101` "Parameter [accountId] value
/// is invalid" (RingCentral's errors guide gives CMN-101 with HTTP 400 or
/// 403), with `parameterName`. A 403 rather than a 404: "not found" is what
/// a reader takes for a number that is gone.
pub(super) fn other_account() -> Answer {
    let message = "Parameter [accountId] value is invalid";
    answer(
        403,
        json!({"errorCode": "CMN-101", "message": message,
               "errors": [{"errorCode": "CMN-101", "message": message, "parameterName": "accountId"}]}),
    )
}

fn list(request: &Request, s: &mut State, server: &str, account: &str) -> Answer {
    if let Some(limit) = s.numbers.heavy_limit.as_mut() {
        let now = Instant::now();
        if let Some(until) = limit.penalty_until.filter(|u| now < *u) {
            // A request during the penalty restarts it.
            limit.penalty_until = Some(now + Duration::from_secs(limit.retry_after));
            return rate_limited((until - now).as_secs().max(1));
        }
        if limit.remaining > 0 {
            limit.remaining -= 1;
            limit.penalty_until = Some(now + Duration::from_secs(limit.retry_after));
            return rate_limited(limit.retry_after);
        }
    }
    let query: Vec<(String, String)> = form_urlencoded::parse(request.query.as_bytes()).into_owned().collect();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let usage_types: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "usageType")
        .map(|(_, v)| v.as_str())
        .collect();
    let per_page = param("perPage").and_then(|v| v.parse::<usize>().ok()).unwrap_or(100);
    let per_page = per_page.clamp(1, s.numbers.page_cap.unwrap_or(MAX_PER_PAGE));
    let page = param("page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).max(1);
    let matching: Vec<&Value> = s
        .numbers
        .records
        .get(account)
        .into_iter()
        .flat_map(BTreeMap::values)
        .filter(|r| usage_types.is_empty() || usage_types.contains(&r["usageType"].as_str().unwrap_or_default()))
        .collect();
    let total_pages = matching.len().div_ceil(per_page).max(1);
    let start = (page - 1) * per_page;
    let records: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(per_page)
        .map(|r| s.knobs.shape.number((*r).clone()))
        .collect();
    let base = format!("{server}/restapi/v1.0/account/{account}/phone-number");
    let page_uri = |n: usize| json!({"uri": format!("{base}?page={n}&perPage={per_page}")});
    let mut navigation = json!({"firstPage": page_uri(1), "lastPage": page_uri(total_pages)});
    if page < total_pages {
        navigation["nextPage"] = page_uri(page + 1);
    }
    if page > 1 {
        navigation["previousPage"] = page_uri(page - 1);
    }
    let mut paging = json!({"page": page, "perPage": per_page, "pageStart": start, "pageEnd": start + records.len().saturating_sub(1)});
    if !s.numbers.omit_totals {
        paging["totalPages"] = json!(total_pages);
        paging["totalElements"] = json!(matching.len());
    }
    let mut a = answer(
        200,
        s.knobs
            .shape
            .list(json!({"uri": base, "records": records, "paging": paging, "navigation": navigation})),
    );
    a.headers.push(("X-Rate-Limit-Group".to_owned(), "heavy".to_owned()));
    a
}

fn one(id: &str, s: &State, account: &str) -> Answer {
    let records = s.numbers.records.get(account);
    match id.parse::<u64>().ok().and_then(|id| records?.get(&id)) {
        Some(record) => {
            let mut a = answer(200, s.knobs.shape.number(record.clone()));
            a.headers.push(("X-Rate-Limit-Group".to_owned(), "light".to_owned()));
            a
        }
        None => api_error(404, "CMN-102", "Resource for parameter [phoneNumberId] is not found"),
    }
}
