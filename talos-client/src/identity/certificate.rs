//! Checks on the CA and client certificates: CA flag, expiry and the roles they carry.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls_pki_types::CertificateDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::error::{IdentityError, IdentityProblem};
use super::role::{Role, Roles};

/// Fails unless every certificate in `field` is a CA certificate.
pub(super) fn require_ca(
    certificates: &[CertificateDer<'_>],
    field: &'static str,
) -> Result<(), IdentityError> {
    for der in certificates {
        if !parse(der, field)?.is_ca() {
            return Err(IdentityError::invalid(field, IdentityProblem::NotACa));
        }
    }
    Ok(())
}

/// Fails unless the top certificate of `chain` is signed by one of `cas`.
pub(super) fn require_issued_by(
    chain: &[CertificateDer<'_>],
    cas: &[CertificateDer<'_>],
    field: &'static str,
) -> Result<(), IdentityError> {
    let Some(top) = chain.last() else {
        return Err(IdentityError::invalid(
            field,
            IdentityProblem::NoCertificate,
        ));
    };
    let top = parse(top, field)?;
    for ca in cas {
        let ca = parse(ca, field)?;
        if top.verify_signature(Some(ca.public_key())).is_ok() {
            return Ok(());
        }
    }
    Err(IdentityError::invalid(
        field,
        IdentityProblem::NotIssuedByCa,
    ))
}

/// What the identity keeps from its client certificate.
pub(super) struct ClientCertificate {
    /// The roles in the Subject Organization.
    pub(super) roles: Roles,
    /// The end of the validity period.
    pub(super) not_after: SystemTime,
}

/// Checks the client certificate is unexpired at `now` and reads its roles and expiry.
pub(super) fn client_certificate(
    der: &CertificateDer<'_>,
    field: &'static str,
    now: SystemTime,
) -> Result<ClientCertificate, IdentityError> {
    let certificate = parse(der, field)?;
    let not_after = certificate.validity().not_after;
    if not_after.timestamp() < unix_seconds(now) {
        let expired_at = not_after
            .to_rfc2822()
            .unwrap_or_else(|_| not_after.to_string());
        return Err(IdentityError::invalid(
            field,
            IdentityProblem::CertificateExpired { expired_at },
        ));
    }
    let roles = certificate
        .subject()
        .iter_organization()
        .filter_map(|attribute| attribute.as_str().ok())
        .map(Role::from)
        .collect();
    let seconds_after_epoch = u64::try_from(not_after.timestamp()).unwrap_or(0);
    Ok(ClientCertificate {
        roles,
        not_after: UNIX_EPOCH + Duration::from_secs(seconds_after_epoch),
    })
}

fn parse<'a>(
    der: &'a CertificateDer<'_>,
    field: &'static str,
) -> Result<X509Certificate<'a>, IdentityError> {
    X509Certificate::from_der(der.as_ref())
        .map(|(_, certificate)| certificate)
        .map_err(|err| {
            IdentityError::invalid(
                field,
                IdentityProblem::InvalidCertificate {
                    detail: err.to_string(),
                },
            )
        })
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}
