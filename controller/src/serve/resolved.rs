//! Snippet names already resolved to their evaluation request (entry file, import tree, library paths), so that a
//! cache miss for a known snippet skips the path checks and `canonicalize` calls of [`super::catalog`] and
//! [`jaas_render::plain_request`]. An entry holds for the file generation it was resolved in: any change under the
//! roots ([`super::reload`]) makes every entry stale. Only names that resolved are kept, and the map is cleared when
//! it is full, so hostile names cannot grow it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use jaas_render::RenderRequest;

/// How many names are kept before the map starts over.
const MAX_NAMES: usize = 4096;

/// Resolved requests by snippet name as sent.
#[derive(Debug, Default)]
pub struct ResolvedSnippets {
    by_name: Mutex<HashMap<String, (u64, Arc<RenderRequest>)>>,
}

impl ResolvedSnippets {
    /// The request `name` resolved to in `generation`, if it was resolved then.
    pub fn get(&self, name: &str, generation: u64) -> Option<Arc<RenderRequest>> {
        let by_name = self.by_name.lock().unwrap_or_else(PoisonError::into_inner);
        by_name.get(name).filter(|(resolved_in, _)| *resolved_in == generation).map(|(_, request)| request.clone())
    }

    /// Remembers that `name` resolved to `request` in `generation`.
    pub fn insert(&self, name: &str, generation: u64, request: Arc<RenderRequest>) {
        let mut by_name = self.by_name.lock().unwrap_or_else(PoisonError::into_inner);
        if by_name.len() >= MAX_NAMES && !by_name.contains_key(name) {
            by_name.clear();
        }
        by_name.insert(name.to_owned(), (generation, request));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_holds_for_its_generation_only_and_the_map_stays_bounded() {
        let resolved = ResolvedSnippets::default();
        let request = Arc::new(RenderRequest { entry_file: "main.jsonnet".to_owned(), ..RenderRequest::default() });
        resolved.insert("web", 1, request);
        assert!(resolved.get("web", 1).is_some_and(|request| request.entry_file == "main.jsonnet"));
        assert!(resolved.get("web", 2).is_none(), "files changed since");
        assert!(resolved.get("api", 1).is_none());
        for n in 0..=MAX_NAMES {
            resolved.insert(&format!("name-{n}"), 1, Arc::new(RenderRequest::default()));
        }
        let kept = resolved.by_name.lock().unwrap_or_else(PoisonError::into_inner).len();
        assert!(kept <= MAX_NAMES, "{kept}");
    }
}
