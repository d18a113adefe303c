//! The handle of a running sandbox: its URLs, and the Rust side of everything the admin routes
//! offer (seeding, state, faults, counters, modes).

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::fault::{Fault, PendingFault, Scope};
use crate::model::{
    Credentials, EngageLabGetPaths, EngageLabTicket, FeishuComment, FeishuFieldDef, FeishuTicket,
    OmittedPriority, RecordedRequest, Stats,
};
use crate::ratelimit::Provider;
use crate::state::Shared;
use crate::{SandboxBuilder, server, util};

/// A running emulator. Dropping it stops the server and closes its connections.
pub struct Sandbox {
    addr: SocketAddr,
    shared: Shared,
    shutdown: Option<watch::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts serving on `listener` on the current Tokio runtime.
    pub(crate) fn serve(listener: TcpListener, shared: Shared) -> io::Result<Self> {
        let addr = listener.local_addr()?;
        let (shutdown, shutdown_rx) = watch::channel(());
        let task = tokio::spawn(server::serve(listener, shared.clone(), shutdown_rx));
        tracing::debug!(%addr, "ticket-sandbox: listening");
        Ok(Self {
            addr,
            shared,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    /// Starts a sandbox on `127.0.0.1` with a random port and default options.
    ///
    /// # Errors
    /// When no loopback port can be bound.
    pub async fn start() -> io::Result<Self> {
        Self::builder().start().await
    }

    /// Options for a sandbox.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (no trailing slash): the base URL of both APIs.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The EngageLab base URL (the same as [`Sandbox::base_url`]).
    pub fn engagelab_base_url(&self) -> String {
        self.base_url()
    }

    /// The Feishu base URL (the same as [`Sandbox::base_url`]).
    pub fn feishu_base_url(&self) -> String {
        self.base_url()
    }

    /// The admin routes' base URL, `http://127.0.0.1:PORT/__sandbox`.
    pub fn admin_url(&self) -> String {
        format!("{}{}", self.base_url(), server::ADMIN_PREFIX)
    }

    /// The full URL of an EngageLab ticket (`/api/v2/...`, for reads and updates), the id
    /// percent-encoded as one path segment.
    pub fn engagelab_ticket_url(&self, id: &str) -> String {
        self.ticket_url(server::ENGAGELAB_TICKETS, id)
    }

    /// The bare `/v2/...` URL of an EngageLab ticket that some Get Ticket pages give (reads
    /// only; see [`EngageLabGetPaths`]).
    pub fn engagelab_bare_ticket_url(&self, id: &str) -> String {
        self.ticket_url(server::ENGAGELAB_BARE_TICKETS, id)
    }

    /// The full URL of a Feishu ticket, the id percent-encoded as one path segment.
    pub fn feishu_ticket_url(&self, id: &str) -> String {
        self.ticket_url(server::FEISHU_TICKETS, id)
    }

    fn ticket_url(&self, prefix: &str, id: &str) -> String {
        format!(
            "{}{prefix}{}",
            self.base_url(),
            util::percent_encode_segment(id)
        )
    }

    /// The Feishu user token refresh URL.
    pub fn feishu_token_url(&self) -> String {
        format!("{}{}", self.base_url(), server::FEISHU_TOKEN)
    }

    /// The Feishu tenant token URL (`…/auth/v3/tenant_access_token/internal`).
    pub fn feishu_tenant_token_url(&self) -> String {
        format!("{}{}", self.base_url(), server::FEISHU_TENANT_TOKEN)
    }

    /// The Feishu ticket custom field list URL.
    pub fn feishu_fields_url(&self) -> String {
        format!("{}{}", self.base_url(), server::FEISHU_FIELDS)
    }

    /// The credentials the sandbox accepts.
    pub fn credentials(&self) -> &Credentials {
        &self.shared.config.credentials
    }

    /// The environment that points the `helpdesk` facade (and the `helpdesk` CLI) at this
    /// sandbox for `provider`, with a static credential: `TICKET_PROVIDER`, then the facade's
    /// `TICKET_<PROVIDER>_<KEY>` variables (its `ENV_PREFIX`, the provider and the key, upper
    /// case), valued from [`Sandbox::base_url`] and [`Sandbox::credentials`]:
    ///
    /// - [`Provider::EngageLab`]: `TICKET_ENGAGELAB_BASE_URL`, `TICKET_ENGAGELAB_API_KEY`,
    ///   `TICKET_ENGAGELAB_API_SECRET`.
    /// - [`Provider::Feishu`]: `TICKET_FEISHU_BASE_URL`, `TICKET_FEISHU_HELPDESK_ID`,
    ///   `TICKET_FEISHU_HELPDESK_TOKEN`, `TICKET_FEISHU_USER_ACCESS_TOKEN` (the configured user
    ///   access token, valid for the token TTL from start; nothing refreshes it; see
    ///   [`Sandbox::feishu_refreshing_env_vars`]).
    ///
    /// Give it to `helpdesk::Config::from_env_vars` or `std::process::Command::envs`, extended
    /// with any further setting (`TICKET_FEISHU_RATE_LIMIT`, …). This crate does not depend on
    /// the facade, so the names are spelled here; the workspace's `tests/e2e.rs` connects with
    /// them for both providers.
    ///
    /// ```
    /// use helpdesk_ticket_sandbox::{Provider, Sandbox};
    ///
    /// #[tokio::main(flavor = "current_thread")]
    /// async fn main() -> std::io::Result<()> {
    ///     let sandbox = Sandbox::start().await?;
    ///     let vars = sandbox.env_vars(Provider::EngageLab);
    ///     let names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
    ///     assert_eq!(
    ///         names,
    ///         [
    ///             "TICKET_PROVIDER",
    ///             "TICKET_ENGAGELAB_BASE_URL",
    ///             "TICKET_ENGAGELAB_API_KEY",
    ///             "TICKET_ENGAGELAB_API_SECRET",
    ///         ]
    ///     );
    ///     assert_eq!(vars[0].1, "engagelab");
    ///     assert_eq!(vars[1].1, sandbox.base_url());
    ///     Ok(())
    /// }
    /// ```
    pub fn env_vars(&self, provider: Provider) -> Vec<(String, String)> {
        let c = self.credentials();
        let mut vars = self.env_vars_common(provider);
        match provider {
            Provider::EngageLab => {
                vars.push(env_var(provider, "api_key", &c.engagelab_api_key));
                vars.push(env_var(provider, "api_secret", &c.engagelab_api_secret));
            }
            Provider::Feishu => vars.push(env_var(
                provider,
                "user_access_token",
                &c.feishu_user_access_token,
            )),
        }
        vars
    }

    /// [`Sandbox::env_vars`] for Feishu with a refreshing user token in place of the static one:
    /// `TICKET_PROVIDER`, `TICKET_FEISHU_BASE_URL`, `TICKET_FEISHU_HELPDESK_ID`,
    /// `TICKET_FEISHU_HELPDESK_TOKEN`, then `TICKET_FEISHU_APP_ID`, `TICKET_FEISHU_APP_SECRET`
    /// and `TICKET_FEISHU_REFRESH_TOKEN` (the configured refresh token, which is single use:
    /// after a refresh rotates it, only a client that stored the new one goes on).
    pub fn feishu_refreshing_env_vars(&self) -> Vec<(String, String)> {
        let c = self.credentials();
        let p = Provider::Feishu;
        let mut vars = self.env_vars_common(p);
        vars.push(env_var(p, "app_id", &c.feishu_app_id));
        vars.push(env_var(p, "app_secret", &c.feishu_app_secret));
        vars.push(env_var(p, "refresh_token", &c.feishu_refresh_token));
        vars
    }

    /// `TICKET_PROVIDER`, the base URL and, for Feishu, the helpdesk id and token.
    fn env_vars_common(&self, provider: Provider) -> Vec<(String, String)> {
        let c = self.credentials();
        let mut vars = vec![
            (PROVIDER_VAR.to_owned(), provider.to_string()),
            env_var(provider, "base_url", &self.base_url()),
        ];
        if provider == Provider::Feishu {
            vars.push(env_var(provider, "helpdesk_id", &c.feishu_helpdesk_id));
            vars.push(env_var(
                provider,
                "helpdesk_token",
                &c.feishu_helpdesk_token,
            ));
        }
        vars
    }

    /// Stores (or replaces) an EngageLab ticket; its `ticket_id` is set to `id` and an empty
    /// `updated_at` is set to now.
    pub fn seed_engagelab(&self, id: impl Into<String>, ticket: EngageLabTicket) {
        self.shared.seed_engagelab(id.into(), ticket);
    }

    /// Stores an EngageLab ticket with [`EngageLabTicket::default`] contents.
    pub fn seed_engagelab_default(&self, id: impl Into<String>) {
        self.seed_engagelab(id, EngageLabTicket::default());
    }

    /// Stores (or replaces) a Feishu ticket; its `ticket_id` is set to `id` and an `updated_at`
    /// of 0 is set to now.
    pub fn seed_feishu(&self, id: impl Into<String>, ticket: FeishuTicket) {
        self.shared.seed_feishu(id.into(), ticket);
    }

    /// Stores a Feishu ticket with [`FeishuTicket::default`] contents.
    pub fn seed_feishu_default(&self, id: impl Into<String>) {
        self.seed_feishu(id, FeishuTicket::default());
    }

    /// The stored EngageLab ticket, if any.
    pub fn engagelab_ticket(&self, id: &str) -> Option<EngageLabTicket> {
        self.shared.engagelab_ticket(id)
    }

    /// The stored Feishu ticket, if any.
    pub fn feishu_ticket(&self, id: &str) -> Option<FeishuTicket> {
        self.shared.feishu_ticket(id)
    }

    /// How many comments each Feishu ticket holds, for every ticket with at least one: an
    /// update applied twice shows as 2.
    pub fn comment_counts(&self) -> BTreeMap<String, usize> {
        self.shared.comment_counts()
    }

    /// The comments of the Feishu ticket `id`, oldest first, with their positions and times
    /// (empty when there is no such ticket). `GET` shows the last one.
    pub fn feishu_comments(&self, id: &str) -> Vec<FeishuComment> {
        self.shared
            .feishu_record(id)
            .map(|r| r.comments())
            .unwrap_or_default()
    }

    /// Defines (or replaces, by id) a ticket custom field of the Feishu helpdesk; see
    /// [`SandboxBuilder::feishu_field`].
    pub fn define_feishu_field(&self, def: FeishuFieldDef) {
        self.shared.define_feishu_field(def);
    }

    /// The Feishu helpdesk's ticket custom field definitions, in listing order.
    pub fn feishu_fields(&self) -> Vec<FeishuFieldDef> {
        self.shared.feishu_fields()
    }

    /// Removes every Feishu custom field definition (stored values stay, shown as stored).
    pub fn clear_feishu_fields(&self) {
        self.shared.clear_feishu_fields();
    }

    /// Sets what an EngageLab update without `priority` does.
    pub fn set_engagelab_omitted_priority(&self, mode: OmittedPriority) {
        self.shared.set_omitted_priority(mode);
    }

    /// What an EngageLab update without `priority` does.
    pub fn engagelab_omitted_priority(&self) -> OmittedPriority {
        self.shared.omitted_priority()
    }

    /// Sets which EngageLab `GET` paths answer.
    pub fn set_engagelab_get_paths(&self, paths: EngageLabGetPaths) {
        self.shared.set_engagelab_get_paths(paths);
    }

    /// Which EngageLab `GET` paths answer.
    pub fn engagelab_get_paths(&self) -> EngageLabGetPaths {
        self.shared.engagelab_get_paths()
    }

    /// How many comments the Feishu ticket `id` holds (0 when there is no such ticket).
    pub fn comment_count(&self, id: &str) -> usize {
        self.shared
            .feishu_ticket(id)
            .map_or(0, |t| t.comments.len())
    }

    /// Sets or clears (`None` or 0) the rate-limit mode of `provider` (see
    /// [`SandboxBuilder::rate_limit`]); the bucket starts full.
    pub fn set_rate_limit(&self, provider: Provider, per_second: Option<u32>) {
        self.shared.set_rate_limit(provider, per_second);
    }

    /// Sets how many Feishu ticket reads a second the rate-limit mode allows (0: unpaced); takes
    /// effect now if the Feishu mode is on (the read bucket starts full), else when it is
    /// turned on.
    pub fn set_feishu_get_rate_limit(&self, per_second: u32) {
        self.shared.set_feishu_get_rate_limit(per_second);
    }

    /// The pace in force for `engagelab`, `feishu` (updates) and `feishu_get` (reads), requests
    /// per second (`None` when off).
    pub fn rate_limits(&self) -> BTreeMap<String, Option<u32>> {
        self.shared.rate_limits()
    }

    /// The request log's size in bytes, as counted against its byte limit.
    pub fn request_log_bytes(&self) -> usize {
        self.shared.request_log_bytes()
    }

    /// Queues `fault` for the next `times` requests matching `scope`. Each scope has its own
    /// FIFO queue; a request takes from its ticket scope first, then from its provider scope.
    /// Faults are served before any other check (auth, validation), except
    /// [`Fault::SilentDrop`], which waits for an update it fits. `times == 0` does nothing.
    pub fn inject(&self, fault: Fault, scope: Scope, times: u32) {
        self.shared.inject(fault, scope, times);
    }

    /// The faults still queued, scope by scope in the order the scopes were first used.
    pub fn pending_faults(&self) -> Vec<PendingFault> {
        self.shared.pending_faults()
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        self.shared.reset_stats();
    }

    /// The recorded requests, oldest first (at most the configured capacity; admin requests
    /// are not recorded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// The newest Feishu access token (the configured one until a refresh).
    pub fn current_access_token(&self) -> String {
        self.shared.current_access_token()
    }

    /// The live Feishu refresh token (the configured one until a refresh rotates it).
    pub fn current_refresh_token(&self) -> String {
        self.shared.current_refresh_token()
    }

    /// The newest Feishu tenant access token (the configured one until the tenant token
    /// endpoint issues another).
    pub fn current_tenant_access_token(&self) -> String {
        self.shared.current_tenant_token()
    }

    /// Makes every Feishu access token issued so far, user and tenant, count as expired.
    pub fn expire_access_tokens(&self) {
        self.shared.expire_access_tokens();
    }

    /// Restores the state the sandbox started with: seeded tickets and field definitions, fresh
    /// tokens, no faults, zero counters, empty request log, the configured rate limits with full
    /// buckets, the configured modes.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Stops accepting, closes every connection and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// The `helpdesk` facade's `ENV_PREFIX` and `PROVIDER_VAR` (see [`Sandbox::env_vars`]).
const ENV_PREFIX: &str = "TICKET_";
const PROVIDER_VAR: &str = "TICKET_PROVIDER";

/// `(TICKET_<PROVIDER>_<KEY>, value)`, upper case: the facade's variable for `key`.
fn env_var(provider: Provider, key: &str, value: &str) -> (String, String) {
    (
        format!("{ENV_PREFIX}{provider}_{key}").to_ascii_uppercase(),
        value.to_owned(),
    )
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Dropping the sender wakes the accept loop, which then closes every connection.
        self.shutdown.take();
    }
}
