//! What every protocol's bug zoo shares: a planted bug names the property that must catch it, and
//! a configuration carries a set of them (usually empty).

use std::fmt;
use std::marker::PhantomData;

/// A classic mistake, planted behind one `if bugs.has(..)` at the line it corrupts.
pub trait PlantedBug: Copy + Eq + fmt::Debug + 'static {
    /// Every bug of the protocol, in the order `quorum bugs` lists them.
    const LIST: &'static [Self];
    /// The name used on the command line (`--bug NAME`).
    fn name(self) -> &'static str;
    /// The property that must catch it.
    fn breaks(self) -> &'static str;
    /// One line: what goes wrong, and why the correct rule prevents it.
    fn why(self) -> &'static str;
    /// Its bit in a [`BugSet`] (below 32).
    fn bit(self) -> u32;

    fn from_name(name: &str) -> Option<Self> {
        Self::LIST.iter().copied().find(|b| b.name() == name)
    }
}

/// A set of planted bugs, usually empty.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BugSet<B>(u32, PhantomData<B>);

impl<B> Default for BugSet<B> {
    fn default() -> Self {
        BugSet(0, PhantomData)
    }
}

impl<B: PlantedBug> fmt::Debug for BugSet<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(B::name)).finish()
    }
}

impl<B> BugSet<B> {
    pub const NONE: Self = BugSet(0, PhantomData);

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl<B: PlantedBug> BugSet<B> {
    pub fn of(bug: B) -> Self {
        BugSet(1 << bug.bit(), PhantomData)
    }

    pub fn has(self, bug: B) -> bool {
        self.0 & (1 << bug.bit()) != 0
    }

    pub fn with(self, bug: B) -> Self {
        BugSet(self.0 | 1 << bug.bit(), PhantomData)
    }

    pub fn iter(self) -> impl Iterator<Item = B> {
        B::LIST.iter().copied().filter(move |b| self.has(*b))
    }

    /// The names, for JSON reports.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(B::name).collect()
    }
}

/// Serializes a bug set as the list of its names.
pub fn serialize<B: PlantedBug, S: serde::Serializer>(bugs: &BugSet<B>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(bugs.iter().map(B::name))
}
