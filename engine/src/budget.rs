//! How much work one call may do before it hands the component back (pure;
//! unit-tested on the host).
//!
//! A component is single-threaded: while a call runs, every other connection,
//! timer and request in it waits. So a receive that never blocks does a bounded
//! slice of work, and the connect bound is shared among the addresses a name
//! resolves to instead of being handed whole to the first one.

/// Control frames (pings, pongs) one receive call answers before it returns.
/// A peer that floods pings is answered in slices of this many frames; each
/// slice takes about a millisecond (about 2 µs per ping under wasmtime 48).
pub const CONTROL_FRAMES_PER_SLICE: u32 = 1024;

/// Bytes one receive call reads from the socket before it returns. 4 MiB is a
/// few milliseconds of copying; a larger message is read over several calls.
pub const BYTES_PER_SLICE: usize = 4 << 20;

/// What one receive call may still do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    frames: u32,
    bytes: usize,
}

impl Default for Slice {
    /// A fresh slice: [`CONTROL_FRAMES_PER_SLICE`] frames, [`BYTES_PER_SLICE`] bytes.
    fn default() -> Slice {
        Slice::of(CONTROL_FRAMES_PER_SLICE, BYTES_PER_SLICE)
    }
}

impl Slice {
    /// A slice of `frames` control frames and `bytes` bytes.
    pub fn of(frames: u32, bytes: usize) -> Slice {
        Slice { frames, bytes }
    }

    /// No limit: for the handshake, which the connect bound limits.
    pub fn unlimited() -> Slice {
        Slice::of(u32::MAX, usize::MAX)
    }

    /// Counts one control frame; `false` once the slice has none left.
    pub fn take_frame(&mut self) -> bool {
        self.frames = self.frames.saturating_sub(1);
        self.frames > 0
    }

    /// How many of `want` bytes may be read now (0 when the slice is spent).
    pub fn allow_bytes(&self, want: usize) -> usize {
        want.min(self.bytes)
    }

    /// Counts `n` bytes read.
    pub fn took_bytes(&mut self, n: usize) {
        self.bytes = self.bytes.saturating_sub(n);
    }

    /// Whether the slice is spent (no frame or no byte left).
    pub fn spent(&self) -> bool {
        self.frames == 0 || self.bytes == 0
    }
}

/// When one connect attempt gives up, in nanoseconds on the monotonic clock:
/// the time left until `deadline`, split evenly among the `left` addresses not
/// tried yet (this one included); the last address gets all that is left. An
/// attempt that fails early (refused) leaves its unused share to the next ones,
/// so a black-holed first address costs the others only its share.
pub fn attempt_deadline(now: u64, deadline: u64, left: usize) -> u64 {
    let remaining = deadline.saturating_sub(now);
    let share = remaining / u64::try_from(left.max(1)).unwrap_or(u64::MAX);
    now.saturating_add(share).min(deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slice_counts_control_frames() {
        let mut slice = Slice::of(3, 100);
        assert!(slice.take_frame());
        assert!(slice.take_frame());
        assert!(!slice.spent());
        assert!(!slice.take_frame());
        assert!(slice.spent());
        assert!(!slice.take_frame(), "stays spent");
    }

    #[test]
    fn a_slice_counts_bytes() {
        let mut slice = Slice::of(10, 100);
        assert_eq!(slice.allow_bytes(64), 64);
        slice.took_bytes(64);
        assert_eq!(slice.allow_bytes(64), 36);
        slice.took_bytes(36);
        assert!(slice.spent());
        assert_eq!(slice.allow_bytes(64), 0);
        slice.took_bytes(5);
        assert_eq!(slice.allow_bytes(1), 0, "no underflow");
    }

    #[test]
    fn the_default_slice_is_small_and_the_unlimited_one_is_not() {
        let slice = Slice::default();
        assert_eq!(slice.allow_bytes(usize::MAX), BYTES_PER_SLICE);
        assert!(!slice.spent());
        let mut slice = Slice::unlimited();
        for _ in 0..100_000 {
            assert!(slice.take_frame());
        }
        assert_eq!(slice.allow_bytes(1 << 40), 1 << 40);
    }

    const MS: u64 = 1_000_000;

    #[test]
    fn the_connect_bound_is_shared_among_addresses() {
        // 30 s, three addresses: 10 s each if each uses its whole share.
        let deadline = 30_000 * MS;
        let first = attempt_deadline(0, deadline, 3);
        assert_eq!(first, 10_000 * MS);
        let second = attempt_deadline(first, deadline, 2);
        assert_eq!(second, 20_000 * MS);
        let third = attempt_deadline(second, deadline, 1);
        assert_eq!(third, deadline, "the last address gets what is left");
    }

    #[test]
    fn an_early_failure_leaves_its_share_to_the_others() {
        let deadline = 30_000 * MS;
        // The first address was refused after 1 ms: the other two split 29.999 s.
        let second = attempt_deadline(MS, deadline, 2);
        assert_eq!(second, MS + 29_999 * MS / 2);
    }

    #[test]
    fn a_black_holed_first_address_leaves_the_next_one_time() {
        // Two addresses, the first never answers: the second still gets half.
        let deadline = 2_000 * MS;
        let first = attempt_deadline(0, deadline, 2);
        assert_eq!(first, 1_000 * MS);
        let second = attempt_deadline(first, deadline, 1);
        assert_eq!(second - first, 1_000 * MS);
    }

    #[test]
    fn odd_inputs_stay_within_the_deadline() {
        assert_eq!(attempt_deadline(5, 3, 2), 3, "deadline passed: no time");
        assert_eq!(
            attempt_deadline(0, 100, 0),
            100,
            "zero addresses reads as one"
        );
        assert_eq!(attempt_deadline(0, u64::MAX, 1), u64::MAX);
        assert_eq!(attempt_deadline(u64::MAX - 1, u64::MAX, 2), u64::MAX - 1);
    }
}
