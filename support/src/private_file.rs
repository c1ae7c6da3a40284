//! Writing a file only its owner may read, atomically: readers see the old bytes or the
//! new ones, never a mix, and nobody else can read it at any moment.

use std::io::{self, Write as _};
use std::path::Path;

/// Writes `bytes` to `path`, replacing any existing file atomically, so that only the
/// owner can read it (mode `0600` on Unix).
///
/// The bytes go to a temporary file in the same directory, created `0600` from the start,
/// which is flushed to disk and renamed over `path`; the directory is then flushed so the
/// rename survives a crash. Missing parent directories are created `0700`; existing ones
/// are left as they are.
///
/// # Errors
/// The I/O error of the step that failed (creating a directory, the temporary file,
/// writing, syncing or renaming); `path` keeps its previous content and no temporary file
/// is left behind. An `InvalidInput` error when `path` names no file.
///
/// # Usage
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("secrets/talosconfig");
/// sdk_support::private_file::write(&path, b"context: demo\n")?;
/// assert_eq!(std::fs::read(&path)?, b"context: demo\n");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let file_name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} names no file; give a file path", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    create_dirs(dir)?;

    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(file_name);
    prefix.push(".");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let mut temp = builder.tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|failed| failed.error)?;
    sync_dir(dir)
}

/// Creates `dir` and its missing parents, each `0700` on Unix (existing ones are left as
/// they are), for directories that will hold private files.
///
/// # Errors
/// The I/O error of the directory that could not be created.
///
/// # Usage
/// ```
/// # let dir = tempfile::tempdir()?;
/// sdk_support::private_file::create_dirs(&dir.path().join("artifacts/home"))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn create_dirs(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Flushes a directory's entries (the rename) to disk where the platform allows it.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Read as _;
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_file_and_its_new_parents_are_private() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("a/b/secret.yaml");

        write(&path, b"token").unwrap();

        assert_eq!(std::fs::read(&path).unwrap(), b"token");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&root.path().join("a")), 0o700);
        assert_eq!(mode(&root.path().join("a/b")), 0o700);
    }

    #[test]
    fn an_existing_file_is_replaced_atomically_and_made_private() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("config");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let inode_before = std::fs::metadata(&path).unwrap().ino();
        let mut reader_of_old = std::fs::File::open(&path).unwrap();

        write(&path, b"new and longer").unwrap();

        assert_eq!(std::fs::read(&path).unwrap(), b"new and longer");
        assert_eq!(mode(&path), 0o600);
        // A rename, not a rewrite in place: the old file is untouched for its readers.
        assert_ne!(std::fs::metadata(&path).unwrap().ino(), inode_before);
        let mut old = Vec::new();
        reader_of_old.read_to_end(&mut old).unwrap();
        assert_eq!(old, b"old");
    }

    #[test]
    fn no_temporary_file_is_left_behind() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("config");

        write(&path, b"one").unwrap();
        write(&path, b"two").unwrap();

        let names: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("config")]);
    }

    #[test]
    fn existing_parent_directories_keep_their_mode() {
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();

        write(&shared.join("key"), b"k").unwrap();

        assert_eq!(mode(&shared), 0o755);
        assert_eq!(mode(&shared.join("key")), 0o600);
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        let err = write(Path::new("/"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
