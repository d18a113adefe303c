//! `TicketUpdate::to_builder` carries every field, and `TicketUpdater::check`'s default
//! refuses what `update` refuses.
#![allow(clippy::unwrap_used)]

use async_trait::async_trait;
use helpdesk_ticket_core::{
    Capabilities, CommentVisibility, ErrorKind, Field, FieldSet, Plan, Priority, RequestPreview,
    TicketError, TicketId, TicketKind, TicketStatus, TicketUpdate, TicketUpdateBuilder,
    TicketUpdater, UpdateReceipt,
};

/// Sets `field` on `b` (with what it depends on: a visibility needs a comment). A field added
/// to `Field` without a line here fails every test that enumerates `Field::ALL`.
fn set(b: TicketUpdateBuilder, field: Field) -> TicketUpdateBuilder {
    match field {
        Field::Title => b.title("Printer jammed"),
        Field::Description => b.description("A4 paper is stuck."),
        Field::Priority => b.priority(Priority::Urgent),
        Field::Kind => b.kind(TicketKind::Problem),
        Field::Tags => b.tags(["printer", "hardware"]),
        Field::CustomFields => b.custom_field("device_sn", "PRN-1"),
        Field::CustomFieldIds => b.custom_field_by_id(360_001_u64, 3),
        Field::CustomFieldKeys => b.custom_field_with_id("6981", "vip", true),
        Field::Attachments => b
            .attachment("https://files.example.com/a.png")
            .attachment("https://files.example.com/b.png"),
        Field::Status => b.status(TicketStatus::Closed),
        Field::Solved => b.solved(true),
        Field::Comment => b.comment("Checked on site."),
        Field::CommentVisibility => b
            .comment("Checked on site.")
            .comment_visibility(CommentVisibility::Internal),
        other => panic!(
            "no setter for {other} in this test: add one here, and make sure \
             TicketUpdate::to_builder carries it"
        ),
    }
}

fn every_field() -> TicketUpdate {
    Field::ALL
        .into_iter()
        .fold(TicketUpdate::builder(), set)
        .provider_field("feishu", "channel", 1)
        .provider_field("feishu", "ticket_type", 2)
        .provider_field("zendesk", "via", "api")
        .lenient()
        .build()
        .unwrap()
}

#[test]
fn an_update_with_every_field_round_trips_through_to_builder() {
    let update = every_field();
    let all: FieldSet = Field::ALL.into_iter().collect();
    assert_eq!(update.fields(), all, "the update sets every field");
    assert_eq!(update.provider_field_names().count(), 2);
    let again = update.to_builder().build().unwrap();
    assert_eq!(again, update);
    // Field by field too: each alone (the others unset) survives the round trip.
    for field in Field::ALL {
        let one = set(TicketUpdate::builder(), field).build().unwrap();
        assert!(one.fields().contains(field), "{field}");
        assert_eq!(one.to_builder().build().unwrap(), one, "{field}");
    }
    // A cleared tag list is kept as cleared, not as "not set".
    let cleared = TicketUpdate::builder()
        .tags(Vec::<String>::new())
        .build()
        .unwrap();
    assert_eq!(cleared.to_builder().build().unwrap().tags(), Some(&[][..]));
}

