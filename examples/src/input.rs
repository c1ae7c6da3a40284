//! Reading the tools' file and stdin inputs with a size bound, so a wrong file or an
//! endless stream fails at once with an invalid-input error (exit 2).

use std::path::Path;

use factory_client::schematic::MAX_SCHEMATIC_BYTES;

use crate::exit::invalid_input;

/// The schematic text from `file`, or stdin for `None` and `-`, read at most one byte past
/// [`MAX_SCHEMATIC_BYTES`] (an endless stdin stops at once).
///
/// # Errors
/// Invalid input: unreadable, not UTF-8 or too large.
pub fn read_schematic_text(file: Option<&Path>) -> anyhow::Result<String> {
    let (what, read) = match file {
        Some(path) if path.as_os_str() != "-" => (
            path.display().to_string(),
            std::fs::File::open(path).and_then(|file| {
                sdk_support::limits::read_to_string_capped(file, MAX_SCHEMATIC_BYTES)
            }),
        ),
        _ => (
            "stdin".to_owned(),
            sdk_support::limits::read_to_string_capped(
                std::io::stdin().lock(),
                MAX_SCHEMATIC_BYTES,
            ),
        ),
    };
    read.map_err(|err| invalid_input(format!("cannot read the schematic from {what}: {err}; give a schematic file of at most {MAX_SCHEMATIC_BYTES} bytes")))
}
