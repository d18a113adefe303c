//! The per-instance choices where the vendor documents are ambiguous.

use super::Shared;
use crate::model::{EngageLabGetPaths, OmittedPriority};

impl Shared {
    pub(crate) fn omitted_priority(&self) -> OmittedPriority {
        self.lock().omitted_priority
    }

    pub(crate) fn set_omitted_priority(&self, mode: OmittedPriority) {
        self.lock().omitted_priority = mode;
    }

    pub(crate) fn engagelab_get_paths(&self) -> EngageLabGetPaths {
        self.lock().engagelab_get_paths
    }

    pub(crate) fn set_engagelab_get_paths(&self, paths: EngageLabGetPaths) {
        self.lock().engagelab_get_paths = paths;
    }
}
