//! The mirror of Stateright's `examples/paxos.rs` (3 servers playing every role, clients that Put
//! then Get a register), at the example's bound: 2 clients, one ballot per server. Every property
//! holds on each network — also on the ordered one, where the example reports a false
//! linearizability counterexample (docs/paxos.md) — and a planted bug is caught.

use quorum::compare::paxos_mirror::{MirrorCfg, MirrorModel, SelfDelivery};
use quorum::paxos::model::property::*;
use quorum::paxos::model::NetworkKind;
use quorum::paxos::{Bug, BugSet};
use stateright::{Checker, HasDiscoveries, Model};

fn check(cfg: MirrorCfg) -> impl Checker<MirrorModel> {
    cfg.into_model().checker().threads(2).spawn_dfs().join()
}

/// Checks `cfg` exhaustively: the bound is exhausted, no `always` property has a counterexample,
/// every `sometimes` property has an example, and the state count is `states`.
fn assert_all_hold(cfg: MirrorCfg, states: usize) {
    let checker = check(cfg.clone());
    assert!(checker.is_done());
    checker.assert_properties();
    assert_eq!(checker.unique_state_count(), states, "{cfg:?}: the state space changed");
}

#[test]
fn mirror_two_clients_nonduplicating_network_is_linearizable_and_agrees() {
    assert_all_hold(MirrorCfg::default(), 11_371);
}

#[test]
fn mirror_two_clients_ordered_network_has_no_false_linearizability_counterexample() {
    assert_all_hold(MirrorCfg { network: NetworkKind::Ordered, ..MirrorCfg::default() }, 2_523);
}

#[test]
fn mirror_two_clients_duplicating_network_is_linearizable_and_agrees() {
    assert_all_hold(MirrorCfg { network: NetworkKind::UnorderedDuplicating, ..MirrorCfg::default() }, 55_653);
}

/// One client with every message through the network, including each server's to itself, and
/// no dead-message removal: the plain actor model, which the two choices above are measured
/// against (docs/architecture.md).
fn plain(network: NetworkKind) -> MirrorCfg {
    MirrorCfg { clients: 1, network, self_delivery: SelfDelivery::Network, remove_dead: false, ..MirrorCfg::default() }
}

/// Two clients with every self-send through the network, as in `plain`, but dead messages
/// removed: the shape without the under-approximation of local self-sends.
fn networked(network: NetworkKind) -> MirrorCfg {
    MirrorCfg { clients: 2, remove_dead: true, ..plain(network) }
}

#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn mirror_two_clients_networked_self_sends_nonduplicating_network_is_linearizable_and_agrees() {
    assert_all_hold(networked(NetworkKind::UnorderedNonduplicating), 417_844);
}

#[test]
fn mirror_two_clients_networked_self_sends_ordered_network_is_linearizable_and_agrees() {
    assert_all_hold(networked(NetworkKind::Ordered), 106_982);
}

/// About a minute in a release build: the largest check of the mirror.
#[test]
#[cfg_attr(debug_assertions, ignore = "release suite: cargo test --release")]
fn mirror_two_clients_networked_self_sends_duplicating_network_is_linearizable_and_agrees() {
    assert_all_hold(networked(NetworkKind::UnorderedDuplicating), 2_764_561);
}

#[test]
fn mirror_one_client_networked_self_sends_nonduplicating_network_is_linearizable() {
    assert_all_hold(plain(NetworkKind::UnorderedNonduplicating), 8_391);
}

#[test]
fn mirror_one_client_networked_self_sends_ordered_network_is_linearizable() {
    assert_all_hold(plain(NetworkKind::Ordered), 18_553);
}

#[test]
fn mirror_one_client_networked_self_sends_duplicating_network_is_linearizable() {
    assert_all_hold(plain(NetworkKind::UnorderedDuplicating), 111_173);
}

#[test]
fn mirror_one_client_dead_message_removal_keeps_every_verdict_with_fewer_states() {
    for network in NetworkKind::ALL {
        let cfg = MirrorCfg { remove_dead: true, ..plain(network) };
        let (full, reduced) = (check(plain(network)), check(cfg.clone()));
        assert!(full.is_done() && reduced.is_done());
        for p in full.model().properties() {
            assert_eq!(
                full.discovery(p.name).is_some(),
                reduced.discovery(p.name).is_some(),
                "{cfg:?}: \"{}\" differs",
                p.name
            );
        }
        assert!(reduced.unique_state_count() < full.unique_state_count(), "{cfg:?}: removed nothing");
    }
}

#[test]
fn mirror_with_an_acceptor_ignoring_its_promise_breaks_agreement() {
    for self_delivery in [SelfDelivery::Local, SelfDelivery::Network] {
        let cfg = MirrorCfg { self_delivery, bugs: BugSet::of(Bug::AcceptorIgnoresPromise), ..MirrorCfg::default() };
        let checker =
            cfg.clone().into_model().checker().threads(2).finish_when(HasDiscoveries::AnyFailures).spawn_dfs().join();
        assert!(checker.discovery(AGREEMENT).is_some() || checker.discovery(LINEARIZABLE).is_some(), "{cfg:?}");
    }
}
