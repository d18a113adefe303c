//! The silent-drop fault over real loopback HTTP: an update answered with success that did not
//! store one field (or one tag, or one custom field), for each provider, visible to a read.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use helpdesk_ticket_sandbox::{
    DropTarget, EngageLabTicket, Fault, FeishuCustomizedField, FeishuFieldDef, FeishuTicket,
    PendingFault, Provider, Sandbox, Scope,
};
use serde_json::json;

fn drop(provider: Provider, spec: &str) -> Fault {
    Fault::SilentDrop(DropTarget::new(provider, spec).unwrap())
}

#[tokio::test]
async fn engagelab_update_succeeds_without_storing_the_priority() {
    let sb = Sandbox::builder()
        .seed_engagelab(
            "t",
            EngageLabTicket::new("Old", "Old body").with_priority("low"),
        )
        .start()
        .await
        .unwrap();
    let client = client();
    sb.inject(drop(Provider::EngageLab, "priority"), Scope::EngageLab, 1);
    let body = r#"{"title":"New","description":"New body","priority":"urgent"}"#;
    let resp = el_put(&sb, &client, "t", body).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.code(), 0);
    let read = el_get(&sb, &client, "t").await.json();
    assert_eq!(read["data"]["priority"], "low", "the old priority");
    assert_eq!(read["data"]["title"], "New", "the rest is stored");
    assert_eq!(sb.stats().silent_drops, 1);
    assert!(sb.pending_faults().is_empty());
    // Spent: the next update stores everything.
    assert_eq!(el_put(&sb, &client, "t", body).await.status, 200);
    assert_eq!(sb.engagelab_ticket("t").unwrap().priority, "urgent");
}

#[tokio::test]
async fn engagelab_drops_one_tag_or_one_custom_field() {
    let sb = Sandbox::builder()
        .seed_engagelab(
            "t",
            EngageLabTicket::default().with_custom_field("sn", "old-sn"),
        )
        .start()
        .await
        .unwrap();
    let client = client();
    sb.inject(
        drop(Provider::EngageLab, "custom_fields.sn"),
        Scope::EngageLab,
        1,
    );
    sb.inject(
        drop(Provider::EngageLab, "tags.vip"),
        Scope::Ticket("t".into()),
        1,
    );
    // The first update carries no custom fields: the custom field drop waits; the tag drop
    // (ticket scope, taken first anyway) applies.
    let tags = r#"{"title":"t","description":"d","tags":["a","vip"]}"#;
    assert_eq!(el_put(&sb, &client, "t", tags).await.status, 200);
    let t = sb.engagelab_ticket("t").unwrap();
    assert_eq!(t.tags, ["a"]);
    let fields = json!({"title": "t", "description": "d", "tags": ["a", "vip"],
                        "custom_fields": {"sn": "new-sn", "loc": "HQ"}});
    assert_eq!(
        el_put(&sb, &client, "t", &fields.to_string()).await.status,
        200
    );
    let t = sb.engagelab_ticket("t").unwrap();
    assert_eq!(t.tags, ["a", "vip"]);
    assert_eq!(t.custom_fields["sn"], "old-sn", "kept its old value");
    assert_eq!(t.custom_fields["loc"], "HQ");
    assert_eq!(sb.stats().silent_drops, 2);
}

