//! Shared plumbing for the runnable examples: choosing between the embedded simulator and a
//! real cluster ([`target`]), rendering text or JSON ([`output`]), and exit statuses ([`exit`]).

pub mod exit;
pub mod nodes;
pub mod output;
pub mod target;
