//! The fault queues, one per scope.

use std::collections::{HashMap, VecDeque};

use super::Shared;
use crate::fault::{Fault, PendingFault, Scope};

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
    pub(crate) fn take_fault(&self, provider: Scope, ticket_id: Option<&str>) -> Option<Fault> {
        let mut inner = self.lock();
        let ticket_scope = ticket_id.map(|id| Scope::Ticket(id.to_owned()));
        let fault = ticket_scope
            .into_iter()
            .chain(std::iter::once(provider))
            .find_map(|scope| pop_fault(&mut inner.faults, &scope));
        if fault.is_some() {
            inner.stats.faults_applied += 1;
        }
        fault
    }
}

fn pop_fault(faults: &mut HashMap<Scope, VecDeque<(Fault, u32)>>, scope: &Scope) -> Option<Fault> {
    let queue = faults.get_mut(scope)?;
    let (fault, remaining) = queue.front_mut()?;
    let fault = fault.clone();
    *remaining -= 1;
    if *remaining == 0 {
        queue.pop_front();
    }
    Some(fault)
}
