//! An insertion-ordered table of objects with Stripe's list pagination.
//!
//! Stripe lists are newest first and paginate by object id (`starting_after`, `ending_before`),
//! so each table keeps its objects in creation order (a ring of slots) beside an index from id
//! to position. A page walks from its cursor and stops once it has `limit + 1` matches, so listing
//! the newest events costs the same with a million stored as with ten.
//!
//! Positions are logical and never move: evicting the oldest object (retention) pops the front
//! of the ring and moves `base` on, so the index stays valid and memory is given back.
//!
//! With persistence on, a table also remembers which positions it changed and which ids it
//! dropped since the state file was last told ([`Table::take_changes`]). Every mutation goes
//! through `insert`, `get_mut`, `at_mut`, `remove` or `evict_oldest`, so nothing can change
//! without being seen; with persistence off the bookkeeping is one branch on `None`.

use std::collections::{HashMap, VecDeque};

use crate::error::{ApiError, ApiResult};

/// Anything stored in a table knows its id.
pub trait Identified {
    fn id(&self) -> &str;
}

#[derive(Debug, Clone)]
pub struct Table<T> {
    /// Creation order; a removed object leaves `None`, so positions never move.
    slots: VecDeque<Option<T>>,
    /// The logical position of `slots[0]`: how many slots were evicted from the front.
    base: usize,
    by_id: HashMap<Box<str>, usize>,
    /// What changed since the last [`Table::take_changes`]; `None` when nobody asks.
    changes: Option<Changes>,
}

/// What changed in a table: positions written (inserted or possibly modified) and ids dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub touched: Vec<usize>,
    pub removed: Vec<Box<str>>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.touched.is_empty() && self.removed.is_empty()
    }
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            slots: VecDeque::new(),
            base: 0,
            by_id: HashMap::new(),
            changes: None,
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
    fn touch(&mut self, position: usize) {
        if let Some(changes) = &mut self.changes {
            changes.touched.push(position);
        }
    }

    fn dropped(&mut self, id: &str) {
        if let Some(changes) = &mut self.changes {
            changes.removed.push(id.into());
        }
    }

    /// Adds `item`, or replaces the object with its id in place.
    pub fn insert(&mut self, item: T) {
        if let Some(&position) = self.by_id.get(item.id()) {
            self.slots[position - self.base] = Some(item);
            self.touch(position);
            return;
        }
        let position = self.end();
        self.by_id.insert(item.id().into(), position);
        self.slots.push_back(Some(item));
        self.touch(position);
    }

    /// The object with this id, or Stripe's 404 "No such `object`: 'id'" naming `param`.
    pub fn find(&self, id: &str, object: &str, param: &str) -> ApiResult<&T> {
        self.get(id)
            .ok_or_else(|| ApiError::no_such(object, id, param))
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.at(*self.by_id.get(id)?)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut T> {
        let position = *self.by_id.get(id)?;
        self.at_mut(position)
    }

    pub fn remove(&mut self, id: &str) -> Option<T> {
        let position = self.by_id.remove(id)?;
        self.dropped(id);
        self.slots.get_mut(position - self.base)?.take()
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

    /// The logical position of an object: positions only grow, and survive evictions.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The object at a logical position, if it is still there.
    pub fn at(&self, position: usize) -> Option<&T> {
        self.slots.get(position.checked_sub(self.base)?)?.as_ref()
    }

    pub fn at_mut(&mut self, position: usize) -> Option<&mut T> {
        let slot = position.checked_sub(self.base)?;
        if self.slots.get(slot)?.is_some() {
            self.touch(position);
        }
        self.slots.get_mut(slot)?.as_mut()
    }

    /// The position of the oldest slot still held.
    pub fn start(&self) -> usize {
        self.base
    }

    /// The position the next new object gets.
    pub fn end(&self) -> usize {
        self.base + self.slots.len()
    }

    /// Objects from logical position `from` on, oldest first, with their positions.
    pub fn iter_from(&self, from: usize) -> impl DoubleEndedIterator<Item = (usize, &T)> {
        let skip = from.saturating_sub(self.base).min(self.slots.len());
        let base = self.base;
        self.slots
            .range(skip..)
            .enumerate()
            .filter_map(move |(i, slot)| Some((base + skip + i, slot.as_ref()?)))
    }

    /// The oldest object still held.
    pub fn oldest(&self) -> Option<&T> {
        self.iter().next()
    }

    /// Drops the oldest object (and any removed slots before it), giving its memory back.
    pub fn evict_oldest(&mut self) -> Option<T> {
        loop {
            let slot = self.slots.pop_front()?;
            self.base += 1;
            if let Some(item) = slot {
                self.by_id.remove(item.id());
                self.dropped(item.id());
                if self.slots.is_empty() {
                    // Give the ring's memory back once a burst has drained away.
                    self.slots.shrink_to_fit();
                }
                return Some(item);
            }
        }
    }

    /// Starts remembering changes for [`Table::take_changes`]. With `everything`, what is stored
    /// already counts as changed, so a store filled before tracking started is written whole.
    pub fn track_changes(&mut self, everything: bool) {
        let touched = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| everything && slot.is_some())
            .map(|(i, _)| self.base + i)
            .collect();
        self.changes = Some(Changes {
            touched,
            removed: Vec::new(),
        });
    }

    /// What changed since the last call (positions deduplicated, oldest first), if anything.
    pub fn take_changes(&mut self) -> Option<Changes> {
        let changes = self.changes.as_mut()?;
        if changes.is_empty() {
            return None;
        }
        let mut taken = std::mem::take(changes);
        taken.touched.sort_unstable();
        taken.touched.dedup();
        Some(taken)
    }

    /// A table of `rows` read back from a state file: each at the position it had, so lists keep
    /// their order and later writes keep their places.
    pub fn restore(mut rows: Vec<(usize, T)>) -> Table<T> {
        rows.sort_unstable_by_key(|(position, _)| *position);
        let base = rows.first().map(|(p, _)| *p).unwrap_or(0);
        let mut table = Table {
            base,
            ..Table::default()
        };
        for (position, item) in rows {
            while table.end() < position {
                table.slots.push_back(None);
            }
            if table.end() > position {
                continue; // a duplicate position cannot happen; keep the first
            }
            table.by_id.insert(item.id().into(), position);
            table.slots.push_back(Some(item));
        }
        table
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
                .map(|p| p - self.base)
                .ok_or_else(|| ApiError::no_such(object_name, cursor, param))
        };
        if let Some(before) = &request.ending_before {
            // Newer than the cursor: the `limit` closest to it, shown newest first.
            let start = position(before, "ending_before")? + 1;
            let (mut page, more) = first_page(self.slots.range(start..), &keep, request.limit);
            page.reverse();
            return Ok((page, more));
        }
        // Older than the cursor (an object that exists but does not match the filter still
        // marks a place in time), or from the newest.
        let end = match &request.starting_after {
            Some(after) => position(after, "starting_after")?,
            None => self.slots.len(),
        };
        Ok(first_page(
            self.slots.range(..end).rev(),
            &keep,
            request.limit,
        ))
    }
}

