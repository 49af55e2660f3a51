//! Quorum sizes: how many replies a protocol waits for. Paxos and Raft tolerate crashes and need
//! a majority — the notes' "any two majorities share a member", which is what carries a chosen
//! value or a committed entry from one ballot or term to the next.

/// The size of a majority of `n` acceptors or servers.
pub fn majority(n: usize) -> usize {
    n / 2 + 1
}

#[cfg(test)]
mod tests {
    use super::majority;

    /// A majority is the smallest number of members of which any two sets share one: 2 of 3, 3 of
    /// 4, 3 of 5. Not a constant (2 is right only for 3), and not n / 2 (which two halves of an
    /// even cluster need not share).
    #[test]
    fn a_majority_is_the_smallest_size_at_which_any_two_intersect() {
        for n in 1..=9 {
            let m = majority(n);
            assert!(2 * m > n, "two majorities of {n} must share one");
            assert!(2 * (m - 1) <= n, "{} of {n} would be a smaller majority", m - 1);
        }
        assert_eq!((1..=7).map(majority).collect::<Vec<_>>(), [1, 2, 2, 3, 3, 4, 4]);
    }
}
