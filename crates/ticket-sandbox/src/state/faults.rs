//! The fault queues, one per scope.

use std::collections::{HashMap, VecDeque};

use super::Shared;
use crate::fault::{DropTarget, Fault, PendingFault, Scope};
use crate::ratelimit::Provider;

impl Shared {
    pub(crate) fn inject(&self, fault: Fault, scope: Scope, times: u32) {
        if times == 0 {
            return;
        }
        let mut inner = self.lock();
        if !inner.fault_order.contains(&scope) {
            inner.fault_order.push(scope.clone());
        }
        inner
            .faults
            .entry(scope)
            .or_default()
            .push_back((fault, times));
    }

    pub(crate) fn clear_faults(&self) {
        let mut inner = self.lock();
        inner.faults.clear();
        inner.fault_order.clear();
    }

    pub(crate) fn pending_faults(&self) -> Vec<PendingFault> {
        let inner = self.lock();
        let mut out = Vec::new();
        for scope in &inner.fault_order {
            if let Some(queue) = inner.faults.get(scope) {
                for (fault, remaining) in queue {
                    out.push(PendingFault {
                        fault: fault.clone(),
                        scope: scope.clone(),
                        remaining: *remaining,
                    });
                }
            }
        }
        out
    }

    /// Takes the next fault for a request: the ticket scope first, then the provider scope.
    /// Silent drops are not served to requests (see [`Shared::take_silent_drop`]); faults
    /// queued behind one are.
    pub(crate) fn take_fault(&self, provider: Scope, ticket_id: Option<&str>) -> Option<Fault> {
        self.take_first(provider, ticket_id, |f| !matches!(f, Fault::SilentDrop(_)))
    }

    /// Takes the first silent drop, ticket scope first, that is meant for `provider`'s updates
    /// and that `carried` says this update carries.
    pub(crate) fn take_silent_drop(
        &self,
        provider: Provider,
        ticket_id: &str,
        carried: impl Fn(&DropTarget) -> bool,
    ) -> Option<DropTarget> {
        let scope = match provider {
            Provider::EngageLab => Scope::EngageLab,
            Provider::Feishu => Scope::Feishu,
        };
        let fits =
            |f: &Fault| matches!(f, Fault::SilentDrop(t) if t.provider() == provider && carried(t));
        match self.take_first(scope, Some(ticket_id), fits) {
            Some(Fault::SilentDrop(target)) => Some(target),
            _ => None,
        }
    }

    fn take_first(
        &self,
        provider: Scope,
        ticket_id: Option<&str>,
        fits: impl Fn(&Fault) -> bool,
    ) -> Option<Fault> {
        let mut inner = self.lock();
        let ticket_scope = ticket_id.map(|id| Scope::Ticket(id.to_owned()));
        let taken = ticket_scope
            .into_iter()
            .chain(std::iter::once(provider))
            .find_map(|scope| pop_fault(&mut inner.faults, &scope, &fits));
        if taken.is_some() {
            inner.stats.faults_applied += 1;
        }
        taken
    }
}

/// Takes one use of the first queued fault in `scope` that `fits`, dropping it once used up.
fn pop_fault(
    faults: &mut HashMap<Scope, VecDeque<(Fault, u32)>>,
    scope: &Scope,
    fits: impl Fn(&Fault) -> bool,
) -> Option<Fault> {
    let queue = faults.get_mut(scope)?;
    let at = queue.iter().position(|(fault, _)| fits(fault))?;
    let (fault, remaining) = &mut queue[at];
    let fault = fault.clone();
    *remaining -= 1;
    if *remaining == 0 {
        queue.remove(at);
    }
    Some(fault)
}
