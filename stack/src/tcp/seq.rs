//! Sequence-number arithmetic modulo 2^32 (RFC 9293 section 3.4; the kernel's before()/after()).

use core::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Seq(pub u32);

impl Seq {
    /// The sequence number `count` octets further on.
    pub fn add(self, count: u32) -> Seq {
        Seq(self.0.wrapping_add(count))
    }

    pub fn sub(self, count: u32) -> Seq {
        Seq(self.0.wrapping_sub(count))
    }

    /// Signed distance self − other (meaningful within 2^31).
    pub fn distance(self, other: Seq) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// Octets from `earlier` to `self`; 0 if `self` is not after `earlier`.
    pub fn since(self, earlier: Seq) -> u32 {
        self.distance(earlier).max(0) as u32
    }

    /// before(self, other)
    pub fn lt(self, other: Seq) -> bool {
        self.distance(other) < 0
    }

    pub fn le(self, other: Seq) -> bool {
        self.distance(other) <= 0
    }

    /// after(self, other)
    pub fn gt(self, other: Seq) -> bool {
        self.distance(other) > 0
    }

    pub fn ge(self, other: Seq) -> bool {
        self.distance(other) >= 0
    }

    pub fn max(self, other: Seq) -> Seq {
        if self.ge(other) {
            self
        } else {
            other
        }
    }

    pub fn min(self, other: Seq) -> Seq {
        if self.le(other) {
            self
        } else {
            other
        }
    }

    /// between(seq, low, high): low <= self <= high, modulo 2^32.
    pub fn within(self, low: Seq, high: Seq) -> bool {
        high.0.wrapping_sub(low.0) >= self.0.wrapping_sub(low.0)
    }
}

impl fmt::Debug for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Seq({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_wrap() {
        let near_top = Seq(u32::MAX - 1);
        let wrapped = near_top.add(10);
        assert_eq!(wrapped, Seq(8));
        assert!(near_top.lt(wrapped));
        assert!(wrapped.gt(near_top));
        assert_eq!(wrapped.since(near_top), 10);
        assert_eq!(near_top.since(wrapped), 0);
        assert!(Seq(3).within(near_top, wrapped));
        assert!(!Seq(9).within(near_top, wrapped));
        assert_eq!(near_top.max(wrapped), wrapped);
    }
}
