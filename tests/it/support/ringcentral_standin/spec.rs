//! The stand-in held to RingCentral's published API: every request it
//! receives and every answer it gives is checked against the shapes of
//! `openapi-shapes.json`, so that a stand-in answer no RingCentral could
//! give, or a client request RingCentral would refuse, fails the test.
//!
//! `tests/fixtures/ringcentral/openapi-shapes.json` is shared/ringcentral's
//! extract of RingCentral's official OpenAPI 3.0.1 spec
//! (ringcentral/ringcentral-api-docs, `specs/ringcentral_openapi3.json`,
//! commit 64067a5, API 1.0.46; its own `info.x-source` says so), prose
//! removed: the one copy the tests and `src/ringcentral/error.rs` share.
//!
//! What is checked:
//! - the request: its path names an operation (the spec's paths and
//!   methods); path, query and header parameters against their schemas
//!   (an undeclared query parameter is a violation too: RingCentral would
//!   ignore it, so a misspelt one would go unnoticed); the JSON body or the
//!   token's form body against the requestBody schema, with its Content-Type;
//! - the answer: the schema of its status code, else for an error the
//!   `ErrorResponse` component (the spec's phone-number operations declare
//!   only a `default` answer, which is the success shape), else `default`;
//!   an empty body where the spec gives no content (204); every
//!   `errors[].errorCode` of an error answer among the operation's
//!   `x-error-codes` for that HTTP status, or in [`GENERIC_CODES`];
//!   `X-Rate-Limit-Group`, when sent, naming the operation's
//!   `x-throttling-group`.
//!
//! OpenAPI 3.0 schemas are checked as JSON Schema draft 7 (they are a
//! subset, near enough). Each schema is compiled inside a document that
//! holds the spec's `components`, so a `$ref: #/components/schemas/…`
//! resolves. One documented exception widens the spec: the subscription
//! `status` enum also admits `Blocked`, a value RingCentral's changelog
//! (1.0.33) names and the spec's enum does not.

use jsonschema::Validator;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

const SHAPES: &str = include_str!("../../../fixtures/ringcentral/openapi-shapes.json");

/// Error codes any operation may answer though its `x-error-codes` leave
/// them out: (HTTP status, code, why).
pub const GENERIC_CODES: &[(u16, &str, &str)] = &[
    (
        400,
        "CMN-101",
        "a parameter's value is invalid: RingCentral's errors guide, any endpoint",
    ),
    (
        404,
        "CMN-102",
        "the resource is not found: RingCentral's errors guide, any endpoint",
    ),
    (
        403,
        "CMN-101",
        "a parameter's value is invalid, HTTP 400 or 403 in RingCentral's errors guide: the stand-in's answer to an `{accountId}` naming another account",
    ),
    (
        403,
        "CMN-408",
        "the app lacks a permission: RingCentral's errors guide, any endpoint",
    ),
    (
        429,
        "CMN-301",
        "the rate group's limit: every operation has an x-throttling-group",
    ),
    (503, "CMN-201", "service temporarily unavailable: any endpoint"),
    (401, "OAU-128", "access token expired: any authorized endpoint"),
    (401, "OAU-213", "token not found: any authorized endpoint"),
    (
        400,
        "SUB-528",
        "renewing a Blacklisted subscription: RingCentral documents no code for it; the stand-in's choice",
    ),
];

/// A place where a request or an answer breaks the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The spec's operationId, or the method and path when none matches.
    pub operation: String,
    /// "request", or "answer 200" and the like.
    pub direction: String,
    /// JSON pointer into the body (or `/query/perPage`, `/path/subscriptionId`, `/header/Authorization`).
    pub pointer: String,
    /// The broken rule: the schema path and what is wrong.
    pub rule: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: at `{}`: {}",
            self.operation, self.direction, self.pointer, self.rule
        )
    }
}

/// One operation of the spec.
pub struct Operation {
    pub id: String,
    pub method: String,
    template: Vec<String>,
    /// JSON pointer of the operation object in the document.
    at: String,
}

