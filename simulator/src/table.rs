//! An insertion-ordered table of objects with Stripe's list pagination.
//!
//! Stripe lists are newest first and paginate by object id (`starting_after`, `ending_before`),
//! so each table keeps its objects in creation order (a vector) beside an index from id to
//! position. A page walks from its cursor and stops once it has `limit + 1` matches, so listing
//! the newest events costs the same with a million stored as with ten.

use std::collections::HashMap;

use crate::error::{ApiError, ApiResult};

/// Anything stored in a table knows its id.
pub trait Identified {
    fn id(&self) -> &str;
}

#[derive(Debug, Clone)]
pub struct Table<T> {
    /// Creation order; a removed object leaves `None`, so positions never move.
    slots: Vec<Option<T>>,
    by_id: HashMap<Box<str>, usize>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            slots: Vec::new(),
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
    /// Adds `item`, or replaces the object with its id in place.
    pub fn insert(&mut self, item: T) {
        if let Some(&position) = self.by_id.get(item.id()) {
            self.slots[position] = Some(item);
            return;
        }
        self.by_id.insert(item.id().into(), self.slots.len());
        self.slots.push(Some(item));
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.slots[*self.by_id.get(id)?].as_ref()
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        self.slots[*self.by_id.get(id)?].as_mut()
    }

    pub fn remove(&mut self, id: &str) -> Option<T> {
        let position = self.by_id.remove(id)?;
        self.slots[position].take()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.slots.iter().filter_map(Option::as_ref)
    }

    /// One page of the objects matching `keep`, newest first, and whether more exist beyond it
    /// in the direction of travel.
    pub fn page<'a>(
        &'a self,
        request: &PageRequest,
        object_name: &str,
        keep: impl Fn(&T) -> bool,
    ) -> ApiResult<(Vec<&'a T>, bool)> {
        let position = |cursor: &str, param: &str| -> ApiResult<usize> {
            self.by_id
                .get(cursor)
                .copied()
                .ok_or_else(|| ApiError::no_such(object_name, cursor, param))
        };
        let matching = |range: &'a [Option<T>]| {
            range
                .iter()
                .filter_map(Option::as_ref)
                .filter(move |item| keep(item))
        };
        if let Some(before) = &request.ending_before {
            // Newer than the cursor: the `limit` closest to it, shown newest first.
            let start = position(before, "ending_before")? + 1;
            let mut page: Vec<&T> = matching(&self.slots[start..])
                .take(request.limit + 1)
                .collect();
            let more = page.len() > request.limit;
            page.truncate(request.limit);
            page.reverse();
            return Ok((page, more));
        }
        // Older than the cursor (an object that exists but does not match the filter still
        // marks a place in time), or from the newest.
        let end = match &request.starting_after {
            Some(after) => position(after, "starting_after")?,
            None => self.slots.len(),
        };
        let mut page: Vec<&T> = matching(&self.slots[..end])
            .rev()
            .take(request.limit + 1)
            .collect();
        let more = page.len() > request.limit;
        page.truncate(request.limit);
        Ok((page, more))
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
