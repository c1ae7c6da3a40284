//! Bounds every parser of the SDK applies to untrusted text.

/// Deepest nesting of collections (mappings, sequences, objects, arrays) a parser accepts,
/// so that hostile or corrupt input fails with an error instead of exhausting the stack.
pub const MAX_NESTING: usize = 128;

/// Reads `reader` to its end as UTF-8 text, stopping one byte past `max` bytes, so an
/// endless or huge input (`/dev/zero`, a wrong file) fails quickly with bounded memory.
///
/// # Errors
/// An [`std::io::ErrorKind::InvalidData`] error saying the input exceeds `max` bytes, or
/// is not UTF-8; the reader's own I/O errors.
///
/// # Usage
/// ```
/// use sdk_support::limits::read_to_string_capped;
///
/// assert_eq!(read_to_string_capped(&b"abc"[..], 3)?, "abc");
/// assert!(read_to_string_capped(&b"abcd"[..], 3).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_to_string_capped(reader: impl std::io::Read, max: usize) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    reader.take(limit).read_to_end(&mut bytes)?;
    if bytes.len() > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the input is larger than {max} bytes"),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the input is not UTF-8 text",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_reader_stops_one_byte_past_the_bound() {
        let error = read_to_string_capped(std::io::repeat(0), 1024).map(|text| text.len());
        assert!(
            error
                .as_ref()
                .is_err_and(|error| error.to_string().contains("larger than 1024 bytes")),
            "{error:?}"
        );
        assert_eq!(
            read_to_string_capped(&[b'a'; 1024][..], 1024)
                .ok()
                .map(|t| t.len()),
            Some(1024)
        );
        assert!(read_to_string_capped(&[0xff][..], 8).is_err());
    }
}
