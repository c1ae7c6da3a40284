//! `cargo xtask contracts`: writes the part of Tailscale's OpenAPI document that
//! tailscale-client's contract test checks from `../shared` into a committed fixture, so
//! the tests need nothing outside the repository.

#[path = "../../tailscale-client/tests/contract/subset.rs"]
mod subset;

use std::fs;
use std::path::Path;

use anyhow::{Context, anyhow, bail};

use subset::{SPEC_FROM_ROOT, SUBSET_FROM_ROOT};

/// Extracts the subset from the shared document and writes the committed fixture.
pub(crate) fn write(root: &Path) -> anyhow::Result<()> {
    let Some(text) = expected(root)? else {
        bail!(
            "{} not found: put the shared contracts folder beside the workspace root",
            root.join(SPEC_FROM_ROOT).display()
        );
    };
    let path = root.join(SUBSET_FROM_ROOT);
    fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {SUBSET_FROM_ROOT}");
    Ok(())
}

/// Fails when the committed fixture differs from what the shared document gives; skips,
/// successfully, when the shared document is absent.
pub(crate) fn check(root: &Path) -> anyhow::Result<()> {
    let Some(expected) = expected(root)? else {
        eprintln!(
            "skipped: {} is absent, so {SUBSET_FROM_ROOT} was not compared with it",
            root.join(SPEC_FROM_ROOT).display()
        );
        return Ok(());
    };
    let path = root.join(SUBSET_FROM_ROOT);
    let state = match fs::read_to_string(&path) {
        Ok(actual) if actual == expected => {
            eprintln!("{SUBSET_FROM_ROOT} is up to date");
            return Ok(());
        }
        Ok(_) => "out of date",
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "missing",
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    bail!(
        "{SUBSET_FROM_ROOT} is stale ({state}): run `cargo xtask contracts` and commit the result"
    )
}

fn expected(root: &Path) -> anyhow::Result<Option<String>> {
    subset::expected_subset(root).map_err(|e| anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A workspace root `proj` with the committed subset standing in as the shared
    /// document (the extraction is a fixed point on it), or without a shared folder.
    fn layout(with_shared: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("proj");
        let fixture = root.join(SUBSET_FROM_ROOT);
        fs::create_dir_all(fixture.parent().unwrap()).unwrap();
        fs::write(&fixture, "{}\n").unwrap();
        if with_shared {
            let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(SUBSET_FROM_ROOT);
            let spec = root.join(SPEC_FROM_ROOT);
            fs::create_dir_all(spec.parent().unwrap()).unwrap();
            fs::copy(committed, spec).unwrap();
        }
        dir
    }

    #[test]
    fn check_passes_without_the_shared_folder() {
        let dir = layout(false);
        check(&dir.path().join("proj")).unwrap();
    }

    #[test]
    fn check_names_the_stale_file_and_write_makes_it_current() {
        let dir = layout(true);
        let root = dir.path().join("proj");
        let err = check(&root).unwrap_err().to_string();
        assert!(
            err.contains(SUBSET_FROM_ROOT) && err.contains("out of date"),
            "{err}"
        );
        write(&root).unwrap();
        check(&root).unwrap();
    }

    #[test]
    fn check_reports_a_missing_fixture() {
        let dir = layout(true);
        let root = dir.path().join("proj");
        fs::remove_file(root.join(SUBSET_FROM_ROOT)).unwrap();
        let err = check(&root).unwrap_err().to_string();
        assert!(err.contains("(missing)"), "{err}");
    }
}
