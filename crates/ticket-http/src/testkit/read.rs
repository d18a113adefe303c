//! `[read]` and `[unsupported-read]`: a read sends exactly what its preview shows, to the
//! stated path, with the read's own credentials and never the update's token; a provider that
//! cannot read refuses reads, merge mode and verification with nothing sent. And what every
//! read check shares: the stated answer, the server that also serves the other endpoints, the
//! requests that count.

use std::sync::{Arc, Mutex, PoisonError};

use ticket_core::{
    ErrorKind, RequestPreview, TicketError, TicketId, TicketSnapshot, TicketUpdater,
};

use super::request::{GATEWAY, IDS};
use super::updates::Updates;
use super::{RecordedRequest, Reply, ScriptedServer, Suite, forms, normal};

/// The ticket the read checks read: digits, so that an answer may hold it as a number.
pub(super) const READ_ID: &str = "48213";
/// Another ticket, which an answer about the wrong one names.
pub(super) const OTHER_ID: &str = "59324";

impl Suite {
    /// Whether the provider declares reading; the test must have stated what reads need
    /// exactly when it does.
    pub(super) fn reads(&self) -> bool {
        let updater = self.provider("http://127.0.0.1:9", normal());
        let name = updater.provider();
        let stated = self.reading.route.is_some();
        if !updater.capabilities().read {
            assert!(
                !stated,
                "[setup] {name} does not declare reading (Capabilities::read), yet the test states a read route"
            );
            return false;
        }
        assert!(
            stated,
            "[setup] {name} declares reading: state its read route and a success answer with Suite::read"
        );
        assert!(
            self.reading.preview.is_some(),
            "[setup] {name} declares reading: state how to preview a read with Suite::read_preview"
        );
        let route = self.read_template();
        assert!(
            route.starts_with('/') && route.matches("{id}").count() == 1,
            "[setup] the read route must start with `/` and hold `{{id}}` once"
        );
        true
    }

    /// `[read]`: a read of the stated answer succeeds, names the ticket read, and sends one
    /// `GET`, without a body, to the stated read route (compared in full, under a plain base
    /// URL and under one with a gateway prefix), exactly as its preview shows it (method, URL,
    /// headers in wire order); the headers the preview redacts are the read's credentials, each
    /// sent with exactly the stated value, and no update credential that is not one of them
    /// reaches the read.
    pub async fn read_is_the_exact_request(&self) {
        for prefix in ["", GATEWAY] {
            let server = self.answering().await;
            let base = format!("{}{prefix}", server.url());
            let updater = self.provider(&base, normal());
            let name = updater.provider().to_owned();
            let id = TicketId::new(READ_ID).expect("valid id");
            let preview = self.preview_read("read", &name, &base, &id);
            let snapshot = self.read_ok("read", &*updater, &id).await;
            assert_eq!(
                (snapshot.provider.as_str(), &snapshot.ticket_id),
                (name.as_str(), &id),
                "[read] {name}: the snapshot names another provider or ticket than the one read"
            );
            let sent = self.sent(&server);
            assert_eq!(
                sent.len(),
                1,
                "[read] {name}: one read sent {} requests",
                sent.len()
            );
            let read = &sent[0];
            let path = format!("{prefix}{}", self.read_path(READ_ID));
            assert_eq!(
                read.method, "GET",
                "[read] {name}: a read was sent as {}",
                read.method
            );
            assert_eq!(
                read.target, path,
                "[read] {name}: the read went to the wrong path (base URL path {prefix:?})"
            );
            assert!(read.body.is_empty(), "[read] {name}: a read sent a body");
            self.assert_no_update_token(&name, read);
            let url = format!("{}{path}", server.url());
            self.assert_exact(
                ("read", "read"),
                &name,
                &preview,
                read,
                &url,
                self.read_credentials(),
            );
        }
    }