#[test]
fn to_builder_appends_and_checks_again() {
    let update = every_field();
    let more = update
        .to_builder()
        .tag("urgent")
        .custom_field("site", "B2")
        .attachment("https://files.example.com/c.png")
        .provider_field("feishu", "extra", true)
        .build()
        .unwrap();
    assert_eq!(more.tags().unwrap().len(), 3);
    assert_eq!(more.custom_fields().unwrap().len(), 4);
    assert_eq!(more.attachments().unwrap().len(), 3);
    assert_eq!(more.provider_fields("feishu").unwrap().len(), 3);
    assert_eq!(more.title(), update.title());
    assert_eq!(more.policy(), update.policy());

    // What was there already counts in the checks of `build`.
    for (builder, field) in [
        (update.to_builder().tag("printer"), "tags"),
        (
            update.to_builder().custom_field("device_sn", "again"),
            "custom_fields",
        ),
        (
            update.to_builder().custom_field_by_id(360_001_u64, 4),
            "custom_fields.id",
        ),
        (
            update.to_builder().provider_field("feishu", "channel", 2),
            "provider_fields.feishu.channel",
        ),
        (update.to_builder().status(TicketStatus::Open), "solved"),
    ] {
        match builder.build() {
            Err(TicketError::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: expected InvalidInput, got {other:?}"),
        }
    }
}

/// A provider that keeps the default `check`: it carries titles and tags, and refuses a tag
/// `"forbidden"` locally in its preview and update alike (a check beyond the plan).
struct Notebook;

const CAPS: Capabilities = Capabilities::new(FieldSet::of(&[Field::Title, Field::Tags]));

impl Notebook {
    fn prepare(update: &TicketUpdate) -> Result<Plan, TicketError> {
        let plan = update.plan("notebook", &CAPS, &[])?;
        if update
            .tags()
            .unwrap_or_default()
            .iter()
            .any(|t| t == "forbidden")
        {
            return Err(TicketError::invalid("tags", "the notebook refuses it"));
        }
        Ok(plan)
    }
}

#[async_trait]
impl TicketUpdater for Notebook {
    fn provider(&self) -> &str {
        "notebook"
    }
    fn capabilities(&self) -> Capabilities {
        CAPS
    }
    fn preview(&self, id: &TicketId, update: &TicketUpdate) -> Result<RequestPreview, TicketError> {
        let plan = Self::prepare(update)?;
        Ok(RequestPreview::new("WRITE", id.as_str(), vec![], "").with_dropped(plan.dropped))
    }
    async fn update(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<UpdateReceipt, TicketError> {
        let plan = Self::prepare(update)?;
        Ok(UpdateReceipt::new("notebook", id.clone()).with_dropped(plan.dropped))
    }
}

#[tokio::test]
async fn the_default_check_refuses_what_update_refuses_and_returns_its_plan() {
    let id = TicketId::new("42").unwrap();
    let cases = [
        TicketUpdate::builder().title("t").build().unwrap(),
        TicketUpdate::builder()
            .title("t")
            .comment("c")
            .priority(Priority::Low)
            .lenient()
            .build()
            .unwrap(),
        TicketUpdate::builder()
            .title("t")
            .comment("c")
            .build()
            .unwrap(),
        TicketUpdate::builder().tag("forbidden").build().unwrap(),
        every_field(),
    ];
    for update in cases {
        let checked = Notebook.check(&id, &update);
        let updated = Notebook.update(&id, &update).await;
        match (&checked, &updated) {
            (Ok(plan), Ok(receipt)) => {
                assert_eq!(*plan, update.plan("notebook", &CAPS, &[]).unwrap());
                assert_eq!(plan.dropped, receipt.dropped);
            }
            (Err(a), Err(b)) => {
                assert_eq!(a.kind(), b.kind());
                assert_eq!(a.to_string(), b.to_string());
            }
            _ => panic!("check {checked:?} but update {updated:?} for {update:?}"),
        }
    }
    let err = Notebook
        .check(
            &id,
            &TicketUpdate::builder().tag("forbidden").build().unwrap(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[cfg(feature = "mock")]
#[test]
fn the_mock_has_check() {
    let mut mock = helpdesk_ticket_core::MockTicketUpdater::new();
    mock.expect_check()
        .times(1)
        .returning(|_, u| u.plan("mocked", &CAPS, &[]));
    let update = TicketUpdate::builder().title("t").build().unwrap();
    let plan = mock.check(&TicketId::new("1").unwrap(), &update).unwrap();
    assert_eq!(plan.carried, FieldSet::of(&[Field::Title]));
}
