//! The conformance suite must pass a provider that keeps the contract, and fail each broken
//! one with the check meant to catch it (asserted on the tag that starts its message). The
//! providers are written on the kit, as a downstream one would be; each flaw is one change.
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used, clippy::panic)]

mod mini;
mod reads;
mod wrapped;

use mini::Flaw;
use wrapped::suite;

#[tokio::test]
async fn a_provider_written_with_the_kit_passes() {
    suite(Flaw::None).run().await;
}

#[tokio::test]
#[should_panic(expected = "[body] mini: tags was set to")]
async fn a_provider_that_drops_a_field_fails_the_body_check() {
    suite(Flaw::DropsTags).run().await;
}

#[tokio::test]
#[should_panic(expected = "[body] mini: title was set to")]
async fn a_provider_that_sends_an_empty_body_fails_the_body_check() {
    suite(Flaw::SendsEmpty).run().await;
}

#[tokio::test]
#[should_panic(expected = "[body] mini: title was set to \"cf-title-Qx71\" (tags alone)")]
async fn a_provider_that_mixes_up_fields_fails_the_body_check() {
    suite(Flaw::MixesUp).run().await;
}

#[tokio::test]
#[should_panic(expected = "[enum] mini: priority low and priority medium send the same body")]
async fn a_provider_that_ignores_a_value_fails_the_enum_check() {
    suite(Flaw::OnePriority).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[credentials] mini: the authorization header sent is not the credential"
)]
async fn a_provider_that_sends_a_wrong_credential_fails_the_credentials_check() {
    suite(Flaw::WrongCredential).run().await;
}

#[tokio::test]
#[should_panic(expected = "[path] mini: the update went to the wrong path")]
async fn a_provider_with_a_wrong_path_prefix_fails_the_path_check() {
    suite(Flaw::WrongPrefix).run().await;
}

#[tokio::test]
#[should_panic(expected = "[preview] mini: the body previewed is not the body sent")]
async fn a_provider_whose_preview_lies_fails_the_preview_check() {
    suite(Flaw::PreviewLies).run().await;
}

#[tokio::test]
#[should_panic(expected = "[receipt] mini: the receipt names another ticket")]
async fn a_provider_that_names_another_ticket_fails_the_receipt_check() {
    suite(Flaw::WrongReceipt).run().await;
}

#[tokio::test]
#[should_panic(expected = "[strict] mini: unsupported description: update must refuse")]
async fn a_provider_that_ignores_the_strict_policy_fails_the_strict_check() {
    suite(Flaw::IgnoresStrict).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[lenient] mini: unsupported kind: dropped, yet the body differs from the same update without it"
)]
async fn a_provider_that_ignores_the_lenient_policy_fails_the_lenient_check() {
    suite(Flaw::IgnoresLenient).run().await;
}

#[tokio::test]
#[should_panic(expected = "[ids] mini: ticket \"a/b\" went to the wrong path")]
async fn a_provider_that_rewrites_ids_fails_the_ids_check() {
    suite(Flaw::RewritesIds).run().await;
}

#[tokio::test]
#[should_panic(expected = "[errors] mini: HTTP 401 was sent 4 times, not 1")]
async fn a_provider_that_retries_a_401_fails_the_errors_check() {
    suite(Flaw::Retries401).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[errors] mini: HTTP 503 to an update that is not idempotent was sent 4 times, not 1"
)]
async fn a_provider_that_retries_comments_after_a_5xx_fails_the_errors_check() {
    suite(Flaw::RetriesComments).run().await;
}

#[tokio::test]
#[should_panic(expected = "[secrets] mini, HTTP 401: secret #1 leaked in the error's Display")]
async fn a_provider_that_quotes_its_token_fails_the_secrets_check() {
    suite(Flaw::Leaky).run().await;
}

#[tokio::test]
#[should_panic(
    expected = "[business] mini: business error #1 (Unauthenticated) was read as a success"
)]
async fn a_provider_that_reads_a_200_error_as_success_fails_the_business_check() {
    suite(Flaw::BusinessOk).run().await;
}

#[tokio::test]
#[should_panic(expected = "[wait] mini: the server asked for a one-second wait")]
async fn a_provider_that_ignores_the_servers_wait_fails_the_wait_check() {
    suite(Flaw::IgnoresWait).run().await;
}
