//! Reads: a provider that cannot read passes and one that sends merge updates anyway fails;
//! each broken read, merge or verification fails the check meant to catch it.

use crate::mini::Flaw;
use crate::wrapped::{suite, suite_without_reads};

#[tokio::test]
async fn a_provider_that_cannot_read_passes() {
    suite_without_reads(Flaw::None).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[unsupported-read] noread: update() of a merge update must refuse with UnsupportedOperation"
)]
async fn a_provider_that_cannot_read_yet_sends_merge_updates_fails_the_unsupported_read_check() {
    suite_without_reads(Flaw::IgnoresMerge).run().await;
}

#[tokio::test]
#[should_panic(expected = "[read] mini: a read carries the update's credential (authorization")]
async fn a_provider_that_reads_with_the_update_token_fails_the_read_check() {
    suite(Flaw::ReadsWithUpdateToken).run().await;
}

#[tokio::test]
#[should_panic(expected = "[read] mini: the read went to the wrong path (base URL path \"\")")]
async fn a_provider_with_a_wrong_read_prefix_fails_the_read_check() {
    suite(Flaw::WrongReadPrefix).run().await;
}

#[tokio::test]
#[should_panic(expected = "[read] mini: the read of ticket \"a/b\" went to the wrong path")]
async fn a_read_that_rewrites_ids_fails_the_read_check() {
    suite(Flaw::RewritesReadIds).run().await;
}

#[tokio::test]
#[should_panic(expected = "[read] mini: the headers previewed are not the headers sent, in order")]
async fn a_read_whose_preview_lies_fails_the_read_check() {
    suite(Flaw::ReadPreviewLies).run().await;
}

#[tokio::test]
#[should_panic(expected = "[read-errors] mini: HTTP 404 to a read was sent 4 times, not 1")]
async fn a_read_that_retries_a_404_fails_the_read_errors_check() {
    suite(Flaw::RetriesReadNotFound).run().await;
}

#[tokio::test]
#[should_panic(expected = "[read-errors] mini: HTTP 404 to a read was read as a success")]
async fn a_read_that_ignores_a_404_fails_the_read_errors_check() {
    suite(Flaw::IgnoresReadNotFound).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[read-errors] mini: an answer about another ticket was read as a success"
)]
async fn a_read_that_accepts_another_ticket_fails_the_read_errors_check() {
    suite(Flaw::AcceptsOtherTicket).run().await;
}

#[tokio::test]
#[should_panic(expected = "[read-retries] mini: a refused read token was not refreshed")]
async fn a_read_token_never_refreshed_fails_the_read_retries_check() {
    suite(Flaw::NeverRefreshesReads).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[read-secrets] mini, HTTP 401: secret #2 leaked in the read error's Display"
)]
async fn a_read_that_leaks_its_token_fails_the_read_secrets_check() {
    suite(Flaw::LeaksReadToken).run().await;
}

#[tokio::test]
#[should_panic(expected = "[read-secrets] mini, HTTP 401: secret #2 leaked in the logs")]
async fn a_read_that_logs_its_token_fails_the_read_secrets_check() {
    suite(Flaw::LogsReadToken).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[merge] mini: the tags edited, the rest read: sent [\"PUT /api/mini/tickets/48213\"], not a read of the ticket, then one update"
)]
async fn a_merge_that_sends_the_put_without_the_get_fails_the_merge_check() {
    suite(Flaw::CachesReads).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[merge] mini: the tags edited, the rest read: the title filled from the read (\"Printer jam\") is not in the body sent"
)]
async fn a_merge_whose_put_drops_a_filled_field_fails_the_merge_check() {
    suite(Flaw::DropsFilledTitle).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[merge] mini: the tags edited, the rest read: the body sent is not the preview of the merged update"
)]
async fn a_merge_that_fills_from_elsewhere_fails_the_merge_check() {
    suite(Flaw::FillsFromDefaults).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[merge] mini: the tags edited, the rest read: the receipt of a merge update has no merge report"
)]
async fn a_merge_without_its_report_fails_the_merge_check() {
    suite(Flaw::NoMergeReport).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[merge] mini: check() refused a merge update (the tags edited, the rest read)"
)]
async fn a_check_that_builds_a_merge_body_fails_the_merge_check() {
    suite(Flaw::CheckBuildsMergeBody).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[merge] mini: preview() of a merge update (the tags edited, the rest read) must refuse with InvalidInput(\"merge\")"
)]
async fn a_preview_of_a_merge_update_fails_the_merge_check() {
    suite(Flaw::PreviewsMerge).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[verify] mini: title was sent as \"cf-title-Qx71\" and read back as \"Printer jam\", but the verification does not report its drift"
)]
async fn a_verification_that_reports_a_drift_as_verified_fails_the_verify_check() {
    suite(Flaw::VerifiesDrift).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[verify] mini: a read back answered 404: the update with verification failed"
)]
async fn an_update_failed_by_its_read_back_fails_the_verify_check() {
    suite(Flaw::FailsOnReadBack).run().await;
}
