//! A development PKI: a CA, and certificates it signs for each service host (server and client use: each service
//! presents its server certificate as its client certificate for mTLS) and for operators' tools. Used by
//! `liaison dev-pki`, the compose init container and the end-to-end tests; not for production, where the
//! certificates come from the operator's own CA.
//!
//! Layout of the directory: `ca.pem` and `ca-key.pem`, then `<host>.pem` and `<host>-key.pem` per host (and
//! `<name>.pem`, `<name>-key.pem` per client). Private keys are written readable by their owner only (unix). The CA
//! is kept when it exists, so that certificates issued earlier stay trusted; host certificates are issued anew on
//! every run.
use super::TlsError;
use chrono::{Datelike, Days, NaiveDate, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The CA's certificate file.
pub const CA_CERT: &str = "ca.pem";
/// The CA's private key file.
pub const CA_KEY: &str = "ca-key.pem";

/// How long a host or client certificate is valid.
const LEAF_DAYS: u64 = 365;
/// How long the CA is valid: long enough that rerunning keeps it for the life of a development setup.
const CA_DAYS: u64 = 10 * 365;

/// Writes the CA (unless `dir` already holds one) and, for each host, `<host>.pem` and `<host>-key.pem`: a
/// certificate signed by the CA for the host, `localhost`, `127.0.0.1` and `::1`, for both server and client use.
/// Creates `dir` when missing.
pub fn write_development_certificates(dir: &Path, hosts: &[String]) -> Result<(), TlsError> {
    for host in hosts {
        check_name(host)?;
    }
    let ca = certificate_authority(dir)?;
    for host in hosts {
        let mut names = vec![host.clone()];
        for local in ["localhost", "127.0.0.1", "::1"] {
            if host != local {
                names.push(local.to_owned());
            }
        }
        let uses = [ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        issue(dir, &ca, host, names, &uses)?;
    }
    Ok(())
}

/// Writes `<name>.pem` and `<name>-key.pem`: a client certificate (for an operator's tool, e.g. grpcurl against
/// servers requiring mTLS) signed by the CA of `dir`, which is created as by [`write_development_certificates`]
/// when missing.
pub fn write_client_certificate(dir: &Path, name: &str) -> Result<(), TlsError> {
    check_name(name)?;
    let ca = certificate_authority(dir)?;
    issue(dir, &ca, name, Vec::new(), &[ExtendedKeyUsagePurpose::ClientAuth])
}

/// A name becomes a file name: it must stay inside the directory.
fn check_name(name: &str) -> Result<(), TlsError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':');
    if name.is_empty() || name.starts_with('.') || !name.chars().all(allowed) {
        return Err(TlsError::Invalid(format!(
            "{name:?} is not a usable host or client name (letters, digits, '.', '-', '_', ':'; not starting with '.')"
        )));
    }
    Ok(())
}

/// The CA of `dir`: the existing one, or a new one written there.
fn certificate_authority(dir: &Path) -> Result<Issuer<'static, KeyPair>, TlsError> {
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Write { path: dir.to_owned(), source })?;
    let (cert_path, key_path) = (dir.join(CA_CERT), dir.join(CA_KEY));
    match (cert_path.exists(), key_path.exists()) {
        (true, true) => existing_ca(&cert_path, &key_path),
        (false, false) => new_ca(&cert_path, &key_path),
        (true, false) => Err(half_a_ca(&cert_path, &key_path)),
        (false, true) => Err(half_a_ca(&key_path, &cert_path)),
    }
}

/// One half of a CA without the other: replacing it would silently distrust whatever the old CA signed.
fn half_a_ca(present: &Path, missing: &Path) -> TlsError {
    TlsError::Invalid(format!(
        "{} exists but {} does not: restore it, or remove both to create a new CA",
        present.display(),
        missing.display()
    ))
}

fn existing_ca(cert_path: &Path, key_path: &Path) -> Result<Issuer<'static, KeyPair>, TlsError> {
    let read =
        |path: &Path| std::fs::read_to_string(path).map_err(|source| TlsError::Read { path: path.to_owned(), source });
    let key = KeyPair::from_pem(&read(key_path)?)
        .map_err(|e| TlsError::Rejected { path: key_path.to_owned(), message: format!("not a usable CA key: {e}") })?;
    Issuer::from_ca_cert_pem(&read(cert_path)?, key).map_err(|e| TlsError::Rejected {
        path: cert_path.to_owned(),
        message: format!("not a usable CA certificate: {e}"),
    })
}

fn new_ca(cert_path: &Path, key_path: &Path) -> Result<Issuer<'static, KeyPair>, TlsError> {
    let generate = |source| TlsError::Generate { what: "the development CA".into(), source };
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::OrganizationName, "Liaison");
    // A name of its own: certificates of another development CA are then refused as unknown, not as forged.
    let id: u32 = rand::random();
    params.distinguished_name.push(DnType::CommonName, format!("Liaison development CA {id:08x}"));
    // Signs end-entity certificates only.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    set_validity(&mut params, CA_DAYS)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(generate)?;
    let certificate = params.self_signed(&key).map_err(generate)?;
    // The key first: a certificate without its key would make the next run refuse the directory.
    write(key_path, &key.serialize_pem(), true)?;
    write(cert_path, &certificate.pem(), false)?;
    Ok(Issuer::new(params, key))
}

/// Issues `<name>.pem` and `<name>-key.pem`, signed by `ca`.
fn issue(
    dir: &Path,
    ca: &Issuer<'static, KeyPair>,
    name: &str,
    subject_alt_names: Vec<String>,
    uses: &[ExtendedKeyUsagePurpose],
) -> Result<(), TlsError> {
    let generate = |source| TlsError::Generate { what: format!("the certificate of {name:?}"), source };
    let mut params = CertificateParams::new(subject_alt_names).map_err(generate)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = uses.to_vec();
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, LEAF_DAYS)?;
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(generate)?;
    let certificate = params.signed_by(&key, ca).map_err(generate)?;
    let (cert_path, key_path) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}-key.pem")));
    write(&key_path, &key.serialize_pem(), true)?;
    write(&cert_path, &certificate.pem(), false)
}

/// From yesterday (clocks of containers and hosts disagree a little) for `days`.
fn set_validity(params: &mut CertificateParams, days: u64) -> Result<(), TlsError> {
    let today = Utc::now().date_naive();
    let out_of_range = || TlsError::Invalid(format!("a validity of {days} days from {today} is out of range"));
    let from = today.checked_sub_days(Days::new(1)).ok_or_else(out_of_range)?;
    let until = today.checked_add_days(Days::new(days)).ok_or_else(out_of_range)?;
    let date = |day: NaiveDate| -> Result<_, TlsError> {
        let month = u8::try_from(day.month()).map_err(|_| out_of_range())?;
        let day_of_month = u8::try_from(day.day()).map_err(|_| out_of_range())?;
        Ok(rcgen::date_time_ymd(day.year(), month, day_of_month))
    };
    params.not_before = date(from)?;
    params.not_after = date(until)?;
    Ok(())
}

/// Writes `contents` to `path` through a temporary file renamed over it, so that a server re-reading its files
/// never sees a half-written one; a private key is readable by its owner only.
fn write(path: &Path, contents: &str, private: bool) -> Result<(), TlsError> {
    let error = |source| TlsError::Write { path: path.to_owned(), source };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    // A leftover of an interrupted run would keep its old permissions: the mode below applies to new files only.
    let _ = std::fs::remove_file(&temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&temporary).map_err(error)?;
    file.write_all(contents.as_bytes()).and_then(|()| file.sync_all()).map_err(error)?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(error)
}
