//! No secret leaves, whatever the server sends: each configured secret and each token just
//! received, in every form (raw, base64, `Basic …`, `Bearer …`), injected into every
//! server-controlled place (JSON message, raw body, `updated_at`, a string `code`, the request-id
//! header, every header, the reason phrase, the token endpoint's answer) never appears in an
//! error's Display or Debug, a receipt, the TRACE logs (ours, reqwest's and hyper's), any span
//! field (as created or recorded later: request ids, URLs, outcomes) or any metric label.
//! Configuration errors name keys, never values.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use helpdesk::TicketUpdater;
use proptest::prelude::*;
use provider_engagelab::{EngageLabClient, EngageLabConfig};
use provider_feishu::{FeishuClient, FeishuConfig, RefreshingToken};
use support::{fast, id, metric_labels, metrics_capture, trace_logs, update_for};
use ticket_http::test_server::{Reply, ScriptedServer};

const HELPDESK_ID: &str = "7012345678";

/// The secrets of one case: configured ones and the tokens the token endpoint hands out.
#[derive(Debug, Clone)]
struct Creds {
    el_key: String,
    el_secret: String,
    fs_user: String,
    fs_helpdesk: String,
    app_secret: String,
    refresh: String,
    new_access: String,
    new_refresh: String,
}

impl Creds {
    fn all(&self) -> [&str; 8] {
        [
            &self.el_key,
            &self.el_secret,
            &self.fs_user,
            &self.fs_helpdesk,
            &self.app_secret,
            &self.refresh,
            &self.new_access,
            &self.new_refresh,
        ]
    }

