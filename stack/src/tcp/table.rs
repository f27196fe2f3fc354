//! The TCP sockets, addressed by `SocketId` (slot + generation: a stale id answers EBADF).
//! TCP's indices start at `INDEX_BASE` so a TCP id can never equal a UDP id: `Stack` can tell
//! the layers apart by the id alone (`is_tcp_id`).

use crate::errno::Errno;
use crate::socket::SocketId;

pub const INDEX_BASE: u32 = 0x8000_0000;

/// Whether `id` was issued by a TCP socket table.
pub fn is_tcp_id(id: SocketId) -> bool {
    id.index >= INDEX_BASE
}

pub struct SocketTable<T> {
    slots: Vec<(u32, Option<T>)>,
    free: Vec<usize>,
}

impl<T> Default for SocketTable<T> {
    fn default() -> Self {
        SocketTable {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> SocketTable<T> {
    pub fn insert(&mut self, value: T) -> SocketId {
        let slot = match self.free.pop() {
            Some(slot) => {
                let entry = &mut self.slots[slot];
                entry.0 = entry.0.wrapping_add(1);
                entry.1 = Some(value);
                slot
            }
            None => {
                self.slots.push((0, Some(value)));
                self.slots.len() - 1
            }
        };
        SocketId {
            index: INDEX_BASE + slot as u32,
            generation: self.slots[slot].0,
        }
    }

    fn slot(id: SocketId) -> Option<usize> {
        id.index.checked_sub(INDEX_BASE).map(|slot| slot as usize)
    }

    pub fn get(&self, id: SocketId) -> Result<&T, Errno> {
        match Self::slot(id).and_then(|slot| self.slots.get(slot)) {
            Some((generation, Some(value))) if *generation == id.generation => Ok(value),
            _ => Err(Errno::EBADF),
        }
    }

    pub fn get_mut(&mut self, id: SocketId) -> Result<&mut T, Errno> {
        match Self::slot(id).and_then(|slot| self.slots.get_mut(slot)) {
            Some((generation, Some(value))) if *generation == id.generation => Ok(value),
            _ => Err(Errno::EBADF),
        }
    }

    pub fn remove(&mut self, id: SocketId) -> Option<T> {
        let slot = Self::slot(id)?;
        let entry = self.slots.get_mut(slot)?;
        if entry.0 != id.generation {
            return None;
        }
        let value = entry.1.take()?;
        self.free.push(slot);
        Some(value)
    }

    /// Every live socket's id.
    pub fn ids(&self) -> Vec<SocketId> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, (_, value))| value.is_some())
            .map(|(slot, (generation, _))| SocketId {
                index: INDEX_BASE + slot as u32,
                generation: *generation,
            })
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(|(_, value)| value.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_ids_are_ebadf_and_ids_are_tcp() {
        let mut table = SocketTable::default();
        let first = table.insert(1);
        assert!(is_tcp_id(first));
        assert_eq!(table.remove(first), Some(1));
        let second = table.insert(2);
        assert_eq!(second.index, first.index);
        assert_eq!(table.get(first), Err(Errno::EBADF));
        assert_eq!(table.get(second), Ok(&2));
        assert_eq!(table.ids(), vec![second]);
    }
}
