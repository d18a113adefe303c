//! `[path]`, `[preview]`, `[credentials]`, `[ids]` and `[receipt]`: the request is exactly the
//! one previewed, at exactly the stated path, with exactly the stated credentials, and the
//! receipt names the ticket requested.

use std::collections::BTreeSet;

use ticket_core::{RequestPreview, TicketId, UpdateReceipt};

use super::updates::Updates;
use super::{RecordedRequest, Suite, normal};

/// Ticket ids and their one percent-encoded segment (every byte but RFC 3986's unreserved
/// ones encoded), written out rather than computed, so that the suite does not share the
/// provider's encoder.
pub(super) const IDS: [(&str, &str); 7] = [
    ("12345", "12345"),
    ("a/b", "a%2Fb"),
    ("../x", "..%2Fx"),
    ("a?b#c", "a%3Fb%23c"),
    ("%2F", "%252F"),
    ("工單 7", "%E5%B7%A5%E5%96%AE%207"),
    ("tk_1.x~y-z", "tk_1.x~y-z"),
];

/// A path prefix under the base URL (a gateway), which the provider must keep.
pub(super) const GATEWAY: &str = "/gateway/helpdesk";

impl Suite {
    /// `[path]`: an update of every field goes to the stated route, compared in full, under a
    /// plain base URL and under one with a gateway prefix. `[preview]`: the preview is exactly
    /// the request sent. `[credentials]`: the headers the preview redacts are the credentials
    /// stated, each sent with exactly the stated value. `[receipt]`: the receipt names the
    /// provider and the ticket.
    pub async fn preview_is_the_exact_request(&self) {
        assert!(
            !self.credentials.is_empty(),
            "[setup] state each credential header with Suite::credential"
        );
        for prefix in ["", GATEWAY] {
            let server = self.success_server().await;
            let updater = self.provider(&format!("{}{prefix}", server.url()), normal());
            let name = updater.provider().to_owned();
            let update = self.build(
                &name,
                Updates::new(updater.capabilities()).full(),
                "every field",
            );
            let id = TicketId::new("tk-1").expect("valid id");
            let preview = updater
                .preview(&id, &update)
                .unwrap_or_else(|e| panic!("[preview] {name}: the preview failed: {e}"));
            let receipt = updater
                .update(&id, &update)
                .await
                .unwrap_or_else(|e| panic!("[preview] {name}: the update failed: {e}"));
            let requests = server.requests();
            assert_eq!(
                requests.len(),
                1,
                "[preview] {name}: one update sent {} requests",
                requests.len()
            );
            let path = format!("{prefix}{}", self.path("tk-1"));
            assert_eq!(
                requests[0].target, path,
                "[path] {name}: the update went to the wrong path (base URL path {prefix:?})"
            );
            self.assert_exact(
                ("preview", "credentials"),
                &name,
                &preview,
                &requests[0],
                &format!("{}{path}", server.url()),
                &self.credentials,
            );
            self.assert_receipt(&name, &receipt, &id);
        }
    }

    /// `[ids]`: ticket ids reach the server, and the preview, as one encoded path segment.
    /// `[receipt]`: each receipt names the ticket requested.
    pub async fn ticket_ids_and_receipts(&self) {
        let server = self.success_server().await;
        let updater = self.provider(server.url(), normal());
        let name = updater.provider().to_owned();
        let update = self.build(
            &name,
            Updates::new(updater.capabilities()).minimal(),
            "the smallest update",
        );
        for (raw, encoded) in IDS {
            let id = TicketId::new(raw).expect("valid id");
            let before = server.requests().len();
            let preview = updater.preview(&id, &update).unwrap_or_else(|e| {
                panic!("[ids] {name}: the preview of ticket {raw:?} failed: {e}")
            });
            let receipt = updater.update(&id, &update).await.unwrap_or_else(|e| {
                panic!("[ids] {name}: the update of ticket {raw:?} failed: {e}")
            });
            let requests = server.requests();
            assert_eq!(requests.len(), before + 1, "[ids] {name}: ticket {raw:?}");
            let path = self.path(encoded);
            assert_eq!(
                requests[before].target, path,
                "[ids] {name}: ticket {raw:?} went to the wrong path"
            );
            assert_eq!(
                preview.url,
                format!("{}{path}", server.url()),
                "[ids] {name}: the preview's URL for ticket {raw:?}"
            );
            self.assert_receipt(&name, &receipt, &id);
        }
    }

    /// The preview is exactly `sent`, which went to `url` (failures tagged `tags.0`); the
    /// headers it redacts are exactly those of `credentials`, each sent with exactly the value
    /// stated (failures tagged `tags.1`).
    pub(super) fn assert_exact(
        &self,
        (tag, credentials_tag): (&str, &str),
        name: &str,
        preview: &RequestPreview,
        sent: &RecordedRequest,
        url: &str,
        credentials: &[(String, String)],
    ) {
        assert_eq!(preview.method, sent.method, "[{tag}] {name}: the method");
        assert_eq!(
            preview.url, url,
            "[{tag}] {name}: the URL previewed is not the URL sent"
        );
        assert!(
            preview.body.as_bytes() == sent.body,
            "[{tag}] {name}: the body previewed is not the body sent:\n{}\n{}",
            self.shown(&preview.body),
            self.shown(&sent.body_text())
        );
        let names = |headers: &[(String, String)]| {
            headers
                .iter()
                .map(|(n, _)| n.to_ascii_lowercase())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&preview.headers),
            names(&sent.headers),
            "[{tag}] {name}: the headers previewed are not the headers sent, in order"
        );
        for (header, value) in &preview.headers {
            if value != RequestPreview::REDACTED {
                assert!(
                    sent.header(header) == Some(value.as_str()),
                    "[{tag}] {name}: header {header} is previewed as {:?} but sent otherwise",
                    self.shown(value)
                );
            }
        }
        let redacted: BTreeSet<String> = preview
            .headers
            .iter()
            .filter(|(_, v)| v == RequestPreview::REDACTED)
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect();
        let stated: BTreeSet<String> = credentials.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(
            redacted, stated,
            "[{credentials_tag}] {name}: the headers the preview redacts are not the credentials stated"
        );
        for (header, value) in credentials {
            // Compared, never printed.
            assert!(
                sent.header(header) == Some(value.as_str()),
                "[{credentials_tag}] {name}: the {header} header sent is not the credential configured (values not shown)"
            );
        }
    }

    /// The receipt of a one-attempt update of `id` under the strict policy.
    pub(super) fn assert_receipt(&self, name: &str, receipt: &UpdateReceipt, id: &TicketId) {
        assert_eq!(
            receipt.ticket_id, *id,
            "[receipt] {name}: the receipt names another ticket than the one updated"
        );
        assert_eq!(
            receipt.provider, name,
            "[receipt] {name}: the receipt's provider"
        );
        assert_eq!(
            receipt.attempts, 1,
            "[receipt] {name}: attempts of a first success"
        );
        assert!(
            receipt.dropped.is_empty(),
            "[receipt] {name}: a strict update dropped {:?}",
            receipt.dropped
        );
    }
}
