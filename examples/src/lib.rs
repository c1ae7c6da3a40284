//! Shared plumbing for the runnable examples: choosing between the embedded simulator and a real cluster.