    /// `[read]`: ticket ids reach a read, and its preview, as one percent-encoded path segment
    /// (whatever the decoding of an answer about an id the vendor could not have makes of it).
    pub async fn read_ids(&self) {
        let current = Arc::new(Mutex::new(String::new()));
        let server = self
            .read_server({
                let current = Arc::clone(&current);
                let answer = self.reading.answer.clone();
                let success = self.success.clone();
                move |request| match request.method.as_str() {
                    "GET" => {
                        let id = current.lock().unwrap_or_else(PoisonError::into_inner);
                        with_id(answer.clone(), &id)
                    }
                    _ => success.clone(),
                }
            })
            .await;
        let updater = self.provider(server.url(), normal());
        let name = updater.provider().to_owned();
        for (raw, encoded) in IDS {
            *current.lock().unwrap_or_else(PoisonError::into_inner) = raw.to_owned();
            let id = TicketId::new(raw).expect("valid id");
            let preview = self.preview_read("read", &name, server.url(), &id);
            let before = self.sent(&server).len();
            // An answer about `a/b` may be malformed for a vendor whose ids are numbers: only
            // the path is checked here.
            let _ = updater.read(&id).await;
            let sent = self.sent(&server);
            assert_eq!(
                sent.len(),
                before + 1,
                "[read] {name}: a read of ticket {raw:?} sent {} requests",
                sent.len() - before
            );
            let path = self.read_path(encoded);
            assert_eq!(
                sent[before].target, path,
                "[read] {name}: the read of ticket {raw:?} went to the wrong path"
            );
            assert_eq!(
                preview.url,
                format!("{}{path}", server.url()),
                "[read] {name}: the read preview's URL for ticket {raw:?}"
            );
        }
    }

    /// `[unsupported-read]`: a provider that does not declare reading refuses `read`, and
    /// updates in merge mode or with verification in `check`, `preview` and `update`, with
    /// [`TicketError::UnsupportedOperation`], and sends nothing.
    pub async fn unsupported_reads(&self) {
        let server = self.success_server().await;
        let updater = self.provider(server.url(), normal());
        let name = updater.provider().to_owned();
        let updates = Updates::new(updater.capabilities());
        let id = TicketId::new(READ_ID).expect("valid id");
        let refused = |what: &str, outcome: Result<String, TicketError>| match outcome {
            Err(e) if e.kind() == ErrorKind::UnsupportedOperation => {}
            other => panic!(
                "[unsupported-read] {name}: {what} must refuse with UnsupportedOperation, gave {}",
                self.shown(&format!("{other:?}"))
            ),
        };
        refused("read()", updater.read(&id).await.map(|s| format!("{s:?}")));
        for (label, builder) in [
            ("a merge update", updates.minimal().merge()),
            ("an update with verification", updates.minimal().verify()),
        ] {
            let update = self.build(&name, builder, label);
            refused(
                &format!("check() of {label}"),
                updater.check(&id, &update).map(|p| format!("{p:?}")),
            );
            refused(
                &format!("preview() of {label}"),
                updater.preview(&id, &update).map(|p| format!("{p:?}")),
            );
            refused(
                &format!("update() of {label}"),
                updater.update(&id, &update).await.map(|r| format!("{r:?}")),
            );
        }
        assert_eq!(
            server.requests().len(),
            0,
            "[unsupported-read] {name}: a provider that cannot read sent a request"
        );
    }

    /// The read route stated.
    pub(super) fn read_template(&self) -> &str {
        self.reading
            .route
            .as_deref()
            .expect("[setup] state the read route with Suite::read")
    }

    /// The path a read of a ticket whose encoded id is `encoded` must reach.
    pub(super) fn read_path(&self, encoded: &str) -> String {
        self.read_template().replace("{id}", encoded)
    }

    /// The stated read answer about ticket `raw`.
    pub(super) fn read_answer(&self, raw: &str) -> Reply {
        with_id(self.reading.answer.clone(), raw)
    }

    /// The credentials a read carries: the ones stated for reads, else the update's.
    pub(super) fn read_credentials(&self) -> &[(String, String)] {
        if self.reading.credentials.is_empty() {
            &self.credentials
        } else {
            &self.reading.credentials
        }
    }

