//! Signing keys and minted tokens for development and tests: the all-in-one's key (`liaison-data/
//! dev-signing-key.pem`), `liaison token`, and the development PKI's service tokens (`liaison dev-pki`). An
//! Ed25519 key (EdDSA tokens), kept as PKCS#8 PEM in a file only its owner can read; its public half is published
//! as a JWKS whose `kid` is the key's RFC 7638 thumbprint, so a rotated key never collides with the old one.
use crate::auth::identity::Roles;
use crate::auth::jwt::{KeyError, crypto_provider};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The issuer (`iss`) of development tokens.
pub const DEV_ISSUER: &str = "liaison-dev";
/// The audience (`aud`) Liaison's servers expect unless configured otherwise.
pub const DEFAULT_AUDIENCE: &str = "liaison";
/// The longest `sub` (as the verifier accepts).
const SUBJECT_MAX: usize = 200;

/// An Ed25519 signing key.
pub struct DevKey {
    /// PKCS#8 PEM, as stored.
    pem: String,
    /// The raw 32-byte public key.
    public: Vec<u8>,
    kid: String,
    encoding: EncodingKey,
}

impl fmt::Debug for DevKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// What a minted token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintClaims {
    /// `sub`, e.g. `jane` or `service:scheduling`.
    pub subject: String,
    pub roles: Roles,
    /// `name`, if any.
    pub display_name: Option<String>,
    pub issuer: String,
    pub audience: String,
    /// How long from now the token is valid (`exp`).
    pub ttl: Duration,
    /// `nbf`, if the token should become valid later (or is back-dated).
    pub not_before: Option<SystemTime>,
    /// `contact`: the person's own `contacts/{id}`, if any.
    pub contact: Option<String>,
}

impl MintClaims {
    /// A development token for `subject`: issuer [`DEV_ISSUER`], audience [`DEFAULT_AUDIENCE`], one hour.
    pub fn new(subject: impl Into<String>, roles: Roles) -> Self {
        Self {
            subject: subject.into(),
            roles,
            display_name: None,
            issuer: DEV_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            ttl: Duration::from_secs(3600),
            not_before: None,
            contact: None,
        }
    }
}

impl DevKey {
    /// A new random key.
    pub fn generate() -> Result<Self, KeyError> {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519)
            .map_err(|e| KeyError::Invalid(format!("cannot generate an Ed25519 key: {e}")))?;
        Self::from_pem(&pair.serialize_pem())
    }

    /// The key in `pem` (PKCS#8 Ed25519).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        crypto_provider()?;
        let pair = rcgen::KeyPair::from_pem(pem)
            .map_err(|e| KeyError::Invalid(format!("not a PKCS#8 private key in PEM: {e}")))?;
        if pair.algorithm() != &rcgen::PKCS_ED25519 {
            return Err(KeyError::Invalid("the signing key must be an Ed25519 key".to_owned()));
        }
        let public = pair.public_key_raw().to_vec();
        let encoding = EncodingKey::from_ed_pem(pem.as_bytes())
            .map_err(|e| KeyError::Invalid(format!("not a usable Ed25519 key: {e}")))?;
        let kid = thumbprint(&public);
        Ok(Self { pem: pem.to_owned(), public, kid, encoding })
    }

    /// The key stored at `path`.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let pem = std::fs::read_to_string(path).map_err(|source| KeyError::Io { path: path.to_owned(), source })?;
        warn_if_readable_by_others(path);
        Self::from_pem(&pem).map_err(|e| KeyError::Invalid(format!("{}: {e}", path.display())))
    }

    /// The key stored at `path`, created there (with its directory; readable by its owner only) if absent. Two
    /// processes creating it at once end up with the same key: the file appears whole or not at all.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        match std::fs::metadata(path) {
            Ok(_) => return Self::load(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(KeyError::Io { path: path.to_owned(), source }),
        }
        let key = Self::generate()?;
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| KeyError::Io { path: dir.to_owned(), source })?;
        }
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let temporary = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
        write_private(&temporary, key.pem.as_bytes())?;
        // A hard link fails if the file appeared meanwhile, where a rename would replace another process's key.
        let linked = std::fs::hard_link(&temporary, path);
        let _ = std::fs::remove_file(&temporary);
        match linked {
            Ok(()) => Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load(path),
            Err(_) => {
                // A file system without hard links: write in place, refusing to replace an existing file.
                write_private_new(path, key.pem.as_bytes())?;
                Ok(key)
            }
        }
    }

    /// The key id: the RFC 7638 SHA-256 thumbprint of the public key, base64url.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The PKCS#8 PEM of the private key (to store it).
    pub fn private_pem(&self) -> &str {
        &self.pem
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(&self.public),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }

    /// The JWKS (`{"keys": [ … ]}`) that verifies this key's tokens.
    pub fn jwks(&self) -> String {
        json!({ "keys": [self.jwk()] }).to_string()
    }

    /// A signed EdDSA token with these claims (`kid` in its header).
    pub fn mint(&self, claims: &MintClaims) -> Result<String, KeyError> {
        let subject = &claims.subject;
        if subject.trim().is_empty() || subject.chars().count() > SUBJECT_MAX || subject.chars().any(char::is_control) {
            return Err(KeyError::Invalid(format!(
                "the subject must be 1 to {SUBJECT_MAX} printable characters, not {subject:?}"
            )));
        }
        if claims.ttl.is_zero() {
            return Err(KeyError::Invalid("the token's lifetime must be longer than zero".to_owned()));
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let exp = now
            .checked_add(claims.ttl.as_secs().max(1))
            .ok_or_else(|| KeyError::Invalid("the token's lifetime is too long".to_owned()))?;
        let mut body = json!({
            "iss": claims.issuer,
            "aud": claims.audience,
            "sub": subject,
            "iat": now,
            "exp": exp,
            "roles": claims.roles.iter().map(|role| role.as_str()).collect::<Vec<_>>(),
        });
        if let Some(name) = &claims.display_name {
            body["name"] = json!(name);
        }
        if let Some(contact) = &claims.contact {
            body["contact"] = json!(contact);
        }
        if let Some(not_before) = claims.not_before {
            let nbf = not_before.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
            body["nbf"] = json!(nbf);
        }
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".to_owned());
        jsonwebtoken::encode(&header, &body, &self.encoding)
            .map_err(|e| KeyError::Invalid(format!("cannot sign the token: {e}")))
    }
}

