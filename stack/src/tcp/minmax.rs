//! Kathleen Nichols' windowed min/max filter (lib/win_minmax.c): the best, second-best and
//! third-best samples of a window, so the maximum over the window is known without keeping
//! every sample. BBR's bandwidth filter uses the running maximum over 10 rounds.

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sample {
    /// Time (here: a round count).
    t: u32,
    v: u32,
}

#[derive(Debug, Clone, Default)]
pub struct MinMax {
    s: [Sample; 3],
}

impl MinMax {
    /// minmax_get.
    pub fn get(&self) -> u32 {
        self.s[0].v
    }

    /// minmax_reset.
    pub fn reset(&mut self, t: u32, v: u32) -> u32 {
        self.s = [Sample { t, v }; 3];
        v
    }

    /// minmax_subwin_update: the window moved on; older best samples age out.
    fn subwindow_update(&mut self, window: u32, value: Sample) -> u32 {
        let dt = value.t.wrapping_sub(self.s[0].t);
        if dt > window {
            self.s[0] = self.s[1];
            self.s[1] = self.s[2];
            self.s[2] = value;
            if value.t.wrapping_sub(self.s[0].t) > window {
                self.s[0] = self.s[1];
                self.s[1] = self.s[2];
                self.s[2] = value;
            }
        } else if self.s[1].t == self.s[0].t && dt > window / 4 {
            self.s[2] = value;
            self.s[1] = value;
        } else if self.s[2].t == self.s[1].t && dt > window / 2 {
            self.s[2] = value;
        }
        self.s[0].v
    }

    /// minmax_running_max.
    pub fn running_max(&mut self, window: u32, t: u32, v: u32) -> u32 {
        let value = Sample { t, v };
        if value.v >= self.s[0].v || value.t.wrapping_sub(self.s[2].t) > window {
            return self.reset(t, v);
        }
        if value.v >= self.s[1].v {
            self.s[2] = value;
            self.s[1] = value;
        } else if value.v >= self.s[2].v {
            self.s[2] = value;
        }
        self.subwindow_update(window, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maximum_expires_after_the_window() {
        let mut filter = MinMax::default();
        filter.reset(0, 0);
        assert_eq!(filter.running_max(10, 1, 100), 100);
        for round in 2..=11 {
            assert_eq!(filter.running_max(10, round, 50), 100, "round {round}");
        }
        // Round 12 is more than 10 rounds after the maximum: the next best takes over.
        assert_eq!(filter.running_max(10, 12, 40), 50);
    }
}
