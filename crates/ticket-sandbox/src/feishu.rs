//! Feishu Helpdesk: `GET`/`PUT /open-apis/helpdesk/v1/tickets/{ticket_id}` and the token
//! refresh endpoint `POST /open-apis/authen/v2/oauth/token`.

use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Response, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::{FeishuCustomizedField, FeishuTicket};
use crate::server::ReceivedRequest;
use crate::state::{REFRESH_TOKEN_TTL_SECS, RefreshOutcome, Shared, TokenCheck};
use crate::util::{is_json_content_type, json_response, unix_millis_now};

/// Allowed `status` values.
const STATUSES: [i64; 7] = [1, 2, 3, 4, 5, 50, 51];
/// Every field the vendor document lists for the update body.
const FIELDS: [&str; 7] = [
    "status",
    "tag_names",
    "comment",
    "customized_fields",
    "ticket_type",
    "solved",
    "channel",
];
/// Keys of `customized_fields` items that the official SDK models carry and the server
/// ignores on update.
const IGNORED_FIELD_KEYS: [&str; 4] = ["display_name", "position", "required", "editable"];
/// The documented 400 message.
const BAD_REQUEST_MSG: &str = "Bad request, please check your request body";

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: i64,
    msg: &'a str,
}

#[derive(Serialize)]
struct Envelope<'a, T> {
    code: i64,
    msg: &'a str,
    data: T,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct TicketData {
    ticket: FeishuTicket,
}

#[derive(Serialize)]
struct TokenError<'a> {
    code: i64,
    error: &'a str,
    error_description: &'a str,
}

#[derive(Serialize)]
struct TokenSuccess<'a> {
    code: i64,
    access_token: &'a str,
    expires_in: u64,
    refresh_token: &'a str,
    refresh_token_expires_in: u64,
    token_type: &'a str,
    scope: &'a str,
}

/// `{"code":<code>,"msg":<msg>}` with `status`.
pub(crate) fn error(status: StatusCode, code: i64, msg: &str) -> Response<Body> {
    json_response(status, &ErrorBody { code, msg })
}

/// HTTP 400, code 154000, the documented message plus `: <detail>`.
pub(crate) fn bad_request(detail: &str) -> Response<Body> {
    error(
        StatusCode::BAD_REQUEST,
        154_000,
        &format!("{BAD_REQUEST_MSG}: {detail}"),
    )
}

/// 404 for an `/open-apis/...` path the sandbox does not serve.
pub(crate) fn not_found_route() -> Response<Body> {
    error(StatusCode::NOT_FOUND, 154_004, "Resource not found")
}

fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut resp = error(StatusCode::METHOD_NOT_ALLOWED, 405, "method not allowed");
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    resp
}

fn header_str<'a>(req: &'a ReceivedRequest, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks the bearer token; `Some` is the error response to send.
fn check_bearer(shared: &Shared, req: &ReceivedRequest) -> Option<Response<Body>> {
    let token = header_str(req, "authorization")
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let check = token.map_or(TokenCheck::Unknown, |t| shared.check_access_token(t));
    match check {
        TokenCheck::Valid => None,
        TokenCheck::Expired => Some(error(
            StatusCode::OK,
            99_991_677,
            "Authentication token expired",
        )),
        TokenCheck::Unknown => Some(error(
            StatusCode::UNAUTHORIZED,
            99_991_663,
            "Invalid access token for authorization. Please make a request with token attached.",
        )),
    }
}

/// Checks `X-Lark-Helpdesk-Authorization`; `Some` is the error response to send.
///
/// The documented value is `base64(id:token)`; the official Node SDK's helper sends
/// `Bearer base64(id:token)`. Both are accepted; the second is counted in
/// `Stats::noncanonical_helpdesk_auth`.
fn check_helpdesk(shared: &Shared, req: &ReceivedRequest) -> Option<Response<Body>> {
    let creds = &shared.config.credentials;
    let expected = format!(
        "{}:{}",
        creds.feishu_helpdesk_id, creds.feishu_helpdesk_token
    );
    let value = header_str(req, "x-lark-helpdesk-authorization").map(str::trim);
    let (encoded, canonical) = match value {
        Some(v) => match v.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
                (Some(rest.trim()), false)
            }
            _ => (Some(v), true),
        },
        None => (None, true),
    };
    let ok = encoded
        .and_then(|v| STANDARD.decode(v).ok())
        .is_some_and(|decoded| decoded == expected.as_bytes());
    if ok && !canonical {
        shared.count_noncanonical_helpdesk_auth();
    }
    (!ok).then(|| {
        error(
            StatusCode::FORBIDDEN,
            154_003,
            "Please check you have the correct access",
        )
    })
}

