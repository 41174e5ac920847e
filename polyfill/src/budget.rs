//! How much work one call may do before it hands the component back (pure;
//! unit-tested on the host).
//!
//! A component is single-threaded: while a call runs, every other connection,
//! timer and request in it waits. So a receive that never blocks does a bounded
//! slice of work, and the connect bound is shared among the addresses a name
//! resolves to instead of being handed whole to the first one.

/// When one connect attempt gives up, in nanoseconds on the monotonic clock:
/// the time left until `deadline`, split evenly among the `left` addresses not
/// tried yet (this one included); the last address gets all that is left. An
/// attempt that fails early (refused) leaves its unused share to the next ones,
/// so a black-holed first address costs the others only its share.
pub(crate) fn attempt_deadline(now: u64, deadline: u64, left: usize) -> u64 {
    let remaining = deadline.saturating_sub(now);
    let share = remaining / u64::try_from(left.max(1)).unwrap_or(u64::MAX);
    now.saturating_add(share).min(deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

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
