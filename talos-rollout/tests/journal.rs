//! Journal, lock and backups on a real filesystem.
#![allow(clippy::unwrap_used)]

mod support;

use rollout_core::JournalEntry;
use rollout_core::machine::{Phase, Step};
use secrecy::{ExposeSecret, SecretSlice};
use support::seed_plan;
use talos_rollout::journal::{
    ClusterLock, Journal, LockHolder, RolloutDir, read_backup, write_backup,
};

#[test]
fn journal_round_trips_and_ignores_a_torn_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let paths = RolloutDir::new(dir.path(), "seed");
    let plan = seed_plan();
    let mut journal = Journal::create(&paths.journal(), &plan).unwrap();
    let entries = [
        JournalEntry::PhaseEntered {
            node: "k8s-2".into(),
            phase: Phase::Precheck,
        },
        JournalEntry::StepStarted {
            node: "k8s-2".into(),
            step: Step::Install,
        },
    ];
    for entry in &entries {
        journal.append(entry).unwrap();
    }
    drop(journal);
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(paths.journal())
        .unwrap();
    file.write_all(b"{\"at_unix_ms\":1,\"entry\":\"step_comp")
        .unwrap();
    let contents = Journal::read(&paths.journal()).unwrap();
    assert_eq!(contents.plan, plan);
    assert_eq!(contents.entries, entries);
    assert!(!contents.finished);
    assert!(
        Journal::create(&paths.journal(), &plan).is_err(),
        "an existing journal is never overwritten"
    );
}

#[test]
fn resuming_after_a_torn_line_appends_on_a_fresh_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let plan = seed_plan();
    drop(Journal::create(&path, &plan).unwrap());
    let mut text = std::fs::read(&path).unwrap();
    text.extend_from_slice(b"{\"at_unix_ms\":1,\"entry\":\"step_comp");
    std::fs::write(&path, text).unwrap();
    let entry = JournalEntry::PhaseEntered {
        node: "k8s-2".into(),
        phase: Phase::Precheck,
    };
    let mut journal = Journal::open(&path).unwrap();
    journal.append(&entry).unwrap();
    journal.append(&entry).unwrap();
    let contents = Journal::read(&path).unwrap();
    assert_eq!(contents.entries, [entry.clone(), entry]);
}

#[test]
fn a_corrupt_middle_line_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let plan = seed_plan();
    drop(Journal::create(&path, &plan).unwrap());
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("garbage\n{\"at_unix_ms\":1,\"entry\":\"finished\",\"summary\":{\"nodes\":[],\"halted_by\":null}}\n");
    std::fs::write(&path, text).unwrap();
    let err = Journal::read(&path).unwrap_err().to_string();
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn a_second_rollout_is_refused_naming_the_holder_and_a_stale_lock_needs_explicit_takeover() {
    let dir = tempfile::tempdir().unwrap();
    let path = RolloutDir::new(dir.path(), "seed").lock();
    let first = ClusterLock::acquire(&path, "seed", "alice", false).unwrap();
    let err = ClusterLock::acquire(&path, "seed", "bob", true).unwrap_err();
    assert!(err.is_lock_held());
    assert!(
        err.to_string().contains("alice")
            && err.to_string().contains(&std::process::id().to_string()),
        "{err}"
    );
    drop(first);
    // A clean release leaves no record: the next rollout takes the lock without ceremony.
    drop(ClusterLock::acquire(&path, "seed", "bob", false).unwrap());

    // A crashed holder leaves its record behind.
    let crashed = ClusterLock::acquire(&path, "seed", "carol", false).unwrap();
    let record = std::fs::read(&path).unwrap();
    drop(crashed);
    std::fs::write(&path, record).unwrap();
    let err = ClusterLock::acquire(&path, "seed", "dave", false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("carol") && err.contains("stale"), "{err}");
    let mut lock = ClusterLock::acquire(&path, "seed", "dave", true).unwrap();
    assert_eq!(lock.holder().owner, "dave");
    let on_disk = || serde_json::from_slice::<LockHolder>(&std::fs::read(&path).unwrap()).unwrap();
    let before = on_disk();
    std::thread::sleep(std::time::Duration::from_millis(5));
    lock.heartbeat().unwrap();
    let after = on_disk();
    assert_eq!(&after, lock.holder());
    assert!(
        after.heartbeat_unix_ms > before.heartbeat_unix_ms,
        "the heartbeat reaches the lock file"
    );
}

#[cfg(unix)]
#[test]
fn backups_keep_exact_bytes_and_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bytes = b"version: v1alpha1\nmachine:\n  token: not-a-real-token\n---\nkind: X\n".to_vec();
    let path = write_backup(dir.path(), "k8s-1", &SecretSlice::from(bytes.clone())).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        read_backup(dir.path(), "k8s-1").unwrap().expose_secret(),
        bytes.as_slice()
    );
    let journal = dir.path().join("j.jsonl");
    let plan = seed_plan();
    drop(Journal::create(&journal, &plan).unwrap());
    assert_eq!(
        std::fs::metadata(&journal).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn a_backup_is_never_overwritten_with_other_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let original = SecretSlice::from(b"machine: original\n".to_vec());
    write_backup(dir.path(), "k8s-1", &original).unwrap();
    // The same step repeated after a crash writes the same bytes: accepted.
    write_backup(dir.path(), "k8s-1", &original).unwrap();
    let changed = SecretSlice::from(b"machine: changed\n".to_vec());
    let error = write_backup(dir.path(), "k8s-1", &changed).unwrap_err();
    assert!(error.to_string().contains("never overwritten"), "{error}");
    assert_eq!(
        read_backup(dir.path(), "k8s-1").unwrap().expose_secret(),
        b"machine: original\n"
    );
}
