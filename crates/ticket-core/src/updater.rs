//! The trait every provider implements, and (feature `mock`) its mockall mock, kept in this
//! module so the mock's generated internals do not show in the crate's docs.

use async_trait::async_trait;

use crate::{
    Capabilities, Plan, RequestPreview, TicketError, TicketId, TicketSnapshot, TicketUpdate,
    UpdateReceipt,
};

/// Updates tickets in one helpdesk.
///
/// The contract every implementation keeps:
/// - It is `Send + Sync` and object-safe: share one as `Arc<dyn TicketUpdater>`.
/// - [`update`](Self::update) checks the update against the provider with
///   [`TicketUpdate::plan`] before any request is made, so invalid or unsupported input fails
///   locally with a typed error and nothing is sent.
/// - A field the provider cannot carry is never dropped silently: it is refused (strict
///   policy) or listed in [`UpdateReceipt::dropped`] (lenient policy).
/// - [`preview`](Self::preview) renders exactly the request [`update`](Self::update) would
///   send, with secrets redacted, without sending it; [`check`](Self::check) refuses exactly
///   what `update` refuses locally, without rendering anything.
/// - No secret appears in any error, preview, log line or `Debug` output.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TicketUpdater: Send + Sync {
    /// The provider's registry name, such as `"engagelab"` or `"feishu"`.
    fn provider(&self) -> &str;

    /// The unified fields this provider can carry, and what it requires.
    fn capabilities(&self) -> Capabilities;

    /// The request an update would send, with secrets redacted. Sends nothing.
    fn preview(&self, id: &TicketId, update: &TicketUpdate) -> Result<RequestPreview, TicketError>;

    /// The local checks of [`update`](Self::update), without rendering a preview: what
    /// would be carried and dropped, or the error `update` would return before sending.
    ///
    /// The contract: it refuses exactly what `update` refuses locally because of the update
    /// itself (the [`TicketUpdate::plan`] rules and anything else the provider checks before
    /// it sends, such as a value it cannot encode; not credentials or the network), returns
    /// the same [`Plan`] that `update` would act on, and sends nothing. A bulk tool checks
    /// every update with it before sending any.
    ///
    /// The default runs [`preview`](Self::preview) and reads its [`RequestPreview::dropped`];
    /// override it when the checks are cheaper than rendering the request.
    fn check(&self, id: &TicketId, update: &TicketUpdate) -> Result<Plan, TicketError> {
        let dropped = self.preview(id, update)?.dropped;
        let carried = update
            .fields()
            .difference(dropped.iter().copied().collect());
        Ok(Plan { carried, dropped })
    }

    /// Applies `update` to ticket `id`.
    ///
    /// An update in merge mode or with verification ([`TicketUpdate::needs_read`]) reads the
    /// ticket too, as [`update_with_reads`](crate::update_with_reads) does; a provider that cannot read refuses it in
    /// [`TicketUpdate::plan`] ([`TicketError::UnsupportedOperation`]).
    async fn update(
        &self,
        id: &TicketId,
        update: &TicketUpdate,
    ) -> Result<UpdateReceipt, TicketError>;

    /// Reads ticket `id` as it is now, in the unified vocabulary with the provider's own
    /// answer beside it. Sends nothing that changes the ticket.
    ///
    /// The default refuses with [`TicketError::UnsupportedOperation`]: a provider that can
    /// read overrides it and says so in [`Capabilities::read`].
    async fn read(&self, id: &TicketId) -> Result<TicketSnapshot, TicketError> {
        let _ = id;
        Err(TicketError::cannot_read(self.provider()))
    }
}

/// Lets `Arc<dyn TicketUpdater>` be debug-printed (and `unwrap_err`ed) without making `Debug`
/// a supertrait every provider must implement. Shows the provider name only.
impl std::fmt::Debug for dyn TicketUpdater + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketUpdater")
            .field("provider", &self.provider())
            .finish_non_exhaustive()
    }
}
