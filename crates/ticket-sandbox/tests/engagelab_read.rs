//! EngageLab reads and the omitted-priority mode over real loopback HTTP: `GET` in the vendor's
//! example order, on both path prefixes the pages give, and what an update without `priority`
//! does in each mode.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use helpdesk_ticket_sandbox::{EngageLabGetPaths, EngageLabTicket, OmittedPriority, Sandbox};
use serde_json::json;

async fn get_url(sb: &Sandbox, client: &reqwest::Client, url: String) -> Resp {
    let resp = client
        .get(url)
        .header("Authorization", sb.credentials().engagelab_authorization())
        .header("Content-Type", CT_JSON)
        .send()
        .await
        .unwrap();
    read(resp).await
}

/// Each `"key":` appears in the body, in this order.
fn assert_in_order(body: &str, keys: &[&str]) {
    let at: Vec<usize> = keys
        .iter()
        .map(|k| {
            body.find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("{k}: {body}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{keys:?} in {body}");
}

fn seeded() -> EngageLabTicket {
    EngageLabTicket::new("Printer paper jam", "A4 stuck at the output tray.")
        .with_priority("urgent")
        .with_ticket_type("incident")
        .with_status("open")
        .with_tags(["printer", "hardware"])
        .with_custom_field("device_sn", "PRN-2024-001")
        .with_attachment("https://example.com/files/error.jpg")
}

#[tokio::test]
async fn get_answers_in_the_vendors_order() {
    let sb = Sandbox::builder()
        .seed_engagelab("tk_20251104_789abc", seeded())
        .start()
        .await
        .unwrap();
    let client = client();
    let resp = el_get(&sb, &client, "tk_20251104_789abc").await;
    assert_eq!(resp.status, 200);
    let v = resp.json();
    assert_eq!(
        (v["code"].as_i64(), v["message"].as_str()),
        (Some(0), Some("Success"))
    );
    // The vendor's order, read from the raw body (a JSON map would sort the keys).
    let order = [
        "ticket_id",
        "title",
        "description",
        "attachments",
        "status",
        "priority",
        "ticket_type",
        "custom_fields",
        "conversation_list",
        "status_changes",
        "tags",
        "updated_at",
    ];
    assert_in_order(&resp.body, &order);
    let stored = sb.engagelab_ticket("tk_20251104_789abc").unwrap();
    assert_eq!(
        v["data"],
        json!({
            "ticket_id": "tk_20251104_789abc",
            "title": "Printer paper jam",
            "description": "A4 stuck at the output tray.",
            "attachments": [{"file_url": "https://example.com/files/error.jpg"}],
            "status": "open",
            "priority": "urgent",
            "ticket_type": "incident",
            "custom_fields": {"device_sn": "PRN-2024-001"},
            "conversation_list": [],
            "status_changes": [],
            "tags": ["printer", "hardware"],
            "updated_at": stored.updated_at,
        })
    );
}

#[tokio::test]
async fn get_answers_on_both_prefixes_by_default_and_counts_which() {
    let sb = Sandbox::builder()
        .seed_engagelab("t", seeded())
        .start()
        .await
        .unwrap();
    let client = client();
    let api = get_url(&sb, &client, sb.engagelab_ticket_url("t")).await;
    let bare = get_url(&sb, &client, sb.engagelab_bare_ticket_url("t")).await;
    assert_eq!((api.status, bare.status), (200, 200));
    assert_eq!(api.json(), bare.json());
    assert!(
        sb.engagelab_bare_ticket_url("t")
            .ends_with("/v2/accounts/tickets/t")
    );
    // The bare path reads only: every update page says /api/v2.
    let resp = client
        .put(sb.engagelab_bare_ticket_url("t"))
        .header("Authorization", sb.credentials().engagelab_authorization())
        .header("Content-Type", CT_JSON)
        .body(EL_MIN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        read(resp).await.json(),
        json!({"code": 40401, "message": "route not found"})
    );
    assert_eq!(el_put(&sb, &client, "t", EL_MIN).await.status, 200);
    let s = sb.stats();
    assert_eq!(
        (
            s.engagelab_gets,
            s.engagelab_gets_bare_path,
            s.engagelab_puts
        ),
        (2, 1, 1)
    );
    assert_eq!(s.engagelab_requests, 4);
    // Basic auth there too.
    let resp = client
        .get(sb.engagelab_bare_ticket_url("t"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn get_path_modes_serve_one_prefix_and_404_the_other() {
    let sb = Sandbox::builder()
        .engagelab_get_paths(EngageLabGetPaths::Api)
        .seed_engagelab("t", seeded())
        .start()
        .await
        .unwrap();
    let client = client();
    assert_eq!(
        get_url(&sb, &client, sb.engagelab_ticket_url("t"))
            .await
            .status,
        200
    );
    let bare = get_url(&sb, &client, sb.engagelab_bare_ticket_url("t")).await;
    assert_eq!((bare.status, bare.code()), (404, 40401));

    // Switched through the admin API: only the bare path reads; updates keep /api/v2.
    let resp = client
        .put(format!("{}/modes", sb.admin_url()))
        .body(r#"{"engagelab_get_paths":"bare"}"#)
        .send()
        .await
        .unwrap();
    let modes = read(resp).await.json();
    assert_eq!(
        modes,
        json!({"engagelab_omitted_priority": "reset", "engagelab_get_paths": "bare"})
    );
    assert_eq!(sb.engagelab_get_paths(), EngageLabGetPaths::Bare);
    assert_eq!(
        get_url(&sb, &client, sb.engagelab_ticket_url("t"))
            .await
            .status,
        404
    );
    assert_eq!(
        get_url(&sb, &client, sb.engagelab_bare_ticket_url("t"))
            .await
            .status,
        200
    );
    assert_eq!(el_put(&sb, &client, "t", EL_MIN).await.status, 200);

    let bad = client
        .put(format!("{}/modes", sb.admin_url()))
        .body(r#"{"engagelab_get_paths":"v3"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    sb.reset();
    assert_eq!(
        sb.engagelab_get_paths(),
        EngageLabGetPaths::Api,
        "reset restores the start mode"
    );
}

/// The default mode is the document's reading: an update without `priority` resets it to
/// medium. One with it stores it in either mode.
#[tokio::test]
async fn omitted_priority_resets_to_medium_by_default() {
    let sb = Sandbox::builder()
        .seed_engagelab("t", seeded())
        .start()
        .await
        .unwrap();
    let client = client();
    assert_eq!(sb.engagelab_omitted_priority(), OmittedPriority::Reset);
    assert_eq!(el_put(&sb, &client, "t", EL_MIN).await.status, 200);
    let t = sb.engagelab_ticket("t").unwrap();
    assert_eq!(t.priority, "medium");
    // Only the priority: the other optional fields are kept.
    assert_eq!(t.tags, ["printer", "hardware"]);
    assert_eq!(t.ticket_type.as_deref(), Some("incident"));
    assert_eq!(
        el_get(&sb, &client, "t").await.json()["data"]["priority"],
        "medium"
    );

    let with = r#"{"title":"t","description":"d","priority":"high"}"#;
    assert_eq!(el_put(&sb, &client, "t", with).await.status, 200);
    assert_eq!(sb.engagelab_ticket("t").unwrap().priority, "high");
}

#[tokio::test]
async fn omitted_priority_keep_mode_from_the_builder_the_handle_and_the_admin_api() {
    let sb = Sandbox::builder()
        .engagelab_omitted_priority(OmittedPriority::Keep)
        .seed_engagelab("t", seeded())
        .start()
        .await
        .unwrap();
    let client = client();
    assert_eq!(el_put(&sb, &client, "t", EL_MIN).await.status, 200);
    assert_eq!(sb.engagelab_ticket("t").unwrap().priority, "urgent");

    sb.set_engagelab_omitted_priority(OmittedPriority::Reset);
    assert_eq!(el_put(&sb, &client, "t", EL_MIN).await.status, 200);
    assert_eq!(sb.engagelab_ticket("t").unwrap().priority, "medium");

    sb.seed_engagelab("t", seeded());
    let resp = client
        .put(format!("{}/modes", sb.admin_url()))
        .body(r#"{"engagelab_omitted_priority":"keep"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        read(resp).await.json()["engagelab_omitted_priority"],
        "keep"
    );
    assert_eq!(el_put(&sb, &client, "t", EL_MIN).await.status, 200);
    assert_eq!(sb.engagelab_ticket("t").unwrap().priority, "urgent");
    let resp = client
        .get(format!("{}/modes", sb.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        read(resp).await.json(),
        json!({"engagelab_omitted_priority": "keep", "engagelab_get_paths": "both"})
    );
}

#[tokio::test]
async fn seeding_through_the_admin_api_sets_status_and_reads_back() {
    let sb = Sandbox::start().await.unwrap();
    let client = client();
    let body = json!({"title": "Jam", "priority": "urgent", "status": "pending",
                      "tags": ["a"], "custom_fields": {"k": 1}});
    let resp = client
        .post(format!("{}/tickets/engagelab/s1", sb.admin_url()))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let data = el_get(&sb, &client, "s1").await.json()["data"].clone();
    assert_eq!(
        (
            &data["title"],
            &data["priority"],
            &data["status"],
            &data["custom_fields"]
        ),
        (
            &json!("Jam"),
            &json!("urgent"),
            &json!("pending"),
            &json!({"k": 1})
        )
    );
    assert_eq!(data["description"], EngageLabTicket::default().description);
}