impl Operation {
    fn node(&self) -> &'static Value {
        spec().document.pointer(&self.at).unwrap_or(&Value::Null)
    }

    /// The path parameters, when `path` fits the template.
    fn fit(&self, path: &str) -> Option<Vec<(String, String)>> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segments.len() != self.template.len() {
            return None;
        }
        let mut params = vec![];
        for (t, s) in self.template.iter().zip(segments) {
            match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                Some(name) => params.push((name.to_owned(), s.to_owned())),
                None if t == s => {}
                None => return None,
            }
        }
        Some(params)
    }
}

struct Spec {
    document: Value,
    operations: Vec<Operation>,
    compiled: Mutex<HashMap<String, Arc<Validator>>>,
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let document: Value = serde_json::from_str(SHAPES).expect("openapi-shapes.json is JSON");
        let mut operations = vec![];
        for (path, item) in document["paths"].as_object().expect("the spec has paths") {
            for (method, node) in item.as_object().expect("a path item is an object") {
                operations.push(Operation {
                    id: node["operationId"]
                        .as_str()
                        .expect("every operation has an id")
                        .to_owned(),
                    method: method.to_uppercase(),
                    template: path.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                    at: format!("/paths/{}/{method}", escape(path)),
                });
            }
        }
        Spec {
            document,
            operations,
            compiled: Mutex::new(HashMap::new()),
        }
    })
}

/// The spec document, for tests that take values from it (enums, error codes).
pub fn document() -> &'static Value {
    &spec().document
}

pub fn operation(id: &str) -> &'static Operation {
    spec()
        .operations
        .iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("the spec has no operation {id}"))
}

/// The enum of a property of the phone-number record (`usageType`,
/// `paymentType`, `type`), or of the subscription (`status`), as the spec gives it.
pub fn enum_values(schema_pointer: &str) -> Vec<String> {
    document()
        .pointer(schema_pointer)
        .and_then(|v| v["enum"].as_array())
        .unwrap_or_else(|| panic!("no enum at {schema_pointer}"))
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// The spec's (HTTP status, message) for an error code of an operation.
pub fn error_code(operation_id: &str, code: &str) -> Option<(u16, String)> {
    operation(operation_id).node()["x-error-codes"]
        .as_array()?
        .iter()
        .find(|e| e["errorCode"] == code)
        .and_then(|e| Some((e["httpCode"].as_str()?.parse().ok()?, e["message"].as_str()?.to_owned())))
}

/// The documented exception: `Blocked` joins the subscription status enum.
fn widen(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Array(values)) = map.get_mut("enum") {
                if values.contains(&json!("Suspended")) && values.contains(&json!("Blacklisted")) {
                    values.push(json!("Blocked"));
                }
            }
            map.values_mut().for_each(widen);
        }
        Value::Array(items) => items.iter_mut().for_each(widen),
        _ => {}
    }
}

/// The validator of the schema at `pointer`, compiled once.
fn validator(pointer: &str) -> Arc<Validator> {
    let spec = spec();
    let mut compiled = spec.compiled.lock().unwrap();
    compiled
        .entry(pointer.to_owned())
        .or_insert_with(|| {
            let mut schema = spec
                .document
                .pointer(pointer)
                .unwrap_or_else(|| panic!("no schema at {pointer}"))
                .clone();
            widen(&mut schema);
            // `allOf` rather than the schema itself at the root: the root
            // must hold `components` for `#/components/…` to resolve.
            let root = json!({"components": spec.document["components"], "allOf": [schema]});
            Arc::new(
                jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft7)
                    .should_validate_formats(true)
                    .build(&root)
                    .unwrap_or_else(|e| panic!("the schema at {pointer} does not compile: {e}")),
            )
        })
        .clone()
}

/// Where a check happens, to name it in a violation.
struct Place<'a> {
    operation: &'a str,
    direction: String,
}