/// The first `limit` live objects that `keep` accepts, in the order given, and whether more
/// follow (one more is read to know).
fn first_page<'a, T: 'a>(
    slots: impl Iterator<Item = &'a Option<T>>,
    keep: &impl Fn(&T) -> bool,
    limit: usize,
) -> (Vec<&'a T>, bool) {
    let mut page: Vec<&T> = slots
        .filter_map(Option::as_ref)
        .filter(|item| keep(item))
        .take(limit + 1)
        .collect();
    let more = page.len() > limit;
    page.truncate(limit);
    (page, more)
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

    #[test]
    fn evicting_the_oldest_keeps_positions_and_cursors_valid() {
        let mut t = table(4);
        assert_eq!(t.evict_oldest().map(|o| o.0), Some("obj_0".to_string()));
        assert_eq!(t.len(), 3);
        assert!(t.get("obj_0").is_none());
        assert_eq!(t.position("obj_3"), Some(3));
        t.insert(Obj("obj_4".into()));
        assert_eq!(t.position("obj_4"), Some(4));
        let (page, more) = t
            .page(&req(2, Some("obj_3"), None), "obj", |_| true)
            .unwrap();
        assert_eq!(ids(&page), ["obj_2", "obj_1"]);
        assert!(!more);
    }

    #[test]
    fn changes_name_the_positions_written_and_the_ids_dropped() {
        let mut t = table(2);
        assert_eq!(t.take_changes(), None, "nothing is tracked until asked");
        t.track_changes(false);
        t.insert(Obj("obj_2".into()));
        t.get_mut("obj_0");
        t.get_mut("obj_0");
        t.remove("obj_1");
        let changes = t.take_changes().unwrap();
        assert_eq!(changes.touched, vec![0, 2]);
        assert_eq!(changes.removed, vec![Box::from("obj_1")]);
        assert_eq!(t.take_changes(), None);
    }

    #[test]
    fn a_restored_table_keeps_its_order_and_places() {
        let t = Table::restore(vec![(7, Obj("b".into())), (5, Obj("a".into()))]);
        assert_eq!(t.position("a"), Some(5));
        assert_eq!(t.position("b"), Some(7));
        assert_eq!(t.end(), 8);
        let (page, _) = t.page(&req(10, None, None), "obj", |_| true).unwrap();
        assert_eq!(ids(&page), ["b", "a"]);
    }
}
