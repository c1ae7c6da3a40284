//! Shared plumbing for the runnable examples: choosing between the embedded simulator and a
//! real cluster ([`target`]), rendering text or JSON ([`output`], [`progress`]), exit
//! statuses ([`exit`]), bounded inputs ([`input`]), tag and CIDR flags ([`parse`]), the
//! GitOps flags and reports ([`gitops`]), the cluster lock flags ([`lock_args`]), and what
//! `full-rollout` and `rollback` share ([`rollout_args`], [`profile_args`], [`report`]).

pub mod exit;
pub mod gitops;
pub mod input;
pub mod lock_args;
pub mod metrics_server;
pub mod output;
pub mod parse;
pub mod profile_args;
pub mod progress;
pub mod report;
pub mod rollout_args;
pub mod target;
