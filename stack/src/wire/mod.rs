//! Wire formats, one file per format (smoltcp's split): a `Packet<T: AsRef<[u8]>>` view with
//! `new_checked`, and a `Repr` with `parse`, `buffer_len` and `emit`. No state machines here.
pub mod checksum;
