//! [`Transport::execute`]: a request sent and decoded, retried as the transport's
//! [`RetryPolicy`] says (with `backon`), its [`AttemptHook`](crate::AttemptHook) called around
//! each attempt, each attempt traced and measured ([`telemetry`](crate::telemetry)). The hook's
//! state is in `hooked.rs`.
//!
//! The first attempt runs without the retry machinery (most succeed); `backon`'s loop, boxed,
//! starts after a retryable failure and is handed it as its first outcome, so that its backoff
//! and decisions are the ones a loop from the start would make. An update's whole future is
//! kept small (`tests/update_future.rs` in the workspace): no attempt future holds the request.

mod hooked;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use backon::Retryable;
use ticket_core::{ErrorKind, Sent, TicketError};
use tokio::time::Instant;
use tracing::Instrument;

use self::hooked::Hooked;
use crate::telemetry::{self, AttemptTrace};
use crate::transport::Pending;
use crate::{PreparedRequest, RawResponse, RetryPolicy, Transport};

/// A decoded answer, with what the caller reports in its receipt.
#[derive(Debug)]
#[non_exhaustive]
pub struct Executed<T> {
    /// What the decoder made of the successful answer.
    pub value: T,
    /// The request id of the successful answer.
    pub request_id: Option<String>,
    /// How many attempts were made (1 without retries).
    pub attempts: u32,
}

impl Transport {
    /// Sends `request` and decodes each answer with `decode`, retrying per the transport's
    /// [`RetryPolicy`] and calling its [`AttemptHook`](crate::AttemptHook), if any, around each
    /// attempt. Decoding is part of each attempt, so that errors a provider reports inside a
    /// body (Feishu's 99991400 with HTTP 400 or 200) are retried like HTTP ones. `operation`
    /// names what the request does for the hook, the spans and the metrics (`"update"`,
    /// `"get"`; see [`Attempt::operation`](crate::Attempt::operation)).
    ///
    /// `request` is sent as it is, without a copy (reqwest consumes what it sends); a retry
    /// sends what `rebuild` returns, which must be the same request (a provider's `prepare`
    /// again). A `rebuild` error ends the execution with that error.
    ///
    /// Each attempt runs in a DEBUG span `ticket_http.send` (its `http.request.resend_count`
    /// from the second on), a hook's wait in a DEBUG span `ticket.wait`, and each retry is
    /// announced by an INFO event `retrying`: see [`telemetry`](crate::telemetry).
    pub async fn execute<T, D, R>(
        &self,
        operation: &'static str,
        request: PreparedRequest,
        rebuild: R,
        decode: D,
    ) -> Result<Executed<T>, TicketError>
    where
        R: Fn() -> Result<PreparedRequest, TicketError>,
        D: Fn(&RawResponse) -> Result<T, TicketError>,
    {
        let attempts = AtomicU32::new(0);
        let (value, request_id) = self
            .execute_counting(operation, request, rebuild, decode, &attempts)
            .await?;
        Ok(Executed {
            value,
            request_id,
            attempts: attempts.load(Ordering::Relaxed),
        })
    }

    /// [`execute`](Self::execute), adding each attempt to `attempts` (so that a caller that
    /// runs several executions, such as a retry after a token refresh, can report the total;
    /// the hook's [`Attempt::number`](crate::Attempt::number) and the spans'
    /// `http.request.resend_count` go on counting too). Returns the decoded value and the
    /// request id.
    ///
    /// (Not an `async fn`: the execution takes the request before the future is made, so that
    /// the future does not hold a second copy of it. The retry budget counts from this call;
    /// await the future at once, as `execute` does.)
    pub fn execute_counting<'a, T, D, R>(
        &'a self,
        operation: &'static str,
        request: PreparedRequest,
        rebuild: R,
        decode: D,
        attempts: &'a AtomicU32,
    ) -> impl Future<Output = Result<(T, Option<String>), TicketError>> + 'a
    where
        R: Fn() -> Result<PreparedRequest, TicketError> + 'a,
        D: Fn(&RawResponse) -> Result<T, TicketError> + 'a,
        T: 'a,
    {
        // Boxed: an update's future, itself boxed by `async_trait`, then stays within the
        // sizes the allocator serves from its per-thread cache.
        let execution = Box::new(Execution::new(
            self, operation, request, rebuild, decode, attempts,
        ));
        async move {
            // The first attempt pays for no retry machinery: most updates succeed at once.
            let err = match execution.attempt().await {
                Ok(done) => return Ok(done),
                Err(err) => err,
            };
            if !execution.retryable(&err) {
                return Err(err);
            }
            // Boxed, so that the retry loop's state (backoff, sleep, another attempt) is
            // carried by the executions that retry, not by every update's future.
            Box::pin(execution.retry(err)).await
        }
    }

    /// For a request that must not be repeated (`guard`): a server's answer that would be
    /// retried but may have followed the request's application (a 5xx, a garbled 5xx) becomes
    /// a [`TicketError::Transport`] with [`Sent::Maybe`], the original as its source.
    fn guard(&self, guard: bool, err: TicketError) -> TicketError {
        // Transport failures and timeouts say `sent` themselves: they are returned as they are
        // (and not retried unless `Sent::No`).
        if !guard || !err.may_have_applied() {
            return err;
        }
        match err {
            TicketError::Transport {
                provider,
                sent,
                message,
                source,
                ..
            } => TicketError::Transport {
                provider,
                sent,
                message,
                source,
                idempotent: false,
            },
            TicketError::Timeout {
                provider,
                after,
                sent,
                ..
            } => TicketError::Timeout {
                provider,
                after,
                sent,
                idempotent: false,
            },
            // A garbled 2xx is not retried anyway; anything else that may have applied is
            // reported as a transport failure that may have been sent and must not be repeated.
            err if !err.is_retryable() => err,
            err => TicketError::Transport {
                provider: self.provider().to_owned(),
                sent: Sent::Maybe,
                message: format!(
                    "not retried: the update is not idempotent (it adds a comment or the like, which a retry could apply twice) and may or may not have been applied; the failure was: {err}"
                ),
                source: Some(std::sync::Arc::new(err)),
                idempotent: false,
            },
        }
    }
}

