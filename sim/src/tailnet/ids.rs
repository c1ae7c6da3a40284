//! Identifiers and key material in the shapes Tailscale uses (`k…CNTRL`, `n…CNTRL`, `nodekey:…`).

use rand::Rng;
use rand::distr::Alphanumeric;

/// `len` random letters and digits.
pub(crate) fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn stable_id(prefix: char) -> String {
    format!("{prefix}{}CNTRL", random_token(10))
}

/// An auth key id (`k…CNTRL`).
pub(crate) fn key_id() -> String {
    stable_id('k')
}

/// A device's preferred id (`n…CNTRL`).
pub(crate) fn node_id() -> String {
    stable_id('n')
}

/// A user id (`u…CNTRL`).
pub(crate) fn user_id() -> String {
    stable_id('u')
}

/// A public key in Tailscale's text form, e.g. `nodekey:<64 hex>`.
pub(crate) fn public_key(kind: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}:{hex}")
}
