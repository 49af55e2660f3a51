//! The chunked Raft [`Log`] behaves exactly as the `Vec<Entry>` it stands for.
//!
//! Random sequences of appends, truncations and clones (clones share chunks, then both sides
//! change) are applied to a `Log` and to a `Vec`; after each operation every view of the log —
//! length, entries by position and in order, from a position, the first one that matches, equality, order, hash, common
//! prefix and its postcard bytes — must be the `Vec`'s, and every earlier clone must still be
//! what it was. Lengths go past several chunk boundaries ([`log::CHUNK`]).

use proptest::prelude::*;
use quorum::raft::log::{self, Entry, Log};
use quorum::raft::{Op, OpKind, Value};
use std::hash::{Hash, Hasher};

#[derive(Clone, Debug)]
enum Step {
    Push(u8),
    Extend(Vec<u8>),
    Truncate(usize),
    /// Keep a clone of the log as it is now (sharing its chunks).
    Clone,
}

fn entry(term: u8) -> Entry {
    let kind = if term.is_multiple_of(3) {
        OpKind::Noop
    } else {
        OpKind::Put(Value::from(vec![term % 2]), Value::from(vec![term; 3]))
    };
    Entry {
        term: u64::from(term % 4),
        op: Op { client: term % 2, session: u64::from(term % 3), seq: u64::from(term), kind },
    }
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => any::<u8>().prop_map(Step::Push),
        2 => proptest::collection::vec(any::<u8>(), 0..100).prop_map(Step::Extend),
        1 => (0..300usize).prop_map(Step::Truncate),
        1 => Just(Step::Clone),
    ]
}

fn hash_of<T: Hash + ?Sized>(t: &T) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

fn same(log: &Log, v: &Vec<Entry>) {
    assert_eq!(log.len(), v.len());
    assert_eq!(log.is_empty(), v.is_empty());
    assert_eq!(log.to_vec(), *v);
    assert!(log.iter().eq(v.iter()));
    assert!(log.iter().rev().eq(v.iter().rev()));
    assert_eq!(log.last(), v.last());
    for term in 0..4 {
        assert_eq!(log.position(|e| e.term == term), v.iter().position(|e| e.term == term), "position");
    }
    for at in [0, 1, log::CHUNK - 1, log::CHUNK, log::CHUNK + 1, v.len().saturating_sub(1), v.len(), v.len() + 5] {
        assert_eq!(log.get(at), v.get(at), "get({at})");
        assert!(log.iter_from(at).eq(v.iter().skip(at)), "iter_from({at})");
    }
    assert_eq!(hash_of(log), hash_of(v), "hash");
    assert_eq!(postcard::to_stdvec(log).unwrap(), postcard::to_stdvec(v).unwrap(), "postcard bytes");
    let back: Log = postcard::from_bytes(&postcard::to_stdvec(v).unwrap()).unwrap();
    assert!(back == *log);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn a_log_is_its_vec_of_entries_through_appends_truncations_and_clones(steps in proptest::collection::vec(step(), 1..60)) {
        let mut log = Log::default();
        let mut v: Vec<Entry> = Vec::new();
        let mut clones: Vec<(Log, Vec<Entry>)> = Vec::new();
        for s in steps {
            match s {
                Step::Push(t) => { log.push(entry(t)); v.push(entry(t)); }
                Step::Extend(ts) => {
                    let es: Vec<Entry> = ts.iter().map(|&t| entry(t)).collect();
                    log.extend_from_slice(&es);
                    v.extend(es);
                }
                Step::Truncate(n) => { log.truncate(n); v.truncate(n); }
                Step::Clone => clones.push((log.clone(), v.clone())),
            }
            same(&log, &v);
            for (c, cv) in &clones {
                same(c, cv);
                // Equality, order and common prefix against another log agree with the Vecs'.
                prop_assert_eq!(*c == log, *cv == v);
                prop_assert_eq!(c.cmp(&log), cv.cmp(&v));
                let lcp = cv.iter().zip(v.iter()).take_while(|(a, b)| a == b).count();
                prop_assert_eq!(c.common_prefix(&log), lcp);
                prop_assert_eq!(log.starts_with(c), v.starts_with(cv));
            }
        }
        // A log built in one go equals the one built step by step.
        prop_assert!(Log::from(v.clone()) == log);
    }
}
