//! PBFT's messages as they travel between replicas on UDP: signed by their sender, with the
//! signed messages they relay (OSDI 1999 uses signatures throughout, §4).
//!
//! The model's replica checks a prepared certificate as the paper says (`valid_certificate`):
//! a certificate whose signatures do not verify is `forged`, and a view change or new-view that
//! carries one is ignored. On the wire nothing marks a certificate forged: the runtime must
//! check the signatures itself. So every replica-to-replica message is [`Wire::Signed`] by its
//! sender's Ed25519 key ([`crate::runtime::signing`]), and carries the proofs of what it
//! relays:
//!
//! - a view change, for each prepared certificate it reports, the primary's signed pre-prepare
//!   and 2f backups' signed prepares ([`CertProof`]), and for its stable checkpoint 2f+1 signed
//!   matching checkpoint messages ([`StableProof`], the paper's C);
//! - a new-view, for each view change in V, that replica's signature and its certificates'
//!   proofs ([`VcProof`]), and the new primary's signature of each pre-prepare in O, which later
//!   certificates of the new view rely on.
//!
//! [`check`] verifies all of it before the replica sees the message; a message that does not
//! verify is refused (counted and logged), which is what the model's replica does with the same
//! message whose certificate is marked `forged` (a test in `hosting` shows both). Each replica
//! keeps the signatures it has received and sent ([`Proofs`]), to build its own view changes and
//! new-views. Clients' requests and replies travel [`Wire::Plain`], authenticated by the cluster
//! key's HMAC only: clients hold no signing key.

use super::replica::{low, prepare_quorum, primary, quorum, ReplicaCfg};
use super::{Checkpoint, Order, PbftMsg, Prepared, Req, SeqNo, Stable, StateDigest, View, ViewChange};
use crate::runtime::signing::{ReplicaKeys, Sig};
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::collections::BTreeMap;

/// The proof of one prepared certificate: the pre-prepare signed by the view's primary, and the
/// matching prepares signed by distinct backups (replica id, signature).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CertProof {
    pub pre_prepare: Sig,
    pub prepares: Vec<(usize, Sig)>,
}

/// The proof of a stable checkpoint (§4.3's C): matching checkpoint messages signed by
/// distinct replicas (replica id, signature).
pub type StableProof = Vec<(usize, Sig)>;

/// What proves a view change's content: the proof of each of its certificates, in order, and
/// of its stable checkpoint (empty if it claims none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VcEvidence {
    pub certs: Vec<CertProof>,
    pub stable: StableProof,
}

/// The proof of one view change relayed in a new-view: its sender's signature and what proves
/// its content.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VcProof {
    pub sig: Sig,
    pub evidence: VcEvidence,
}

/// What a signed message relays.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Evidence {
    None,
    /// The proofs of the view change's certificates and stable checkpoint.
    ViewChange(VcEvidence),
    /// One proof per view change in V, and the new primary's signature of each pre-prepare in
    /// O, in order.
    NewView {
        view_changes: Vec<VcProof>,
        pre_prepares: Vec<Sig>,
    },
}

/// A PBFT message on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Wire {
    /// A client's request, or a reply to a client.
    Plain(PbftMsg),
    /// A replica's message, signed by the replica it names, with the proofs of what it relays.
    Signed { msg: PbftMsg, sig: Sig, evidence: Evidence },
}

impl Wire {
    /// The message itself.
    pub fn msg(&self) -> &PbftMsg {
        match self {
            Wire::Plain(m) | Wire::Signed { msg: m, .. } => m,
        }
    }
}

/// The signatures a replica has seen or made, by what they sign.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Proofs {
    /// (view, sequence number, request) → the view's primary's signed pre-prepare.
    pub pre_prepares: BTreeMap<(View, SeqNo, Req), Sig>,
    /// (view, sequence number, request) → backup → its signed prepare.
    pub prepares: BTreeMap<(View, SeqNo, Req), BTreeMap<usize, Sig>>,
    /// A view change received or sent → its proof.
    pub view_changes: BTreeMap<ViewChange, VcProof>,
    /// (sequence number, state digest) → replica → its signed checkpoint message.
    pub checkpoints: BTreeMap<(SeqNo, StateDigest), BTreeMap<usize, Sig>>,
}