impl Place<'_> {
    fn violation(&self, pointer: impl Into<String>, rule: impl Into<String>) -> Violation {
        Violation {
            operation: self.operation.to_owned(),
            direction: self.direction.clone(),
            pointer: pointer.into(),
            rule: rule.into(),
        }
    }

    /// `instance` against the schema at `pointer`; `prefix` goes before each instance path.
    /// In order of pointer, then rule: the validator's own order follows its keywords.
    fn check(&self, pointer: &str, instance: &Value, prefix: &str) -> Vec<Violation> {
        let validator = validator(pointer);
        let mut found: Vec<Violation> = validator
            .iter_errors(instance)
            .map(|e| {
                // `/allOf/0` is the wrapping in `validator`, not the spec's.
                let rule = e.schema_path.as_str().replacen("/allOf/0", "", 1);
                self.violation(format!("{prefix}{}", e.instance_path.as_str()), format!("{rule}: {e}"))
            })
            .collect();
        found.sort_by(|a, b| (&a.pointer, &a.rule).cmp(&(&b.pointer, &b.rule)));
        found
    }
}

/// A parameter's text as its schema's type reads it (a path or query
/// parameter is text on the wire); text that is not of the type stays text
/// and fails the type check.
fn typed(raw: &str, schema: &Value) -> Value {
    let parsed = match schema["type"].as_str() {
        Some("integer") => raw.parse::<i64>().ok().map(Value::from),
        Some("number") => raw.parse::<f64>().ok().map(Value::from),
        Some("boolean") => raw.parse::<bool>().ok().map(Value::from),
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::String(raw.to_owned()))
}

/// What the stand-in received, as the checks need it.
pub struct Received<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// The operation the request names, and what in it breaks the spec.
pub fn check_request(r: &Received) -> (Option<&'static Operation>, Vec<Violation>) {
    let spec = spec();
    let matched = spec
        .operations
        .iter()
        .find_map(|o| o.fit(r.path).filter(|_| o.method == r.method).map(|p| (o, p)));
    let Some((op, path_params)) = matched else {
        let place = Place {
            operation: &format!("{} {}", r.method, r.path),
            direction: "request".to_owned(),
        };
        let rule = if spec.operations.iter().any(|o| o.fit(r.path).is_some()) {
            "the spec has no operation for this method on this path"
        } else {
            "the spec has no path like this"
        };
        return (None, vec![place.violation("", rule)]);
    };
    let place = Place {
        operation: &op.id,
        direction: "request".to_owned(),
    };
    let mut found = vec![];
    let query: Vec<(String, String)> = form_urlencoded::parse(r.query.as_bytes()).into_owned().collect();
    let params = op.node()["parameters"].as_array().cloned().unwrap_or_default();
    for (i, param) in params.iter().enumerate() {
        let name = param["name"].as_str().unwrap_or_default();
        let schema_at = format!("{}/parameters/{i}/schema", op.at);
        let schema = &param["schema"];
        let value = match param["in"].as_str() {
            Some("path") => path_params
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| typed(v, schema)),
            Some("header") => super::raw::header(r.headers, name).map(|v| Value::String(v.to_owned())),
            Some("query") => {
                let values: Vec<&str> = query
                    .iter()
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
                    .collect();
                match (values.as_slice(), schema["type"].as_str()) {
                    ([], _) => None,
                    (all, Some("array")) => {
                        Some(Value::Array(all.iter().map(|v| typed(v, &schema["items"])).collect()))
                    }
                    ([one], _) => Some(typed(one, schema)),
                    _ => {
                        found.push(
                            place.violation(format!("/query/{name}"), "repeated, but its schema is not an array"),
                        );
                        None
                    }
                }
            }
            _ => None,
        };
        let location = param["in"].as_str().unwrap_or_default();
        match value {
            Some(value) => found.extend(place.check(&schema_at, &value, &format!("/{location}/{name}"))),
            None if param["required"] == true => {
                found.push(place.violation(format!("/{location}/{name}"), "required parameter is missing"))
            }
            None => {}
        }
    }
    for (name, _) in &query {
        let declared = params.iter().any(|p| p["in"] == "query" && p["name"] == name.as_str());
        if !declared {
            found.push(place.violation(
                format!("/query/{name}"),
                "the operation declares no such query parameter",
            ));
        }
    }
    found.extend(check_body(op, &place, r));
    (Some(op), found)
}

