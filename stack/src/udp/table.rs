//! The sockets of the layer, addressed by `SocketId` (slot + generation): a stale id (the
//! socket was closed and its slot reused) answers EBADF instead of reaching another socket.

use crate::errno::Errno;
use crate::socket::SocketId;

pub(crate) struct SocketTable<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
}

struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

impl<T> SocketTable<T> {
    pub fn new() -> SocketTable<T> {
        SocketTable {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    pub fn insert(&mut self, value: T) -> SocketId {
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.generation = slot.generation.wrapping_add(1);
            slot.value = Some(value);
            return SocketId {
                index,
                generation: slot.generation,
            };
        }
        let index = self.slots.len() as u32;
        self.slots.push(Slot {
            generation: 0,
            value: Some(value),
        });
        SocketId {
            index,
            generation: 0,
        }
    }

    pub fn get(&self, id: SocketId) -> Result<&T, Errno> {
        match self.slots.get(id.index as usize) {
            Some(Slot {
                generation,
                value: Some(value),
            }) if *generation == id.generation => Ok(value),
            _ => Err(Errno::EBADF),
        }
    }

    pub fn get_mut(&mut self, id: SocketId) -> Result<&mut T, Errno> {
        match self.slots.get_mut(id.index as usize) {
            Some(Slot {
                generation,
                value: Some(value),
            }) if *generation == id.generation => Ok(value),
            _ => Err(Errno::EBADF),
        }
    }

    /// The ids of the live sockets, in slot order.
    pub fn ids(&self) -> Vec<SocketId> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.value.is_some())
            .map(|(index, slot)| SocketId {
                index: index as u32,
                generation: slot.generation,
            })
            .collect()
    }

    pub fn remove(&mut self, id: SocketId) -> Option<T> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let value = slot.value.take()?;
        self.free.push(id.index);
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_ids_are_ebadf() {
        let mut table = SocketTable::new();
        let a = table.insert(1);
        assert_eq!(table.get(a), Ok(&1));
        assert_eq!(table.remove(a), Some(1));
        assert_eq!(table.get(a), Err(Errno::EBADF));
        let b = table.insert(2);
        assert_eq!(b.index, a.index);
        assert_eq!(table.get(a), Err(Errno::EBADF));
        assert_eq!(table.get(b), Ok(&2));
        assert_eq!(table.remove(a), None);
    }
}