impl Proofs {
    /// Drops what a replica in state `s` will never relay again: view changes of views before
    /// its own (a new primary relays those of the view it enters), the signatures of slots at or
    /// below its low watermark and of earlier views' slots it no longer holds (a certificate is
    /// built from a slot of its log, above the watermark), and checkpoint messages below its
    /// stable checkpoint (whose proof it relays).
    pub fn prune(&mut self, s: &super::replica::ReplicaState) {
        let h = low(s);
        let kept = |v: View, n: SeqNo| n > h && (v >= s.view || s.log.contains_key(&(v, n)));
        self.pre_prepares.retain(|(v, n, _), _| kept(*v, *n));
        self.prepares.retain(|(v, n, _), _| kept(*v, *n));
        self.view_changes.retain(|vc, _| vc.view >= s.view);
        self.checkpoints.retain(|(n, _), _| *n >= h);
    }
}

/// The bytes a signature covers: the message, under this protocol's name. (The keys are the
/// cluster's own, so no other cluster's signature verifies.)
pub fn signed_bytes(msg: &PbftMsg) -> Vec<u8> {
    postcard::to_stdvec(&("quorum pbft", msg)).unwrap_or_default()
}

/// The pre-prepare of certificate `p`, as its primary signed it.
fn pre_prepare_of(cfg: &ReplicaCfg, view: View, seq: SeqNo, req: &Req) -> PbftMsg {
    PbftMsg::PrePrepare(Order { view, seq, req: req.clone(), replica: primary(cfg, view) })
}

/// Backup `b`'s prepare for certificate `p`.
fn prepare_of(p: &Prepared, b: usize) -> PbftMsg {
    PbftMsg::Prepare(Order { view: p.view, seq: p.seq, req: p.req.clone(), replica: Id::from(b) })
}

/// Replica `r`'s checkpoint message for stable checkpoint `c`.
fn checkpoint_of(c: &Stable, r: usize) -> PbftMsg {
    PbftMsg::Checkpoint(Checkpoint { seq: c.seq, digest: c.digest, replica: Id::from(r) })
}

/// The proof of stable checkpoint `c` from `proofs`: `c.signers` of its signed checkpoint
/// messages (None if some are missing: the correct code's stable checkpoint counts only
/// messages the runtime admitted and recorded, so that never happens to it).
pub fn stable_proof(proofs: &Proofs, c: &Stable) -> Option<StableProof> {
    let sigs: StableProof =
        proofs.checkpoints.get(&(c.seq, c.digest))?.iter().take(c.signers).map(|(r, s)| (*r, *s)).collect();
    (sigs.len() == c.signers).then_some(sigs)
}

/// What proves view change `vc` from `proofs` (a certificate or stable checkpoint without a
/// proof is left out and logged: the check of every receiver then refuses the view change).
fn vc_evidence(cfg: &ReplicaCfg, proofs: &Proofs, me: usize, vc: &ViewChange) -> VcEvidence {
    let certs: Vec<CertProof> = vc.prepared.iter().filter_map(|p| cert_proof(cfg, proofs, p)).collect();
    if certs.len() != vc.prepared.len() {
        tracing::error!(replica = me, view = vc.view, "a certificate of this view change has no proof");
    }
    let stable = vc.stable.as_ref().map_or(Some(Vec::new()), |c| stable_proof(proofs, c)).unwrap_or_else(|| {
        tracing::error!(replica = me, view = vc.view, "the stable checkpoint of this view change has no proof");
        Vec::new()
    });
    VcEvidence { certs, stable }
}

fn key(p: &Prepared) -> (View, SeqNo, Req) {
    (p.view, p.seq, p.req.clone())
}

/// The proof of certificate `p` from `proofs`: its pre-prepare and the prepares it counts
/// (None if a signature is missing: the correct code reports only what it prepared, so that
/// never happens to it).
pub fn cert_proof(cfg: &ReplicaCfg, proofs: &Proofs, p: &Prepared) -> Option<CertProof> {
    let pre_prepare = *proofs.pre_prepares.get(&key(p))?;
    let leader = usize::from(primary(cfg, p.view));
    let prepares: Vec<(usize, Sig)> = proofs
        .prepares
        .get(&key(p))?
        .iter()
        .filter(|(b, _)| **b != leader)
        .take(p.prepares)
        .map(|(b, s)| (*b, *s))
        .collect();
    (prepares.len() == p.prepares).then_some(CertProof { pre_prepare, prepares })
}

