//! The teaching room: [`scenario`] holds named, replayable step sequences of classic situations
//! (the guide's walk-throughs and every planted bug's counterexample), and [`diagram`] draws
//! them as message-sequence diagrams for docs/ and the Explorer.

pub mod diagram;
pub mod scenario;