    /// Every form to look for in the output of `provider`'s client (a client cannot know
    /// another provider's secrets).
    fn forms(&self, provider: Provider) -> Vec<String> {
        let all = self.all();
        let mut out = Vec::new();
        for s in provider.known().iter().map(|&i| all[i]) {
            out.push(s.to_owned());
            out.push(STANDARD.encode(s).trim_end_matches('=').to_owned());
        }
        out.push(STANDARD.encode(format!("{}:{}", self.el_key, self.el_secret)));
        out.push(STANDARD.encode(format!("{HELPDESK_ID}:{}", self.fs_helpdesk)));
        out
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Provider {
    EngageLab,
    FeishuStatic,
    /// A refreshing token: the injected answer comes from the token endpoint.
    FeishuRefreshing,
}

impl Provider {
    /// The indexes in [`Creds::all`] of the secrets this provider's client holds or receives.
    fn known(self) -> &'static [usize] {
        match self {
            Provider::EngageLab => &[0, 1],
            Provider::FeishuStatic => &[2, 3],
            Provider::FeishuRefreshing => &[3, 4, 5, 6, 7],
        }
    }

    /// The secrets worth injecting anywhere (the new tokens come with the token answer).
    fn injectable(self) -> &'static [usize] {
        match self {
            Provider::FeishuRefreshing => &[3, 4, 5],
            other => other.known(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    JsonMessage,
    RawBody,
    UpdatedAt,
    StringCode,
    RequestIdHeader,
    EveryHeader,
    ReasonPhrase,
    /// A valid token rotation whose `expires_in` is a string (the new tokens are the secrets).
    TokenAnswerTyped,
}

#[derive(Debug, Clone, Copy)]
enum Form {
    Raw,
    Base64,
    /// `Basic base64(user:secret)` of the provider's pair.
    Basic,
    Bearer,
}

fn inject(creds: &Creds, provider: Provider, secret: usize, form: Form) -> String {
    let injectable = provider.injectable();
    let s = creds.all()[injectable[secret % injectable.len()]];
    match form {
        Form::Raw => s.to_owned(),
        Form::Base64 => STANDARD.encode(s),
        Form::Basic => match provider {
            Provider::EngageLab => format!(
                "Basic {}",
                STANDARD.encode(format!("{}:{}", creds.el_key, creds.el_secret))
            ),
            _ => format!(
                "Basic {}",
                STANDARD.encode(format!("{HELPDESK_ID}:{}", creds.fs_helpdesk))
            ),
        },
        Form::Bearer => format!("Bearer {s}"),
    }
}

fn reply(provider: Provider, place: Place, status: u16, text: &str, creds: &Creds) -> Reply {
    let feishu = provider != Provider::EngageLab;
    let json = |body: String| Reply::json(status, &body);
    let error_body = if feishu {
        r#"{"code":154000,"msg":"bad"}"#.to_owned()
    } else {
        r#"{"code":40001,"message":"bad"}"#.to_owned()
    };
    let ok_body = match provider {
        Provider::EngageLab => r#"{"code":0,"message":"Success","data":{}}"#.to_owned(),
        Provider::FeishuStatic => r#"{"code":0,"msg":"success","data":{}}"#.to_owned(),
        Provider::FeishuRefreshing => {
            r#"{"code":0,"access_token":"a-ok","expires_in":7200,"refresh_token":"r-ok"}"#
                .to_owned()
        }
    };
    let plain = if (200..300).contains(&status) {
        ok_body
    } else {
        error_body
    };
    match place {
        Place::JsonMessage if feishu => json(format!(r#"{{"code":154000,"msg":"{text}","error_description":"{text}"}}"#)),
        Place::JsonMessage => json(format!(r#"{{"code":40001,"message":"{text}"}}"#)),
        Place::RawBody => Reply::text(status, "text/plain", &format!("oops {text} oops")),
        Place::UpdatedAt if feishu => json(format!(r#"{{"code":0,"msg":"success","data":{{"note":"{text}"}},"expires_in":"{text}"}}"#)),
        Place::UpdatedAt => json(format!(r#"{{"code":0,"message":"Success","data":{{"ticket_id":"t1","updated_at":"{text}"}}}}"#)),
        Place::StringCode if feishu => json(format!(r#"{{"code":"{text}","msg":"x"}}"#)),
        Place::StringCode => json(format!(r#"{{"code":"{text}","message":"x"}}"#)),
        Place::RequestIdHeader => json(plain).header("x-request-id", text).header("x-tt-logid", text),
        Place::EveryHeader => {
            let mut r = json(plain);
            for name in [
                "x-request-id", "x-trace-id", "x-tt-logid", "retry-after", "x-ogw-ratelimit-reset",
                "location", "www-authenticate", "set-cookie", "x-echo-authorization",
            ] {
                r = r.header(name, text);
            }
            r
        }
        Place::ReasonPhrase => Reply::Raw(
            format!(
                "HTTP/1.1 {status} {text}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{plain}",
                plain.len()
            )
            .into_bytes(),
        ),
        Place::TokenAnswerTyped => json(format!(
            r#"{{"code":0,"access_token":"{}","expires_in":"7200","refresh_token":"{}","note":"{text}"}}"#,
            creds.new_access, creds.new_refresh
        )),
    }
}

fn arb_creds() -> impl Strategy<Value = Creds> {
    prop::collection::btree_set("[A-Za-z0-9]{12,24}", 8).prop_map(|set| {
        let mut it = set.into_iter();
        let mut next = || it.next().unwrap();
        Creds {
            el_key: next(),
            el_secret: next(),
            fs_user: next(),
            fs_helpdesk: next(),
            app_secret: next(),
            refresh: next(),
            new_access: next(),
            new_refresh: next(),
        }
    })
}

fn run_case(
    creds: &Creds,
    provider: Provider,
    place: Place,
    status: u16,
    text: &str,
) -> (String, Vec<String>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let answer = reply(provider, place, status, text, creds);
        let ok_update = Reply::json(200, r#"{"code":0,"msg":"success","data":{}}"#);
        let server = ScriptedServer::start(move |req| {
            let token_route = req.target == provider_feishu::TOKEN_PATH;
            if provider == Provider::FeishuRefreshing && !token_route {
                ok_update.clone()
            } else {
                answer.clone()
            }
        })
        .await
        .unwrap();
        let url = server.url();
        let client: Arc<dyn TicketUpdater> = match provider {
            Provider::EngageLab => Arc::new(
                EngageLabClient::new(
                    EngageLabConfig::new(&creds.el_key, &creds.el_secret)
                        .unwrap()
                        .with_base_url(url)
                        .unwrap()
                        .with_http_options(fast(1)),
                )
                .unwrap(),
            ),
            Provider::FeishuStatic => Arc::new(
                FeishuClient::new(
                    FeishuConfig::with_static_token(
                        &creds.fs_user,
                        HELPDESK_ID,
                        &creds.fs_helpdesk,
                    )
                    .unwrap()
                    .with_base_url(url)
                    .unwrap()
                    .with_http_options(fast(1)),
                )
                .unwrap(),
            ),
            Provider::FeishuRefreshing => {
                let source = RefreshingToken::builder("cli_app", &creds.app_secret, &creds.refresh)
                    .base_url(url)
                    .http_options(fast(0))
                    .build()
                    .unwrap();
                Arc::new(
                    FeishuClient::new(
                        FeishuConfig::new(Arc::new(source), HELPDESK_ID, &creds.fs_helpdesk)
                            .unwrap()
                            .with_base_url(url)
                            .unwrap()
                            .with_http_options(fast(1)),
                    )
                    .unwrap(),
                )
            }
        };
        let ticket = if provider == Provider::EngageLab {
            "t1"
        } else {
            "1"
        };
        let outcome = client
            .update(&id(ticket), &update_for(client.provider()))
            .await;
        let summary = match &outcome {
            Ok(receipt) => format!("ok {receipt:?}"),
            Err(err) => format!("err {:?}", err.kind()),
        };
        let texts = match outcome {
            Ok(receipt) => vec![format!("{receipt:?}")],
            Err(err) => {
                let mut texts = vec![err.to_string(), format!("{err:?}")];
                let mut source = std::error::Error::source(&err);
                while let Some(s) = source {
                    texts.push(format!("{s} {s:?}"));
                    source = s.source();
                }
                texts
            }
        };
        (summary, texts)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_secret_form_in_any_server_controlled_place_leaves(
        creds in arb_creds(),
        provider in prop::sample::select(vec![Provider::EngageLab, Provider::FeishuStatic, Provider::FeishuRefreshing]),
        place in prop::sample::select(vec![
            Place::JsonMessage, Place::RawBody, Place::UpdatedAt, Place::StringCode,
            Place::RequestIdHeader, Place::EveryHeader, Place::ReasonPhrase, Place::TokenAnswerTyped,
        ]),
        form in prop::sample::select(vec![Form::Raw, Form::Base64, Form::Basic, Form::Bearer]),
        secret in 0usize..8,
        status in prop::sample::select(vec![200u16, 302, 400, 401, 429, 500]),
    ) {
        let capture = trace_logs();
        metrics_capture();
        let text = inject(&creds, provider, secret, form);
        let start = capture.len();
        let (summary, texts) = run_case(&creds, provider, place, status, &text);
        let logs = capture.text_from(start);
        let labels = metric_labels();
        prop_assert!(logs.contains("RECORD ticket.update"), "span fields were captured: {logs}");
        prop_assert!(labels.contains("ticket.updates{"), "metrics were captured: {labels}");
        for form in creds.forms(provider) {
            for text in &texts {
                prop_assert!(!text.contains(&form), "{form} leaked ({summary}) into {text}");
            }
            prop_assert!(!logs.contains(&form), "{form} leaked ({summary}) into the logs");
            prop_assert!(!labels.contains(&form), "{form} leaked ({summary}) into a metric label");
        }
    }
}

/// The update path was really exercised: a secret echoed in a request-id header of a success
/// arrives scrubbed on the receipt and in the spans' `ticket.request_id`, and one in an error
/// message is scrubbed in the error.
#[test]
fn echoed_secrets_arrive_redacted() {
    let capture = trace_logs();
    let creds = Creds {
        el_key: "k-aaaaaaaaaaaa".into(),
        el_secret: "s-bbbbbbbbbbbb".into(),
        fs_user: "u-cccccccccccc".into(),
        fs_helpdesk: "h-dddddddddddd".into(),
        app_secret: "a-eeeeeeeeeeee".into(),
        refresh: "r-ffffffffffff".into(),
        new_access: "n-gggggggggggg".into(),
        new_refresh: "n-hhhhhhhhhhhh".into(),
    };
    let (summary, texts) = run_case(
        &creds,
        Provider::EngageLab,
        Place::RequestIdHeader,
        200,
        "id-s-bbbbbbbbbbbb",
    );
    assert!(summary.starts_with("ok"), "{summary}");
    assert!(
        texts[0].contains("request_id: Some(\"id-<redacted>\")"),
        "{}",
        texts[0]
    );
    let logs = capture.text();
    for span in ["ticket.update", "ticket_http.send"] {
        let recorded = format!("RECORD {span} ticket.request_id=id-<redacted>");
        assert!(logs.contains(&recorded), "{recorded} not in {logs}");
    }
    let (summary, texts) = run_case(
        &creds,
        Provider::FeishuStatic,
        Place::JsonMessage,
        400,
        "Bearer u-cccccccccccc",
    );
    assert!(summary.starts_with("err"), "{summary}");
    assert!(texts[0].contains("Bearer <redacted>"), "{}", texts[0]);
    let (summary, texts) = run_case(
        &creds,
        Provider::FeishuRefreshing,
        Place::TokenAnswerTyped,
        200,
        "x",
    );
    assert!(
        summary.starts_with("err"),
        "the string expires_in is refused today: {summary}"
    );
    assert!(
        texts.iter().all(|t| !t.contains("n-gggggggggggg")),
        "{texts:?}"
    );
}

#[test]
fn configuration_errors_name_keys_never_values() {
    let err = EngageLabConfig::new("key", "secret")
        .unwrap()
        .with_base_url("https://user:hunter2secret@example.com")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("credentials") && !err.contains("hunter2secret") && !err.contains("user:"),
        "{err}"
    );
    let err = helpdesk::Config::from_toml_str(
        "provider = \"engagelab\"\n[engagelab]\napi_key = \"k\"\napi_secret = \"hunter2secret\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("line 4") && !err.contains("hunter2secret"),
        "{err}"
    );
    let err = EngageLabConfig::new("key", "two words")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("API secret") && !err.contains("two words"),
        "{err}"
    );
}
