//! Secrets that sit inside an `ExtensionServiceConfig`'s files (a password in a config
//! file, not an environment entry): written to the repository as `${VARIABLE}` references
//! that talhelper substitutes in patch files, and matched back against the live file when
//! checking for drift.

use secrecy::ExposeSecret;

use rollout_core::ExtensionServiceConfig;

use crate::profile::SecretValue;

/// `esc` with every occurrence of each secret value in its files replaced by `${VARIABLE}`,
/// and the variables it now references.
pub(crate) fn reference_file_secrets(
    esc: &ExtensionServiceConfig,
    secrets: &[SecretValue],
) -> (ExtensionServiceConfig, Vec<String>) {
    let mut referenced = Vec::new();
    let mut esc = esc.clone();
    for file in &mut esc.config_files {
        for secret in secrets {
            let value = secret.value.expose_secret();
            if !value.is_empty() && file.content.contains(value) {
                file.content = file
                    .content
                    .replace(value, &format!("${{{}}}", secret.variable));
                referenced.push(secret.variable.clone());
            }
        }
    }
    referenced.sort();
    referenced.dedup();
    (esc, referenced)
}

/// `live` as the repository would declare it: each file whose declared content holds
/// `${VARIABLE}` references and otherwise matches the live content takes the declared
/// text, so that the digests agree without the secret being known.
pub(crate) fn as_declared(
    declared: &ExtensionServiceConfig,
    live: &ExtensionServiceConfig,
) -> ExtensionServiceConfig {
    let mut live = live.clone();
    for file in &mut live.config_files {
        let template = declared
            .config_files
            .iter()
            .find(|declared| declared.mount_path == file.mount_path);
        if let Some(template) = template
            && template.content.contains("${")
            && matches_template(&tokens(&template.content), &file.content)
        {
            file.content.clone_from(&template.content);
        }
    }
    live
}

/// A piece of a file template: literal text or a `${VARIABLE}` reference.
#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Literal(&'a str),
    Reference,
}

fn tokens(template: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let Some(length) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 2..start + length];
        if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
            tokens.push(Token::Literal(&rest[..start + 2]));
            rest = &rest[start + 2..];
            continue;
        }
        if start > 0 {
            tokens.push(Token::Literal(&rest[..start]));
        }
        tokens.push(Token::Reference);
        rest = &rest[start + length + 1..];
    }
    if !rest.is_empty() {
        tokens.push(Token::Literal(rest));
    }
    tokens
}

/// Whether `text` is the template with each reference standing for one non-empty word
/// (no whitespace); backtracking is bounded by the length of that word.
fn matches_template(tokens: &[Token<'_>], text: &str) -> bool {
    match tokens.split_first() {
        None => text.is_empty(),
        Some((Token::Literal(literal), rest)) => text
            .strip_prefix(literal)
            .is_some_and(|text| matches_template(rest, text)),
        Some((Token::Reference, rest)) => {
            let word = text.find(char::is_whitespace).unwrap_or(text.len());
            text[..word]
                .char_indices()
                .map(|(index, c)| index + c.len_utf8())
                .any(|end| matches_template(rest, &text[end..]))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use rollout_core::esc::EscConfigFile;
    use secrecy::SecretString;

    use super::*;

    fn esc(content: &str) -> ExtensionServiceConfig {
        ExtensionServiceConfig {
            name: "nut-client".into(),
            config_files: vec![EscConfigFile {
                content: content.into(),
                mount_path: "/usr/local/etc/nut/upsmon.conf".into(),
            }],
            environment: vec![],
        }
    }

    fn password() -> SecretValue {
        SecretValue {
            variable: "NUT_PASSWORD".into(),
            value: SecretString::from("hunter2-not-real"),
        }
    }

    #[test]
    fn a_password_in_a_file_becomes_a_reference() {
        let live = esc("MONITOR ups@10.0.0.5 1 upsmon hunter2-not-real secondary\n");
        let (written, referenced) = reference_file_secrets(&live, &[password()]);
        assert_eq!(
            written.config_files[0].content,
            "MONITOR ups@10.0.0.5 1 upsmon ${NUT_PASSWORD} secondary\n"
        );
        assert_eq!(referenced, ["NUT_PASSWORD"]);
        assert_eq!(as_declared(&written, &live), written);
    }

    #[test]
    fn a_different_file_still_differs() {
        let declared = esc("MONITOR ups@10.0.0.5 1 upsmon ${NUT_PASSWORD} secondary\n");
        for live in [
            "MONITOR ups@10.0.0.6 1 upsmon hunter2 secondary\n",
            "MONITOR ups@10.0.0.5 1 upsmon  secondary\n",
            "MONITOR ups@10.0.0.5 1 upsmon two words secondary\n",
            "MONITOR ups@10.0.0.5 1 upsmon hunter2 primary\n",
        ] {
            assert_ne!(as_declared(&declared, &esc(live)), declared, "{live}");
        }
    }

    #[test]
    fn references_next_to_text_and_malformed_ones() {
        let template = tokens("a${X}@${Y}:${ z}$");
        assert!(matches_template(&template, "aone@two:${ z}$"));
        assert!(!matches_template(&template, "a@two:${ z}$"));
    }
}
