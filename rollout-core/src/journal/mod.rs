//! Durable state: the append-only journal, the cluster lock and machine-config backups.

mod entry;

pub use entry::JournalEntry;
