//! The journal file: append-only JSON lines, each fsynced before the next action runs.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;
use rollout_core::JournalEntry;
use rollout_core::plan::Plan;

/// One journal line: when, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalRecord {
    /// Wall-clock time of writing, milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// The entry.
    #[serde(flatten)]
    pub entry: JournalEntry,
}

/// A journal read back from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalContents {
    /// The plan from the `Started` line.
    pub plan: Plan,
    /// Every entry after `Started`.
    pub entries: Vec<JournalEntry>,
    /// True when the last entry is `Finished` (a retried halt appends after it).
    pub finished: bool,
}

/// An open, append-only journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Creates a new journal at `path` starting with the plan (fails if the file exists).
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be created or written.
    pub fn create(path: &Path, plan: &Plan) -> crate::Result<Self> {
        if let Some(parent) = path.parent() {
            super::create_private_dir(parent)?;
        }
        let file = private_options()
            .create_new(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io("create journal", path, e))?;
        let mut journal = Journal {
            path: path.to_owned(),
            file,
        };
        journal.append(&JournalEntry::Started {
            plan: Box::new(plan.clone()),
        })?;
        Ok(journal)
    }

    /// Opens an existing journal for appending.
    ///
    /// A torn last line (a crash while writing it) is cut off first, so the next entry starts
    /// on a line of its own instead of turning the fragment into a corrupt middle line.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be opened or the torn line cannot be cut off.
    pub fn open(path: &Path) -> crate::Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io("open journal", path, e))?;
        cut_torn_tail(&file).map_err(|e| Error::io("repair torn line of", path, e))?;
        Ok(Journal {
            path: path.to_owned(),
            file,
        })
    }

    /// Appends one entry and fsyncs it.
    ///
    /// # Errors
    /// [`Error::Io`] when writing or syncing fails.
    pub fn append(&mut self, entry: &JournalEntry) -> crate::Result<()> {
        let record = JournalRecord {
            at_unix_ms: super::unix_ms(),
            entry: entry.clone(),
        };
        let mut line = serde_json::to_vec(&record).map_err(|e| Error::Journal {
            path: self.path.clone(),
            reason: format!("cannot encode entry: {e}"),
        })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|e| Error::io("append to", &self.path, e))?;
        self.file
            .sync_data()
            .map_err(|e| Error::io("sync", &self.path, e))
    }

    /// Reads a journal. A torn last line (a crash while writing) is ignored; any other
    /// unreadable line is an error.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Journal`] when the file is missing or corrupt.
    pub fn read(path: &Path) -> crate::Result<JournalContents> {
        let file = File::open(path).map_err(|e| Error::io("read", path, e))?;
        let lines: Vec<String> = BufReader::new(file)
            .lines()
            .collect::<Result<_, _>>()
            .map_err(|e| Error::io("read", path, e))?;
        let corrupt = |line: usize, reason: String| Error::Journal {
            path: path.to_owned(),
            reason: format!("line {line}: {reason}; move the file aside to start a new rollout"),
        };
        let mut records = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            match serde_json::from_str::<JournalRecord>(line) {
                Ok(record) => records.push(record.entry),
                Err(_) if index + 1 == lines.len() => {
                    tracing::warn!(path = %path.display(), "ignoring a torn last journal line")
                }
                Err(e) => return Err(corrupt(index + 1, e.to_string())),
            }
        }
        let mut records = records.into_iter();
        let Some(JournalEntry::Started { plan }) = records.next() else {
            return Err(corrupt(
                1,
                "the journal does not start with the plan".into(),
            ));
        };
        let entries: Vec<JournalEntry> = records.collect();
        // A halted rollout that was retried appends after its first `finished`.
        let finished = matches!(entries.last(), Some(JournalEntry::Finished { .. }));
        Ok(JournalContents {
            plan: *plan,
            entries,
            finished,
        })
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Truncates the file after its last newline (a crash can leave half a line at the end).
fn cut_torn_tail(file: &File) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    (&*file).seek(SeekFrom::Start(0))?;
    (&*file).read_to_end(&mut bytes)?;
    let complete = bytes
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(0, |last| last + 1);
    if complete < bytes.len() {
        tracing::warn!("cutting off a torn last journal line before appending");
        file.set_len(u64::try_from(complete).unwrap_or(u64::MAX))?;
        file.sync_data()?;
    }
    Ok(())
}

/// Options creating files readable only by the owner (0600 on Unix).
pub(crate) fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}