/// Signs the correct code's `msg` as replica `keys.me()`, with the proofs of what it relays,
/// and records its own signatures in `proofs`. A client's reply goes plain.
pub fn seal(keys: &ReplicaKeys, cfg: &ReplicaCfg, proofs: &mut Proofs, msg: PbftMsg) -> Wire {
    let me = keys.me();
    let evidence = match &msg {
        PbftMsg::Request(_) | PbftMsg::Reply(_) => return Wire::Plain(msg),
        PbftMsg::PrePrepare(_)
        | PbftMsg::Prepare(_)
        | PbftMsg::Commit(_)
        | PbftMsg::Checkpoint(_)
        | PbftMsg::Fetch { .. }
        | PbftMsg::Transfer(_) => Evidence::None,
        PbftMsg::ViewChange(vc) => Evidence::ViewChange(vc_evidence(cfg, proofs, me, vc)),
        PbftMsg::NewView(nv) => {
            let view_changes: Vec<VcProof> =
                nv.view_changes.iter().filter_map(|vc| proofs.view_changes.get(vc).cloned()).collect();
            let mut pre_prepares = Vec::new();
            for (seq, req) in &nv.pre_prepares {
                let sig = keys.sign(&signed_bytes(&pre_prepare_of(cfg, nv.view, *seq, req)));
                proofs.pre_prepares.insert((nv.view, *seq, req.clone()), sig);
                pre_prepares.push(sig);
            }
            Evidence::NewView { view_changes, pre_prepares }
        }
    };
    let sig = keys.sign(&signed_bytes(&msg));
    let wire = Wire::Signed { msg, sig, evidence };
    record(cfg, proofs, &wire);
    wire
}

/// Whether `proof` proves certificate `p`: the pre-prepare signed by the primary of `p`'s view
/// and at least `p.prepares` and 2f prepares signed by distinct other replicas. A certificate
/// that calls itself forged is refused too.
pub fn valid_cert_proof(keys: &ReplicaKeys, cfg: &ReplicaCfg, p: &Prepared, proof: &CertProof) -> bool {
    let leader = usize::from(primary(cfg, p.view));
    let mut signers: Vec<usize> = Vec::new();
    for (b, sig) in &proof.prepares {
        if *b == leader || signers.contains(b) || !keys.verify(*b, &signed_bytes(&prepare_of(p, *b)), sig) {
            return false;
        }
        signers.push(*b);
    }
    !p.forged
        && signers.len() >= p.prepares.max(prepare_quorum(cfg))
        && keys.verify(leader, &signed_bytes(&pre_prepare_of(cfg, p.view, p.seq, &p.req)), &proof.pre_prepare)
}

/// Whether `proof` proves stable checkpoint `c`: matching checkpoint messages signed by at
/// least 2f+1 (and `c.signers`) distinct replicas. One that calls itself forged is refused too.
pub fn valid_stable_proof(keys: &ReplicaKeys, cfg: &ReplicaCfg, c: &Stable, proof: &StableProof) -> bool {
    let mut signers: Vec<usize> = Vec::new();
    for (r, sig) in proof {
        if *r >= cfg.replicas || signers.contains(r) || !keys.verify(*r, &signed_bytes(&checkpoint_of(c, *r)), sig) {
            return false;
        }
        signers.push(*r);
    }
    !c.forged && signers.len() >= c.signers.max(quorum(cfg))
}

/// Whether `evidence` proves view change `vc`: its certificates, one proof each, in order, and
/// its stable checkpoint if it claims one (and no proof if it claims none).
fn valid_vc(keys: &ReplicaKeys, cfg: &ReplicaCfg, vc: &ViewChange, evidence: &VcEvidence) -> bool {
    let stable = match &vc.stable {
        Some(c) => valid_stable_proof(keys, cfg, c, &evidence.stable),
        None => evidence.stable.is_empty(),
    };
    stable
        && evidence.certs.len() == vc.prepared.len()
        && vc.prepared.iter().zip(&evidence.certs).all(|(p, proof)| valid_cert_proof(keys, cfg, p, proof))
}