/// One execution: what its attempts share, and the retry strategy's decisions.
struct Execution<'a, R, D> {
    transport: &'a Transport,
    operation: &'static str,
    policy: RetryPolicy,
    rebuild: R,
    decode: D,
    /// The attempts of the whole update (a second execution after a token refresh adds up).
    attempts: &'a AtomicU32,
    /// Boxed, and only with a hook: without one, an update's future grows by a pointer.
    hooked: Option<Box<Hooked<'a>>>,
    /// A request that must not be repeated is retried only when it certainly did not apply.
    guard: bool,
    /// The first attempt sends the request given itself; only a retry builds another. (Kept
    /// here rather than passed down: every future an attempt awaits would hold a copy.)
    first: Mutex<Option<PreparedRequest>>,
    /// Set by what ends the execution at once, never retried: a hook's error, a rebuild's.
    stop: AtomicBool,
    started: Instant,
}

impl<'a, T, R, D> Execution<'a, R, D>
where
    R: Fn() -> Result<PreparedRequest, TicketError>,
    D: Fn(&RawResponse) -> Result<T, TicketError>,
{
    fn new(
        transport: &'a Transport,
        operation: &'static str,
        request: PreparedRequest,
        rebuild: R,
        decode: D,
        attempts: &'a AtomicU32,
    ) -> Self {
        let policy = transport.options().retry;
        let hooked = transport
            .options()
            .attempt_hook
            .as_deref()
            .map(|hook| Box::new(Hooked::new(hook, operation, &request)));
        Self {
            transport,
            operation,
            policy,
            rebuild,
            decode,
            attempts,
            hooked,
            guard: !request.is_idempotent() && !policy.retry_non_idempotent,
            first: Mutex::new(Some(request)),
            stop: AtomicBool::new(false),
            started: Instant::now(),
        }
    }

    /// The attempts after a first that failed with `first` (retryable): `backon`'s loop, which
    /// is handed `first` as its first outcome (so that its backoff and decisions start where
    /// they would have) and makes every later attempt with a rebuilt request.
    async fn retry(&self, first: TicketError) -> Result<(T, Option<String>), TicketError> {
        // Retries that `max_retries` bounds: all but those after a rate limit that stated its
        // wait, which the budget alone bounds (see `RetryPolicy`).
        let mut counted = 0u32;
        let mut replay = Some(first);
        let provider = self.transport.provider();
        (|| {
            let replayed = replay.take();
            async move {
                match replayed {
                    Some(err) => Err(err),
                    None => self.attempt().await,
                }
            }
        })
        .retry(self.policy.backoff())
        .sleep(tokio::time::sleep)
        .when(|err: &TicketError| self.retryable(err))
        .adjust(|err, backoff| self.next_wait(&mut counted, err, backoff))
        .notify(|err, wait| telemetry::retrying(provider, self.operation, err, wait))
        .await
    }

    /// One attempt: the hook's wait, the request (the first, or a rebuilt one), sending and
    /// decoding it, and the hook's word on a failure.
    async fn attempt(&self) -> Result<(T, Option<String>), TicketError> {
        // This execution's attempts are one after another: the count is this attempt's.
        let number = self.attempts.load(Ordering::Relaxed) + 1;
        self.before_attempt(number).await?;
        let err = match self.send(number).await {
            Ok(done) => return Ok(done),
            Err(err) => self.transport.guard(self.guard, err),
        };
        if let Some(hooked) = &self.hooked {
            hooked
                .after_failure(self.transport.provider(), number, &err)
                .await
                .inspect_err(|_| self.stop.store(true, Ordering::Relaxed))?;
        }
        Err(err)
    }

    /// Sends attempt `number` in its span and decodes the answer: the decoded value and the
    /// request id, or the attempt's error, scrubbed.
    async fn send(&self, number: u32) -> Result<(T, Option<String>), TicketError> {
        // Started before anything is awaited, so that this future holds reqwest's handle and
        // not the request.
        let (trace, pending) = match self.start(number)? {
            (trace, Ok(pending)) => (trace, pending),
            (trace, Err(err)) => {
                trace.finish(None, Some(&err));
                return Err(err);
            }
        };
        let transport = self.transport;
        let (status, result) = match transport.send_traced(pending, &trace).await {
            // Whatever the decoder made of the answer passes through the transport's secrets
            // before it is retried, logged or returned.
            Ok(response) => (
                Some(response.status),
                (self.decode)(&response)
                    .map(|value| (value, response.request_id))
                    .map_err(|e| transport.secrets().scrub_error(e)),
            ),
            Err(err) => (None, Err(err)),
        };
        trace.finish(status, result.as_ref().err());
        result
    }

    /// The hook's say before attempt `number`, in a `ticket.wait` span: it may wait; its
    /// error ends the execution.
    async fn before_attempt(&self, number: u32) -> Result<(), TicketError> {
        let Some(hooked) = &self.hooked else {
            return Ok(());
        };
        let provider = self.transport.provider();
        let info = hooked.attempt(provider, number);
        // Nothing to wait for (a budget with room): no future, no clock, no span.
        if hooked.hook.ready_now(&info) {
            return Ok(());
        }
        let waiting = Instant::now();
        let waited = hooked.hook.before_attempt(&info);
        if let Err(err) = waited.instrument(telemetry::wait_span(number)).await {
            self.stop.store(true, Ordering::Relaxed);
            return Err(hooked.failed(provider, err));
        }
        if number == 1 {
            hooked.queued(waiting.elapsed());
        }
        Ok(())
    }

    /// Starts attempt `number`: its request (see [`next_request`](Self::next_request)),
    /// counted, its span, and reqwest's future of it (or the error that refused it).
    #[allow(clippy::type_complexity)]
    fn start(
        &self,
        number: u32,
    ) -> Result<
        (
            AttemptTrace,
            Result<impl Pending + use<R, D, T>, TicketError>,
        ),
        TicketError,
    > {
        let request = self.next_request()?;
        self.attempts.fetch_add(1, Ordering::Relaxed);
        let trace = AttemptTrace::start(
            self.transport.provider_shared(),
            self.transport.secrets(),
            &request,
            self.operation,
            number - 1,
        );
        let started = self.transport.start(request);
        Ok((trace, started))
    }

    /// The request to send: the one given, the first time; else a rebuilt one (whose error
    /// ends the execution).
    fn next_request(&self) -> Result<PreparedRequest, TicketError> {
        let ready = self
            .first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match ready {
            Some(request) => Ok(request),
            None => (self.rebuild)().inspect_err(|_| self.stop.store(true, Ordering::Relaxed)),
        }
    }

    /// Whether to retry after `err` (the strategy's `when`). A request that must not be
    /// repeated is retried only when it certainly did not apply (`guard` already made the
    /// other errors non-retryable). A hook's or a rebuild's error is never retried.
    fn retryable(&self, err: &TicketError) -> bool {
        !self.stop.load(Ordering::Relaxed)
            && self.policy.max_retries > 0
            && err.is_retryable()
            && (!self.guard || !err.may_have_applied())
    }

    /// The wait before retrying after `err` (the strategy's `adjust`), or `None` to give up:
    /// the server's wait, else `backoff`; out of retries (`counted` of them) or past the
    /// budget, none.
    fn next_wait(
        &self,
        counted: &mut u32,
        err: &TicketError,
        backoff: Option<Duration>,
    ) -> Option<Duration> {
        let server_said_when =
            err.kind() == ErrorKind::RateLimited && err.retry_after().is_some_and(|w| !w.is_zero());
        if !server_said_when {
            // Out of retries: give up.
            if *counted >= self.policy.max_retries {
                return None;
            }
            *counted += 1;
        }
        let wait = match err.retry_after() {
            Some(server_wait) if !server_wait.is_zero() => server_wait,
            _ => backoff?,
        };
        // A wait that would end past the budget: give up now, with the error as is.
        // Checked: a server's wait is clamped, but an overflow must never panic.
        let queued = self
            .hooked
            .as_ref()
            .map_or(Duration::ZERO, |h| h.queued_time());
        let ends = self
            .started
            .elapsed()
            .saturating_sub(queued)
            .checked_add(wait)?;
        (ends <= self.policy.budget).then_some(wait)
    }
}