/// Handles the ticket route. `id` is `None` when the id segment's percent-encoding is invalid.
pub(crate) fn handle_ticket(
    shared: &Shared,
    req: &ReceivedRequest,
    id: Option<String>,
) -> Response<Body> {
    if req.method != Method::GET && req.method != Method::PUT {
        return method_not_allowed("GET, PUT");
    }
    if let Some(resp) = check_bearer(shared, req).or_else(|| check_helpdesk(shared, req)) {
        return resp;
    }
    let Some(id) = id else {
        return bad_request("ticket_id: invalid percent-encoding in path segment");
    };
    if req.method == Method::GET {
        return match shared.feishu_ticket(&id) {
            Some(ticket) => json_response(
                StatusCode::OK,
                &Envelope {
                    code: 0,
                    msg: "success",
                    data: TicketData { ticket },
                },
            ),
            None => ticket_not_found(),
        };
    }
    if !header_str(req, "content-type").is_some_and(is_json_content_type) {
        return bad_request("Content-Type must be application/json; charset=utf-8");
    }
    let value: Value = match serde_json::from_slice(&req.body) {
        Ok(value) => value,
        Err(err) => return bad_request(&format!("invalid JSON: {err}")),
    };
    let update = match validate(&value) {
        Ok(update) => update,
        Err(reason) => return bad_request(&reason),
    };
    let has_comment = update.comment.is_some();
    match shared.update_feishu(&id, |ticket| update.apply(ticket)) {
        Some(()) => {
            if has_comment {
                shared.count_comment();
            }
            json_response(
                StatusCode::OK,
                &Envelope {
                    code: 0,
                    msg: "success",
                    data: Empty {},
                },
            )
        }
        None => ticket_not_found(),
    }
}

fn ticket_not_found() -> Response<Body> {
    error(StatusCode::NOT_FOUND, 154_004, "Resource not found")
}

/// A validated update body.
#[derive(Debug, Default)]
struct Update {
    status: Option<i64>,
    tag_names: Option<Vec<String>>,
    comment: Option<String>,
    customized_fields: Option<Vec<FeishuCustomizedField>>,
    ticket_type: Option<i64>,
    solved: Option<i64>,
    channel: Option<i64>,
}

impl Update {
    fn apply(self, ticket: &mut FeishuTicket) {
        if let Some(v) = self.status {
            ticket.status = v;
        }
        if let Some(v) = self.tag_names {
            ticket.tag_names = v;
        }
        if let Some(v) = self.comment {
            ticket.comments.push(v);
        }
        if let Some(fields) = self.customized_fields {
            for field in fields {
                merge_field(&mut ticket.customized_fields, field);
            }
        }
        if let Some(v) = self.ticket_type {
            ticket.ticket_type = v;
        }
        if let Some(v) = self.solved {
            ticket.solved = v;
        }
        if let Some(v) = self.channel {
            ticket.channel = v;
        }
        ticket.updated_at = unix_millis_now();
    }
}

/// Merges by `id` when given, else by `key_name`; appends when nothing matches.
fn merge_field(existing: &mut Vec<FeishuCustomizedField>, field: FeishuCustomizedField) {
    let slot = match (&field.id, &field.key_name) {
        (Some(id), _) => existing.iter_mut().find(|f| f.id.as_ref() == Some(id)),
        (None, Some(key)) => existing
            .iter_mut()
            .find(|f| f.key_name.as_ref() == Some(key)),
        (None, None) => None,
    };
    match slot {
        Some(slot) => {
            if field.key_name.is_some() {
                slot.key_name = field.key_name;
            }
            if field.value.is_some() {
                slot.value = field.value;
            }
        }
        None => existing.push(field),
    }
}