/// RFC 7638: SHA-256 of the required members in lexicographic order, without whitespace.
fn thumbprint(public: &[u8]) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, URL_SAFE_NO_PAD.encode(public));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Writes `bytes` to `path` (replacing it), readable and writable by the owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    write_with(path, bytes, false)
}

/// As [`write_private`], failing if the file exists.
fn write_private_new(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    write_with(path, bytes, true)
}

fn write_with(path: &Path, bytes: &[u8], new: bool) -> Result<(), KeyError> {
    let io = |source| KeyError::Io { path: PathBuf::from(path), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    // `mode` applies only when the file is created; an existing file is narrowed too.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path)
            && metadata.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the signing key can be read by other users; chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    #[test]
    fn a_key_is_created_once_with_owner_only_permissions_and_loaded_after() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("nested/dev-signing-key.pem");
        let created = DevKey::load_or_create(&path).expect("created");
        let loaded = DevKey::load_or_create(&path).expect("loaded");
        assert_eq!(created.kid(), loaded.kid(), "the second call loads the same key");
        assert_eq!(DevKey::load(&path).expect("load").kid(), created.kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("metadata").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind: {leftovers:?}");
    }

    #[test]
    fn a_file_that_is_not_an_ed25519_key_is_refused_with_its_name() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("key.pem");
        std::fs::write(&path, "not a key").expect("write");
        let error = DevKey::load(&path).expect_err("refused");
        assert!(error.to_string().contains("key.pem"), "{error}");
        let ecdsa = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("ecdsa");
        let error = DevKey::from_pem(&ecdsa.serialize_pem()).expect_err("refused");
        assert!(error.to_string().contains("Ed25519"), "{error}");
    }

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint_and_the_jwks_publishes_it() {
        // RFC 8037 appendix A.3: the thumbprint of its example Ed25519 key.
        let public = URL_SAFE_NO_PAD.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").expect("x");
        assert_eq!(thumbprint(&public), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");

        let key = DevKey::generate().expect("key");
        let jwks: Value = serde_json::from_str(&key.jwks()).expect("json");
        let jwk = &jwks["keys"][0];
        assert_eq!((jwk["kty"].as_str(), jwk["crv"].as_str()), (Some("OKP"), Some("Ed25519")));
        assert_eq!((jwk["alg"].as_str(), jwk["use"].as_str()), (Some("EdDSA"), Some("sig")));
        assert_eq!(jwk["kid"].as_str(), Some(key.kid()));
        assert!(jwk.get("d").is_none(), "the private key is never published");
        assert_ne!(key.kid(), DevKey::generate().expect("other").kid());
    }

    #[test]
    fn a_minted_token_carries_the_claims_and_the_kid() {
        let key = DevKey::generate().expect("key");
        let mut claims = MintClaims::new("jane", Roles::of(&[Role::Officer, Role::Admin]));
        claims.display_name = Some("Jane Doe".to_owned());
        let token = key.mint(&claims).expect("minted");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::EdDSA, Some(key.kid())));
        let body: Value = jsonwebtoken::dangerous::insecure_decode_claims(&token).expect("claims");
        assert_eq!(body["sub"], "jane");
        assert_eq!(body["roles"], json!(["officer", "admin"]));
        assert_eq!(body["name"], "Jane Doe");
        assert_eq!((body["iss"].as_str(), body["aud"].as_str()), (Some(DEV_ISSUER), Some(DEFAULT_AUDIENCE)));
        let (iat, exp) = (body["iat"].as_u64().expect("iat"), body["exp"].as_u64().expect("exp"));
        assert_eq!(exp - iat, 3600);
        for bad in ["", "  ", "a\nb"] {
            assert!(key.mint(&MintClaims::new(bad, Roles::NONE)).is_err(), "{bad:?}");
        }
    }
}
