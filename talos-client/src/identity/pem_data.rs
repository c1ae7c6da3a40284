//! Decoding the PEM blocks of a client identity, including the upstream Ed25519 key label.

use rustls_pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};

use super::error::{IdentityError, IdentityProblem};

/// Label Talos (siderolabs/crypto) writes on Ed25519 keys; the body is PKCS#8 DER.
const UPSTREAM_ED25519_LABEL: &str = "ED25519 PRIVATE KEY";

/// Every `CERTIFICATE` block in `pem`, in order; `field` names the value in errors.
pub(super) fn certificates(
    pem: &[u8],
    field: &'static str,
) -> Result<Vec<CertificateDer<'static>>, IdentityError> {
    let blocks = blocks(pem, field, "CERTIFICATE")?;
    let certificates: Vec<CertificateDer<'static>> = blocks
        .into_iter()
        .filter(|block| block.tag() == "CERTIFICATE")
        .map(|block| CertificateDer::from(block.into_contents()))
        .collect();
    if certificates.is_empty() {
        return Err(IdentityError::invalid(
            field,
            IdentityProblem::NoCertificate,
        ));
    }
    Ok(certificates)
}

/// The first private key in `pem`, with its encoding taken from the PEM label.
///
/// `ED25519 PRIVATE KEY` is treated as `PRIVATE KEY` (PKCS#8), which is what its body is.
pub(super) fn private_key(
    pem: &[u8],
    field: &'static str,
) -> Result<PrivateKeyDer<'static>, IdentityError> {
    for block in blocks(pem, field, "PRIVATE KEY")? {
        let label = block.tag().to_owned();
        let der = block.into_contents();
        match label.as_str() {
            "PRIVATE KEY" | UPSTREAM_ED25519_LABEL => {
                return Ok(PrivatePkcs8KeyDer::from(der).into());
            }
            "EC PRIVATE KEY" => return Ok(PrivateSec1KeyDer::from(der).into()),
            "RSA PRIVATE KEY" => return Ok(PrivatePkcs1KeyDer::from(der).into()),
            other if other.ends_with("PRIVATE KEY") => {
                return Err(IdentityError::invalid(
                    field,
                    IdentityProblem::UnsupportedKey {
                        kind: format!("PEM label \"{other}\""),
                    },
                ));
            }
            _ => {}
        }
    }
    Err(IdentityError::invalid(field, IdentityProblem::NoPrivateKey))
}

/// All PEM blocks in `pem`; an error when there is none or the framing is broken.
fn blocks(
    pem: &[u8],
    field: &'static str,
    expected: &'static str,
) -> Result<Vec<::pem::Pem>, IdentityError> {
    let not_pem = || IdentityError::invalid(field, IdentityProblem::NotPem { expected });
    let blocks = ::pem::parse_many(pem).map_err(|_| not_pem())?;
    if blocks.is_empty() {
        return Err(not_pem());
    }
    Ok(blocks)
}