fn check_body(op: &Operation, place: &Place, r: &Received) -> Vec<Violation> {
    let body_spec = &op.node()["requestBody"];
    let Some(content) = body_spec["content"].as_object() else {
        return vec![];
    };
    if r.body.is_empty() {
        return match body_spec["required"] == true {
            true => vec![place.violation("", "the request body is required")],
            false => vec![],
        };
    }
    let Some(media) = content.keys().next() else {
        return vec![];
    };
    let schema_at = format!("{}/requestBody/content/{}/schema", op.at, escape(media));
    let mut found = vec![];
    let content_type = super::raw::header(r.headers, "content-type").unwrap_or_default();
    if !content_type.starts_with(media.as_str()) {
        found.push(place.violation(
            "/header/Content-Type",
            format!("the body is {media}, but Content-Type is `{content_type}`"),
        ));
    }
    let instance = match media.as_str() {
        "application/x-www-form-urlencoded" => {
            let mut form = serde_json::Map::new();
            for (k, v) in form_urlencoded::parse(r.body) {
                if form
                    .insert(k.clone().into_owned(), Value::String(v.into_owned()))
                    .is_some()
                {
                    found.push(place.violation(format!("/{k}"), "a form field given twice"));
                }
            }
            Value::Object(form)
        }
        _ => match serde_json::from_slice(r.body) {
            Ok(value) => value,
            Err(e) => {
                found.push(place.violation("", format!("the body is not JSON: {e}")));
                return found;
            }
        },
    };
    found.extend(place.check(&schema_at, &instance, ""));
    found
}

/// What in an answer to `op` breaks the spec.
pub fn check_answer(op: &Operation, status: u16, headers: &[(String, String)], body: &str) -> Vec<Violation> {
    let place = Place {
        operation: &op.id,
        direction: format!("answer {status}"),
    };
    let node = op.node();
    let responses = &node["responses"];
    let key = status.to_string();
    let (response_at, response) = if responses.get(&key).is_some() {
        (format!("{}/responses/{key}", op.at), &responses[&key])
    } else if status >= 400 {
        return check_error(op, &place, status, body);
    } else if responses.get("default").is_some() {
        (format!("{}/responses/default", op.at), &responses["default"])
    } else {
        return vec![place.violation("", format!("the spec declares no {status} answer"))];
    };
    let mut found = check_content(&place, &response_at, response, body);
    if let Some(group) = super::raw::header(headers, "x-rate-limit-group") {
        let declared = node["x-throttling-group"].as_str().unwrap_or_default();
        if !group.eq_ignore_ascii_case(declared) {
            found.push(place.violation(
                "/header/X-Rate-Limit-Group",
                format!("`{group}`, but the operation's x-throttling-group is {declared}"),
            ));
        }
    }
    found
}

fn check_content(place: &Place, response_at: &str, response: &Value, body: &str) -> Vec<Violation> {
    let schema = response["content"]["application/json"].get("schema");
    match schema {
        None if body.is_empty() => vec![],
        None => vec![place.violation("", "the spec gives this answer no content, but it has a body")],
        Some(_) => match serde_json::from_str::<Value>(body) {
            Ok(value) => place.check(&format!("{response_at}/content/application~1json/schema"), &value, ""),
            Err(e) => vec![place.violation("", format!("the body is not JSON: {e}"))],
        },
    }
}

/// An error answer the spec does not shape itself: `ErrorResponse`, and its codes declared.
fn check_error(op: &Operation, place: &Place, status: u16, body: &str) -> Vec<Violation> {
    let value: Value = match serde_json::from_str(body) {
        Ok(value) => value,
        Err(e) => return vec![place.violation("", format!("the body is not JSON: {e}"))],
    };
    let mut found = place.check("/components/schemas/ErrorResponse", &value, "");
    let declared = op.node()["x-error-codes"].as_array();
    let Some(declared) = declared else {
        return found;
    };
    let errors = value["errors"].as_array().cloned().unwrap_or_default();
    for (i, error) in errors.iter().enumerate() {
        let Some(code) = error["errorCode"].as_str() else {
            continue;
        };
        let listed = declared
            .iter()
            .any(|d| d["errorCode"] == code && d["httpCode"] == status.to_string().as_str());
        let generic = GENERIC_CODES.iter().any(|(s, c, _)| *s == status && *c == code);
        if !listed && !generic {
            found.push(place.violation(
                format!("/errors/{i}/errorCode"),
                format!("x-error-codes: {code} with HTTP {status} is not among the operation's codes"),
            ));
        }
    }
    found
}