fn validate(value: &Value) -> Result<Update, String> {
    let Some(obj) = value.as_object() else {
        return Err("body must be a JSON object".to_owned());
    };
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("{unknown}: unknown field"));
    }
    if obj.is_empty() {
        return Err("at least one field is required".to_owned());
    }
    let mut update = Update {
        status: int_field(obj, "status")?,
        ticket_type: int_field(obj, "ticket_type")?,
        solved: int_field(obj, "solved")?,
        channel: int_field(obj, "channel")?,
        ..Update::default()
    };
    if let Some(status) = update.status
        && !STATUSES.contains(&status)
    {
        return Err(format!(
            "status: must be one of 1, 2, 3, 4, 5, 50, 51 (got {status})"
        ));
    }
    if let Some(solved) = update.solved
        && solved != 1
        && solved != 2
    {
        return Err(format!("solved: must be 1 or 2 (got {solved})"));
    }
    if let Some(v) = obj.get("comment") {
        update.comment = Some(
            v.as_str()
                .ok_or_else(|| "comment: must be a string".to_owned())?
                .to_owned(),
        );
    }
    if let Some(v) = obj.get("tag_names") {
        let items = v
            .as_array()
            .ok_or_else(|| "tag_names: must be an array of strings".to_owned())?;
        update.tag_names = Some(
            items
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    t.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("tag_names[{i}]: must be a string"))
                })
                .collect::<Result<_, String>>()?,
        );
    }
    if let Some(v) = obj.get("customized_fields") {
        let items = v
            .as_array()
            .ok_or_else(|| "customized_fields: must be an array".to_owned())?;
        update.customized_fields = Some(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| customized_field(i, item))
                .collect::<Result<_, String>>()?,
        );
    }
    Ok(update)
}

fn customized_field(i: usize, item: &Value) -> Result<FeishuCustomizedField, String> {
    let obj = item
        .as_object()
        .ok_or_else(|| format!("customized_fields[{i}]: must be an object"))?;
    let mut field = FeishuCustomizedField::default();
    for (key, value) in obj {
        if IGNORED_FIELD_KEYS.contains(&key.as_str()) {
            continue;
        }
        let text = value
            .as_str()
            .ok_or_else(|| format!("customized_fields[{i}].{key}: must be a string"))?
            .to_owned();
        match key.as_str() {
            "id" => field.id = Some(text),
            "key_name" => field.key_name = Some(text),
            "value" => field.value = Some(text),
            _ => return Err(format!("customized_fields[{i}].{key}: unknown field")),
        }
    }
    if field.id.is_none() && field.key_name.is_none() {
        return Err(format!("customized_fields[{i}]: needs an id or a key_name"));
    }
    Ok(field)
}

fn int_field(obj: &Map<String, Value>, field: &str) -> Result<Option<i64>, String> {
    match obj.get(field) {
        None => Ok(None),
        // The document types these `int`: 32-bit on Feishu's side.
        Some(v) => v
            .as_i64()
            .filter(|n| i32::try_from(*n).is_ok())
            .map(Some)
            .ok_or_else(|| format!("{field}: must be a 32-bit integer (got {v})")),
    }
}

fn token_error(code: i64, error: &str, description: &str) -> Response<Body> {
    json_response(
        StatusCode::BAD_REQUEST,
        &TokenError {
            code,
            error,
            error_description: description,
        },
    )
}

