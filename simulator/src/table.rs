//! An insertion-ordered table of objects with Stripe's list pagination.
//!
//! Stripe lists are newest first and paginate by object id (`starting_after`, `ending_before`),
//! so each table keeps its objects in creation order beside an index by id.

use std::collections::HashMap;

use crate::error::{ApiError, ApiResult};

/// Anything stored in a table knows its id.
pub trait Identified {
    fn id(&self) -> &str;
}

#[derive(Debug, Clone)]
pub struct Table<T> {
    order: Vec<String>,
    by_id: HashMap<String, T>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            order: Vec::new(),
            by_id: HashMap::new(),
        }
    }
}

/// Which page of a list to return.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

impl<T: Identified> Table<T> {
    pub fn insert(&mut self, item: T) {
        let id = item.id().to_string();
        if self.by_id.insert(id.clone(), item).is_none() {
            self.order.push(id);
        }
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.by_id.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        self.by_id.get_mut(id)
    }

    pub fn remove(&mut self, id: &str) -> Option<T> {
        let item = self.by_id.remove(id)?;
        self.order.retain(|i| i != id);
        Some(item)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.order.iter().filter_map(|id| self.by_id.get(id))
    }

    /// One page of the objects matching `keep`, newest first, and whether more exist beyond it
    /// in the direction of travel.
    pub fn page<'a>(
        &'a self,
        request: &PageRequest,
        object_name: &str,
        keep: impl Fn(&T) -> bool,
    ) -> ApiResult<(Vec<&'a T>, bool)> {
        let newest_first: Vec<&T> = self.iter().rev().filter(|item| keep(item)).collect();
        let position = |cursor: &str, param: &str| -> ApiResult<Option<usize>> {
            if !self.by_id.contains_key(cursor) {
                return Err(ApiError::no_such(object_name, cursor, param));
            }
            Ok(newest_first.iter().position(|item| item.id() == cursor))
        };
        if let Some(after) = &request.starting_after {
            let start = match position(after, "starting_after")? {
                Some(i) => i + 1,
                // The cursor exists but does not match the filter: continue after it by age.
                None => self.older_than(after, &newest_first),
            };
            let rest = &newest_first[start.min(newest_first.len())..];
            let page: Vec<&T> = rest.iter().take(request.limit).copied().collect();
            return Ok((page, rest.len() > request.limit));
        }
        if let Some(before) = &request.ending_before {
            let end = match position(before, "ending_before")? {
                Some(i) => i,
                None => self.older_than(before, &newest_first),
            };
            let head = &newest_first[..end.min(newest_first.len())];
            let start = head.len().saturating_sub(request.limit);
            return Ok((head[start..].to_vec(), start > 0));
        }
        let page: Vec<&T> = newest_first.iter().take(request.limit).copied().collect();
        Ok((page, newest_first.len() > request.limit))
    }

    /// Index in `newest_first` of the first object created before `cursor`.
    fn older_than(&self, cursor: &str, newest_first: &[&T]) -> usize {
        let rank = |id: &str| self.order.iter().position(|i| i == id);
        let cursor_rank = rank(cursor);
        newest_first
            .iter()
            .position(|item| rank(item.id()) < cursor_rank)
            .unwrap_or(newest_first.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Obj(String);
    impl Identified for Obj {
        fn id(&self) -> &str {
            &self.0
        }
    }

    fn table(n: usize) -> Table<Obj> {
        let mut t = Table::default();
        for i in 0..n {
            t.insert(Obj(format!("obj_{i}")));
        }
        t
    }

    fn ids(page: &[&Obj]) -> Vec<String> {
        page.iter().map(|o| o.0.clone()).collect()
    }

    fn req(limit: usize, after: Option<&str>, before: Option<&str>) -> PageRequest {
        PageRequest {
            limit,
            starting_after: after.map(str::to_string),
            ending_before: before.map(str::to_string),
        }
    }

    #[test]
    fn lists_are_newest_first_and_say_when_more_exist() {
        let t = table(5);
        let (page, more) = t.page(&req(2, None, None), "obj", |_| true).unwrap();
        assert_eq!(ids(&page), ["obj_4", "obj_3"]);
        assert!(more);
    }

    #[test]
    fn starting_after_walks_to_older_objects() {
        let t = table(5);
        let (page, more) = t
            .page(&req(2, Some("obj_3"), None), "obj", |_| true)
            .unwrap();
        assert_eq!(ids(&page), ["obj_2", "obj_1"]);
        assert!(more);
        let (page, more) = t
            .page(&req(2, Some("obj_1"), None), "obj", |_| true)
            .unwrap();
        assert_eq!(ids(&page), ["obj_0"]);
        assert!(!more);
    }

    #[test]
    fn ending_before_walks_to_newer_objects() {
        let t = table(5);
        let (page, more) = t
            .page(&req(2, None, Some("obj_1")), "obj", |_| true)
            .unwrap();
        assert_eq!(ids(&page), ["obj_3", "obj_2"]);
        assert!(more);
        let (page, more) = t
            .page(&req(10, None, Some("obj_1")), "obj", |_| true)
            .unwrap();
        assert_eq!(ids(&page), ["obj_4", "obj_3", "obj_2"]);
        assert!(!more);
    }

    #[test]
    fn filters_apply_before_paging() {
        let t = table(6);
        let even = |o: &Obj| o.0.ends_with(['0', '2', '4']);
        let (page, more) = t.page(&req(2, None, None), "obj", even).unwrap();
        assert_eq!(ids(&page), ["obj_4", "obj_2"]);
        assert!(more);
        let (page, _) = t.page(&req(2, Some("obj_3"), None), "obj", even).unwrap();
        assert_eq!(ids(&page), ["obj_2", "obj_0"]);
    }

    #[test]
    fn an_unknown_cursor_is_a_missing_resource() {
        let t = table(2);
        let err = t
            .page(&req(2, Some("obj_9"), None), "obj", |_| true)
            .unwrap_err();
        assert_eq!(err.status, 404);
        assert_eq!(err.param.as_deref(), Some("starting_after"));
    }
}