    /// The preview of a read of `id` by the provider built at `url`.
    pub(super) fn preview_read(
        &self,
        check: &str,
        name: &str,
        url: &str,
        id: &TicketId,
    ) -> RequestPreview {
        let preview = self
            .reading
            .preview
            .as_ref()
            .expect("[setup] state how to preview a read with Suite::read_preview");
        preview(url, normal(), id).unwrap_or_else(|e| {
            panic!(
                "[{check}] {name}: the read preview failed: {}",
                self.shown(&e.to_string())
            )
        })
    }

    /// A server that answers the stated other endpoints ([`Suite::serve`]) as stated, and
    /// every other request with `script`.
    pub(super) async fn read_server<F>(&self, script: F) -> ScriptedServer
    where
        F: Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
    {
        let served = self.reading.served.clone();
        ScriptedServer::start(move |request| {
            match served.iter().find(|(path, _)| is_served(path, request)) {
                Some((_, reply)) => reply.clone(),
                None => script(request),
            }
        })
        .await
        .expect("[setup] a loopback server")
    }

    /// A server that answers a `GET` with the stated answer about [`READ_ID`], and anything
    /// else with the update's success answer.
    pub(super) async fn answering(&self) -> ScriptedServer {
        let answer = self.read_answer(READ_ID);
        let success = self.success.clone();
        self.read_server(move |request| match request.method.as_str() {
            "GET" => answer.clone(),
            _ => success.clone(),
        })
        .await
    }

    /// The requests `server` received, but those to the other endpoints it serves.
    pub(super) fn sent(&self, server: &ScriptedServer) -> Vec<RecordedRequest> {
        server
            .requests()
            .into_iter()
            .filter(|r| !self.reading.served.iter().any(|(p, _)| is_served(p, r)))
            .collect()
    }

    /// The snapshot of a read that must succeed.
    pub(super) async fn read_ok(
        &self,
        check: &str,
        updater: &dyn TicketUpdater,
        id: &TicketId,
    ) -> TicketSnapshot {
        updater.read(id).await.unwrap_or_else(|e| {
            panic!(
                "[{check}] {}: the read of the stated answer failed: {}",
                updater.provider(),
                self.shown(&e.to_string())
            )
        })
    }

    /// No update credential that is not a read credential is in any header of `read`
    /// (compared, never printed).
    pub(super) fn assert_no_update_token(&self, name: &str, read: &RecordedRequest) {
        let own: Vec<&str> = self
            .reading
            .credentials
            .iter()
            .map(|(_, v)| v.as_str())
            .collect();
        if own.is_empty() {
            return;
        }
        for (header, value) in &self.credentials {
            if own.contains(&value.as_str()) {
                continue;
            }
            for form in forms(value).iter().filter(|f| f.len() >= 4) {
                assert!(
                    !read.headers.iter().any(|(_, v)| v.contains(form.as_str())),
                    "[read] {name}: a read carries the update's credential ({header}; values not shown)"
                );
            }
        }
    }
}

/// `answer` with `{id}` replaced by `raw`, JSON-escaped.
fn with_id(answer: Option<Reply>, raw: &str) -> Reply {
    let mut reply = answer.expect("[setup] state the read answer with Suite::read");
    let quoted = serde_json::to_string(raw).expect("a string encodes");
    let escaped = &quoted[1..quoted.len() - 1];
    if let Reply::Http { body, .. } = &mut reply {
        let text = String::from_utf8_lossy(body);
        assert!(
            text.contains("{id}"),
            "[setup] the read answer must name its ticket with `{{id}}`"
        );
        *body = text.replace("{id}", escaped).into_bytes();
    }
    reply
}

/// Whether `request` goes to the other endpoint at `path` (its path, without the query, ends
/// with it).
fn is_served(path: &str, request: &RecordedRequest) -> bool {
    let target = request.target.split('?').next().unwrap_or_default();
    target.ends_with(path)
}