/// `POST /open-apis/authen/v2/oauth/token` with `grant_type=refresh_token`.
pub(crate) fn handle_token(shared: &Shared, req: &ReceivedRequest) -> Response<Body> {
    if req.method != Method::POST {
        return method_not_allowed("POST");
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&req.body) else {
        return token_error(
            20001,
            "invalid_request",
            "The request body must be a JSON object",
        );
    };
    let field = |name: &str| body.get(name).and_then(Value::as_str);
    let (Some(grant_type), Some(client_id), Some(client_secret), Some(refresh_token)) = (
        field("grant_type"),
        field("client_id"),
        field("client_secret"),
        field("refresh_token"),
    ) else {
        return token_error(
            20001,
            "invalid_request",
            "grant_type, client_id, client_secret and refresh_token are required strings",
        );
    };
    if grant_type != "refresh_token" {
        return token_error(
            20001,
            "unsupported_grant_type",
            "The sandbox only supports grant_type=refresh_token",
        );
    }
    let creds = &shared.config.credentials;
    if client_id != creds.feishu_app_id || client_secret != creds.feishu_app_secret {
        return token_error(
            20002,
            "invalid_client",
            "The client_id or client_secret is invalid",
        );
    }
    match shared.refresh(refresh_token) {
        RefreshOutcome::InvalidGrant => token_error(
            20026,
            "invalid_grant",
            "The refresh token passed is invalid",
        ),
        RefreshOutcome::Issued {
            access_token,
            refresh_token,
            expires_in,
        } => json_response(
            StatusCode::OK,
            &TokenSuccess {
                code: 0,
                access_token: &access_token,
                expires_in,
                refresh_token: &refresh_token,
                refresh_token_expires_in: REFRESH_TOKEN_TTL_SECS,
                token_type: "Bearer",
                scope: "",
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_the_vendor_example() {
        let body = json!({
            "status": 1, "tag_names": ["abc"], "comment": "good",
            "customized_fields": [{"id": "123", "value": "value", "key_name": "key"}],
            "ticket_type": 1, "solved": 1, "channel": 1
        });
        let update = validate(&body).unwrap();
        assert_eq!(update.status, Some(1));
        assert_eq!(update.comment.as_deref(), Some("good"));
    }

    #[test]
    fn ignores_the_official_models_extra_field_keys() {
        let body = json!({"customized_fields": [{
            "id": "1", "value": "v", "display_name": "Device", "position": "3",
            "required": false, "editable": true
        }]});
        let update = validate(&body).unwrap();
        assert_eq!(
            update.customized_fields.unwrap(),
            [FeishuCustomizedField::new(Some("1"), None, Some("v"))]
        );
    }

    #[test]
    fn refuses_bad_bodies() {
        let cases = [
            (json!({}), "at least one field"),
            (json!("x"), "body must be a JSON object"),
            (json!({"status": 6}), "status: must be one of"),
            (json!({"status": "1"}), "status: must be a 32-bit integer"),
            (json!({"status": 1.5}), "status: must be a 32-bit integer"),
            (json!({"solved": 0}), "solved: must be 1 or 2"),
            (json!({"title": "x"}), "title: unknown field"),
            (json!({"tag_names": "a"}), "tag_names: must be an array"),
            (json!({"tag_names": [1]}), "tag_names[0]"),
            (json!({"comment": 1}), "comment: must be a string"),
            (
                json!({"customized_fields": [{"id": 1}]}),
                "customized_fields[0].id",
            ),
            (
                json!({"customized_fields": [{"id": "1", "x": "y"}]}),
                "customized_fields[0].x",
            ),
            (
                json!({"customized_fields": [{"id": "1", "displayname": "y"}]}),
                "customized_fields[0].displayname",
            ),
            (
                json!({"customized_fields": [{"value": "v"}]}),
                "customized_fields[0]: needs",
            ),
            (
                json!({"channel": null}),
                "channel: must be a 32-bit integer",
            ),
            (
                json!({"ticket_type": 9_223_372_036_854_775_807_i64}),
                "ticket_type: must be a 32-bit integer",
            ),
        ];
        for (body, expected) in cases {
            let err = validate(&body).unwrap_err();
            assert!(err.starts_with(expected), "{body}: {err}");
        }
    }

    #[test]
    fn merges_customized_fields() {
        let mut fields = vec![FeishuCustomizedField {
            id: Some("1".into()),
            key_name: Some("a".into()),
            value: Some("old".into()),
        }];
        let by_key = FeishuCustomizedField {
            id: None,
            key_name: Some("a".into()),
            value: Some("by-key".into()),
        };
        merge_field(&mut fields, by_key);
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].value.as_deref(), Some("by-key"));
        let by_id = FeishuCustomizedField {
            id: Some("1".into()),
            key_name: None,
            value: Some("by-id".into()),
        };
        merge_field(&mut fields, by_id);
        assert_eq!(fields[0].value.as_deref(), Some("by-id"));
        assert_eq!(fields[0].key_name.as_deref(), Some("a"));
        let new = FeishuCustomizedField {
            id: Some("2".into()),
            key_name: None,
            value: Some("n".into()),
        };
        merge_field(&mut fields, new);
        assert_eq!(fields.len(), 2);
    }
}