#[tokio::test]
async fn feishu_update_succeeds_without_storing_the_status() {
    let sb = Sandbox::builder()
        .seed_feishu_default("f")
        .start()
        .await
        .unwrap();
    let client = client();
    sb.inject(drop(Provider::Feishu, "status"), Scope::Feishu, 1);
    let resp = fs_put(&sb, &client, "f", r#"{"status":51,"comment":"closing"}"#).await;
    assert_eq!(resp.body, r#"{"code":0,"msg":"success","data":{}}"#);
    let t = fs_get(&sb, &client, "f").await.json()["data"]["ticket"].clone();
    assert_eq!(t["status"], 1, "still open");
    assert!(t.get("closed_at").is_none());
    assert_eq!(
        t["comments"]["content"], "closing",
        "the comment was stored"
    );
    assert_eq!(sb.stats().silent_drops, 1);
}

#[tokio::test]
async fn feishu_drops_a_tag_a_customized_field_or_the_comment() {
    let sb = Sandbox::builder()
        .feishu_field(FeishuFieldDef::text("42", "sn"))
        .seed_feishu(
            "f",
            FeishuTicket::default().with_field(FeishuCustomizedField::new(
                Some("42"),
                None,
                Some("old"),
            )),
        )
        .start()
        .await
        .unwrap();
    let client = client();
    sb.inject(drop(Provider::Feishu, "tag_names.vip"), Scope::Feishu, 1);
    // Named by key name while the update names the field by id: the definition links the two.
    sb.inject(
        drop(Provider::Feishu, "customized_fields.sn"),
        Scope::Feishu,
        1,
    );
    sb.inject(drop(Provider::Feishu, "comment"), Scope::Feishu, 1);
    let put = |n: usize| {
        let body = json!({"tag_names": ["a", "vip"], "comment": format!("c{n}"),
                          "customized_fields": [{"id": "42", "value": format!("v{n}")}]});
        let sb = &sb;
        let client = &client;
        async move { fs_put(sb, client, "f", &body.to_string()).await.code() }
    };
    let field = |sb: &Sandbox| {
        sb.feishu_ticket("f").unwrap().customized_fields[0]
            .value
            .clone()
    };

    assert_eq!(put(1).await, 0);
    assert_eq!(sb.feishu_ticket("f").unwrap().tag_names, ["a"]);
    assert_eq!(field(&sb).as_deref(), Some("v1"));
    assert_eq!(put(2).await, 0);
    assert_eq!(sb.feishu_ticket("f").unwrap().tag_names, ["a", "vip"]);
    assert_eq!(
        field(&sb).as_deref(),
        Some("v1"),
        "the field kept its old value"
    );
    assert_eq!(put(3).await, 0);
    assert_eq!(field(&sb).as_deref(), Some("v3"));
    assert_eq!(sb.feishu_ticket("f").unwrap().comments, ["c1", "c2"]);
    assert_eq!(sb.comment_count("f"), 2);
    assert_eq!(sb.stats().comments_applied, 2);
    assert_eq!(sb.stats().silent_drops, 3);
}

#[tokio::test]
async fn a_drop_waits_for_an_update_that_carries_its_field() {
    let sb = Sandbox::builder()
        .seed_feishu_default("f")
        .seed_engagelab_default("e")
        .start()
        .await
        .unwrap();
    let client = client();
    let target = drop(Provider::Feishu, "solved");
    sb.inject(target.clone(), Scope::Ticket("f".into()), 1);
    sb.inject(
        Fault::ServerError { status: 503 },
        Scope::Ticket("f".into()),
        1,
    );
    // Reads, updates without `solved`, refused updates and the other provider pass it by; the
    // server error queued behind it is served to the next request.
    assert_eq!(fs_get(&sb, &client, "f").await.status, 503);
    assert_eq!(fs_get(&sb, &client, "f").await.status, 200);
    assert_eq!(fs_put(&sb, &client, "f", r#"{"status":2}"#).await.code(), 0);
    assert_eq!(
        fs_put(&sb, &client, "f", r#"{"solved":3}"#).await.status,
        400
    );
    assert_eq!(el_put(&sb, &client, "e", EL_MIN).await.status, 200);
    assert_eq!(
        sb.pending_faults(),
        [PendingFault::new(target, Scope::Ticket("f".into()), 1)]
    );
    assert_eq!(fs_put(&sb, &client, "f", r#"{"solved":2}"#).await.code(), 0);
    assert_eq!(sb.feishu_ticket("f").unwrap().solved, 1);
    assert_eq!(sb.feishu_ticket("f").unwrap().status, 2);
    assert!(sb.pending_faults().is_empty());
    assert_eq!(sb.stats().silent_drops, 1);
}

#[tokio::test]
async fn silent_drops_through_the_admin_api() {
    let sb = Sandbox::builder()
        .seed_engagelab("e", EngageLabTicket::default().with_tags(["x"]))
        .start()
        .await
        .unwrap();
    let client = client();
    let inject = |body: serde_json::Value| {
        let req = client
            .post(format!("{}/faults", sb.admin_url()))
            .body(body.to_string());
        async move { read(req.send().await.unwrap()).await }
    };
    let resp = inject(
        json!({"fault": {"kind": "silent_drop", "provider": "engagelab", "field": "tags"},
                             "scope": "engagelab"}),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json()[0]["fault"],
        json!({"kind": "silent_drop", "provider": "engagelab", "field": "tags"})
    );
    for (fault, expected) in [
        (
            json!({"kind": "silent_drop", "provider": "engagelab", "field": "status"}),
            "status",
        ),
        (
            json!({"kind": "silent_drop", "provider": "feishu", "field": "tags"}),
            "tags",
        ),
        (
            json!({"kind": "silent_drop", "provider": "zendesk", "field": "tags"}),
            "zendesk",
        ),
        (
            json!({"kind": "silent_drop", "provider": "feishu"}),
            "field",
        ),
    ] {
        let resp = inject(json!({"fault": fault, "scope": "feishu"})).await;
        assert_eq!(resp.status, 400, "{fault}");
        assert!(resp.body.contains(expected), "{fault}: {}", resp.body);
    }
    let body = r#"{"title":"t","description":"d","tags":["y"]}"#;
    assert_eq!(el_put(&sb, &client, "e", body).await.status, 200);
    assert_eq!(sb.engagelab_ticket("e").unwrap().tags, ["x"]);
    let stats = client
        .get(format!("{}/stats", sb.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(read(stats).await.json()["silent_drops"], 1);
}