/// Checks a datagram's message from `src` (whose HMAC already verified) before the replica sees
/// it: a request or reply plain, any other message signed by the replica it names (the sender),
/// and everything it relays signed by whoever it claims said it. The error says what failed.
pub fn check(keys: &ReplicaKeys, cfg: &ReplicaCfg, src: Id, wire: &Wire) -> Result<(), &'static str> {
    let (msg, sig, evidence) = match wire {
        Wire::Plain(PbftMsg::Request(_) | PbftMsg::Reply(_)) => return Ok(()),
        Wire::Plain(_) => return Err("a replica's message without its signature"),
        Wire::Signed { msg: PbftMsg::Request(_) | PbftMsg::Reply(_), .. } => {
            return Err("a client's message signed as a replica's")
        }
        Wire::Signed { msg, sig, evidence } => (msg, sig, evidence),
    };
    let signer = msg.claimed_replica().map(usize::from).filter(|r| *r < cfg.replicas);
    let Some(signer) = signer.filter(|r| *r == usize::from(src)) else {
        return Err("a message that names another replica than its sender");
    };
    if !keys.verify(signer, &signed_bytes(msg), sig) {
        return Err("the sender's signature does not verify");
    }
    match (msg, evidence) {
        (
            PbftMsg::PrePrepare(_)
            | PbftMsg::Prepare(_)
            | PbftMsg::Commit(_)
            | PbftMsg::Checkpoint(_)
            | PbftMsg::Fetch { .. }
            | PbftMsg::Transfer(_),
            Evidence::None,
        ) => Ok(()),
        (PbftMsg::ViewChange(vc), Evidence::ViewChange(evidence)) => match valid_vc(keys, cfg, vc, evidence) {
            true => Ok(()),
            false => Err("a prepared certificate or the stable checkpoint in the view change does not verify"),
        },
        (PbftMsg::NewView(nv), Evidence::NewView { view_changes, pre_prepares }) => {
            if signer != usize::from(primary(cfg, nv.view)) {
                return Err("a new-view from another replica than the view's primary");
            }
            if view_changes.len() != nv.view_changes.len() || pre_prepares.len() != nv.pre_prepares.len() {
                return Err("a new-view without a proof for each view change and pre-prepare");
            }
            for (vc, proof) in nv.view_changes.iter().zip(view_changes) {
                let sender = usize::from(vc.replica);
                let relayed = PbftMsg::ViewChange(vc.clone());
                if !keys.verify(sender, &signed_bytes(&relayed), &proof.sig) {
                    return Err("a view change in the new-view is not signed by its sender");
                }
                if !valid_vc(keys, cfg, vc, &proof.evidence) {
                    return Err(
                        "a prepared certificate or stable checkpoint in a view change of the new-view does not verify",
                    );
                }
            }
            for ((seq, req), sig) in nv.pre_prepares.iter().zip(pre_prepares) {
                if !keys.verify(signer, &signed_bytes(&pre_prepare_of(cfg, nv.view, *seq, req)), sig) {
                    return Err("a pre-prepare of the new-view is not signed by the new primary");
                }
            }
            Ok(())
        }
        _ => Err("evidence of the wrong kind for the message"),
    }
}

/// Keeps the signatures of a message that [`check`] accepted (or that this replica sent): the
/// primary's pre-prepares, the prepares, the view changes and a new-view's pre-prepares.
pub fn record(cfg: &ReplicaCfg, proofs: &mut Proofs, wire: &Wire) {
    let Wire::Signed { msg, sig, evidence } = wire else { return };
    match (msg, evidence) {
        (PbftMsg::PrePrepare(o), _) if o.replica == primary(cfg, o.view) => {
            proofs.pre_prepares.entry((o.view, o.seq, o.req.clone())).or_insert(*sig);
        }
        (PbftMsg::Prepare(o), _) => {
            let signers = proofs.prepares.entry((o.view, o.seq, o.req.clone())).or_default();
            signers.entry(usize::from(o.replica)).or_insert(*sig);
        }
        (PbftMsg::ViewChange(vc), Evidence::ViewChange(evidence)) => {
            let proof = VcProof { sig: *sig, evidence: evidence.clone() };
            proofs.view_changes.entry(vc.clone()).or_insert(proof);
        }
        (PbftMsg::Checkpoint(c), _) => {
            let signers = proofs.checkpoints.entry((c.seq, c.digest)).or_default();
            signers.entry(usize::from(c.replica)).or_insert(*sig);
        }
        (PbftMsg::NewView(nv), Evidence::NewView { pre_prepares, .. }) => {
            for ((seq, req), sig) in nv.pre_prepares.iter().zip(pre_prepares) {
                proofs.pre_prepares.entry((nv.view, *seq, req.clone())).or_insert(*sig);
            }
        }
        _ => {}
    }
}
