//! Bearer-token verification: JWTs checked with `jsonwebtoken` (its `rust_crypto` backend) against a JWKS (a
//! file, an HTTPS URL or an in-memory document) or, for development only, an HS256 shared secret.
//!
//! What makes this safe rather than merely working:
//! - the algorithm comes from the key (its JWK `alg`, or what its `kty`/`crv` imply), never from the token: a
//!   token whose header names another algorithm is refused, so a public key can never be used as an HMAC secret
//!   and `alg: none` is never accepted;
//! - `iss`, `aud` and `exp` are required, `nbf` is checked when present, all with the configured leeway;
//! - keys are re-read on a timer and when a token names an unknown `kid` (at most once per `refetch_floor`, so a
//!   flood of made-up key ids cannot turn into a flood of fetches), and a failed re-read keeps the old keys;
//! - a verified token is cached under the SHA-256 of its text until its `exp`, so a call with a token seen before
//!   costs a hash and a lookup; the cache never answers for an expired token and is emptied when the keys change.
//!
//! Refusals are [`TokenError`]s, each with a stable reason for `google.rpc.ErrorInfo`; their messages say what
//! is wrong with the token and never include key material.
use crate::auth::identity::{Identity, Role, Roles};
use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Longer tokens are refused before any work (real ones are well under 2 KiB).
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Verified tokens kept; beyond this the expired go first, then arbitrary ones.
const CACHE_CAPACITY: usize = 10_000;
/// The longest a JWKS fetch may take, connection and body included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A JWKS larger than this is refused (a real one is a few KiB).
const MAX_JWKS_BYTES: usize = 1 << 20;
/// The longest `sub` accepted, as for `liaison-actor`.
const SUBJECT_MAX: usize = 200;
/// RSA keys shorter than this are not trusted.
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// Where the verification keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A JWKS document on disk (re-read on the refresh timer and on an unknown `kid`).
    JwksFile(PathBuf),
    /// A JWKS served over HTTPS; `ca_file` overrides the web PKI roots (e.g. a private issuer).
    JwksUrl { url: String, ca_file: Option<PathBuf> },
    /// A JWKS held in memory (the development key, tests).
    Jwks(String),
    /// HS256 with a shared secret: development only, configured explicitly.
    SharedSecret(Vec<u8>),
}

/// What a valid token must be.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub keys: KeySource,
    /// The required `iss`.
    pub issuer: String,
    /// The required `aud` (one of the token's audiences).
    pub audience: String,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// How often a JWKS file or URL is re-read.
    pub refresh: Duration,
    /// The least time between two re-reads prompted by unknown `kid`s.
    pub refetch_floor: Duration,
}

impl TokenSettings {
    /// Settings with the usual timings: 30 s leeway, a re-read every 5 minutes, at most one unknown-`kid`
    /// re-read every 10 seconds.
    pub fn new(keys: KeySource, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            keys,
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: Duration::from_secs(30),
            refresh: Duration::from_secs(300),
            refetch_floor: Duration::from_secs(10),
        }
    }
}

/// Why keys could not be loaded (or, in [`crate::auth::keys`], made or used).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("JWKS {url}: {message}")]
    Fetch { url: String, message: String },
}

/// Why a token was refused; each has a stable reason for `google.rpc.ErrorInfo`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON, too long, or a claim of the wrong type.
    #[error("the token is not a well-formed JWT: {0}")]
    Malformed(&'static str),
    /// `alg: none`, an algorithm not supported, or one other than its key's.
    #[error("{0}")]
    Algorithm(String),
    #[error("the token has expired (its exp is past, beyond the allowed clock skew): get a new one")]
    Expired,
    #[error("the token is not valid yet (its nbf is in the future, beyond the allowed clock skew)")]
    NotYetValid,
    #[error("the token's issuer (iss) is missing or is not the trusted issuer '{expected}'")]
    Issuer { expected: String },
    #[error("the token's audience (aud) is missing or does not include '{expected}'")]
    Audience { expected: String },
    /// The token names a key (`kid`) that is not among the trusted keys, even after a re-read.
    #[error("{0}")]
    UnknownKey(String),
    #[error("the token's signature does not verify: it was altered, or signed by a key this server does not trust")]
    Signature,
    #[error("the token's subject (sub) {0}")]
    Subject(&'static str),
}

impl TokenError {
    /// The ErrorInfo reason, e.g. `TOKEN_EXPIRED`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "TOKEN_MALFORMED",
            Self::Algorithm(_) => "TOKEN_ALGORITHM",
            Self::Expired => "TOKEN_EXPIRED",
            Self::NotYetValid => "TOKEN_NOT_YET_VALID",
            Self::Issuer { .. } => "TOKEN_ISSUER",
            Self::Audience { .. } => "TOKEN_AUDIENCE",
            Self::UnknownKey(_) => "TOKEN_UNKNOWN_KEY",
            Self::Signature => "TOKEN_SIGNATURE",
            Self::Subject(_) => "TOKEN_SUBJECT",
        }
    }
}

/// jsonwebtoken's process-wide crypto provider: chosen from its features (only `rust_crypto` is on); installed
/// explicitly if a build ever enables a second backend, so verification never panics for want of one.
pub(crate) fn crypto_provider() -> Result<&'static CryptoProvider, KeyError> {
    if let Some(provider) = CryptoProvider::try_get_default() {
        return Ok(provider);
    }
    // Losing a race to install is fine: someone installed one.
    let _ = CryptoProvider::install_default(&jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER);
    CryptoProvider::try_get_default()
        .ok_or_else(|| KeyError::Invalid("no jsonwebtoken crypto provider is available".to_owned()))
}

/// One trusted key, with the one algorithm it verifies.
struct TrustedKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
    validation: Validation,
}

/// The keys in force, and a digest of the document they came from (to tell whether a re-read changed them).
struct KeySet {
    keys: Vec<TrustedKey>,
    digest: [u8; 32],
}

impl KeySet {
    /// The key a token names: by `kid`; a token without one (or a set of one key without ids, as a shared secret)
    /// uses the only key there is.
    fn find(&self, kid: Option<&str>) -> Option<&TrustedKey> {
        if let [only] = self.keys.as_slice()
            && (only.kid.is_none() || kid.is_none())
        {
            return Some(only);
        }
        let kid = kid?;
        self.keys.iter().find(|key| key.kid.as_deref() == Some(kid))
    }
}

/// Where keys are (re-)read from.
enum Source {
    /// In-memory JWKS or shared secret: nothing to re-read.
    Static,
    File(PathBuf),
    Url {
        url: http::Uri,
        text: String,
        tls: Option<Arc<rustls::ClientConfig>>,
    },
}

impl Source {
    fn refreshable(&self) -> bool {
        !matches!(self, Self::Static)
    }

    /// The JWKS document as it is now.
    async fn read(&self) -> Result<String, KeyError> {
        match self {
            Self::Static => Err(KeyError::Invalid("in-memory keys are not re-read".to_owned())),
            Self::File(path) => {
                tokio::fs::read_to_string(path).await.map_err(|source| KeyError::Io { path: path.clone(), source })
            }
            Self::Url { url, text, tls } => {
                let fetched = tokio::time::timeout(FETCH_TIMEOUT, http_get(url, tls.clone())).await;
                let message = match fetched {
                    Ok(Ok(body)) => return Ok(body),
                    Ok(Err(message)) => message,
                    Err(_) => format!("no answer within {} s", FETCH_TIMEOUT.as_secs()),
                };
                Err(KeyError::Fetch { url: text.clone(), message })
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Static => "in-memory keys".to_owned(),
            Self::File(path) => path.display().to_string(),
            Self::Url { text, .. } => text.clone(),
        }
    }
}

/// A verified token, remembered until its `exp`.
struct Cached {
    identity: Identity,
    expires: u64,
}

struct Inner {
    source: Source,
    issuer: String,
    audience: String,
    leeway: Duration,
    refetch_floor: Duration,
    keys: ArcSwap<KeySet>,
    /// When the last unknown-`kid` re-read happened; the lock also makes concurrent unknown-`kid` tokens wait for
    /// one re-read instead of each starting their own.
    last_refetch: tokio::sync::Mutex<Option<Instant>>,
    cache: Mutex<HashMap<[u8; 32], Cached>>,
    #[cfg(test)]
    verifications: std::sync::atomic::AtomicU64,
    #[cfg(test)]
    reads: std::sync::atomic::AtomicU64,
}

/// Verifies bearer tokens against the configured keys, caching verified tokens until they expire.
pub struct Verifier {
    inner: Arc<Inner>,
    /// The refresh timer (JWKS file or URL); stopped when the verifier is dropped.
    refresher: Option<tokio::task::AbortHandle>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.inner.source.describe())
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .finish_non_exhaustive()
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        if let Some(refresher) = &self.refresher {
            refresher.abort();
        }
    }
}

impl Verifier {
    /// Loads the keys now (a bad JWKS file, URL or CA stops the start) and, for a file or URL, starts re-reading
    /// them every `settings.refresh`.
    pub async fn new(settings: TokenSettings) -> Result<Self, KeyError> {
        crypto_provider()?;
        if settings.issuer.is_empty() || settings.audience.is_empty() {
            return Err(KeyError::Invalid("the token issuer and audience must not be empty".to_owned()));
        }
        let template = validation_template(&settings);
        let (source, keys) = match &settings.keys {
            KeySource::SharedSecret(secret) => {
                if secret.is_empty() {
                    return Err(KeyError::Invalid("the HS256 shared secret is empty".to_owned()));
                }
                let key = DecodingKey::from_secret(secret)
                    .map_err(|e| KeyError::Invalid(format!("the HS256 shared secret: {e}")))?;
                let trusted =
                    TrustedKey { kid: None, alg: Algorithm::HS256, key, validation: template(Algorithm::HS256) };
                (Source::Static, KeySet { keys: vec![trusted], digest: [0; 32] })
            }
            KeySource::Jwks(text) => (Source::Static, parse_jwks(text, &template)?),
            KeySource::JwksFile(path) => {
                let source = Source::File(path.clone());
                let text = source.read().await?;
                let keys = parse_jwks(&text, &template)
                    .map_err(|e| KeyError::Invalid(format!("JWKS file {}: {e}", path.display())))?;
                (source, keys)
            }
            KeySource::JwksUrl { url, ca_file } => {
                let source = url_source(url, ca_file.as_ref())?;
                let text = source.read().await?;
                let keys = parse_jwks(&text, &template)
                    .map_err(|e| KeyError::Fetch { url: url.clone(), message: e.to_string() })?;
                (source, keys)
            }
        };
        let inner = Arc::new(Inner {
            source,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway: settings.leeway,
            refetch_floor: settings.refetch_floor,
            keys: ArcSwap::from_pointee(keys),
            last_refetch: tokio::sync::Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
            #[cfg(test)]
            verifications: std::sync::atomic::AtomicU64::new(0),
            #[cfg(test)]
            reads: std::sync::atomic::AtomicU64::new(1),
        });
        let refresher = match tokio::runtime::Handle::try_current() {
            Ok(runtime) if inner.source.refreshable() => {
                let period = settings.refresh.max(Duration::from_secs(1));
                Some(runtime.spawn(refresh_every(Arc::downgrade(&inner), period)).abort_handle())
            }
            Ok(_) => None,
            Err(_) => {
                // Only outside tokio (never in the servers): the keys are then re-read on unknown key ids only.
                if inner.source.refreshable() {
                    tracing::warn!(keys = %inner.source.describe(), "no tokio runtime: the keys are not re-read on a timer");
                }
                None
            }
        };
        Ok(Self { inner, refresher })
    }

    /// Who the token names, if it is valid now; a token verified before answers from the cache.
    pub async fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed("it is longer than 16 KiB"));
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = unix_now();
        if let Some(identity) = self.inner.cached(&digest, now) {
            return Ok(identity);
        }
        #[cfg(test)]
        self.inner.verifications.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let header = parse_header(token)?;
        let keys = self.inner.keys_for(header.kid.as_deref()).await?;
        let key = keys.find(header.kid.as_deref()).ok_or_else(|| unknown_key(header.kid.as_deref(), &keys))?;
        if header.alg != key.alg {
            return Err(TokenError::Algorithm(format!(
                "the token says it is signed with {:?}, but its key{} is for {:?}: the algorithm is the key's, not \
                 the token's",
                header.alg,
                key.kid.as_deref().map(|kid| format!(" ({})", printable(kid))).unwrap_or_default(),
                key.alg
            )));
        }
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &key.validation)
            .map_err(|e| self.inner.refusal(e.into_kind()))?;
        let identity = identity_of(&data.claims)?;
        // Validation required a numeric exp; one that does not fit u64 seconds is simply not cached.
        if let Some(expires) = data.claims.get("exp").and_then(numeric_date) {
            self.inner.remember(digest, &identity, expires, now);
        }
        Ok(identity)
    }

    /// Tokens fully verified (not answered from the cache).
    #[cfg(test)]
    fn verifications(&self) -> u64 {
        self.inner.verifications.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Reads of the key source, the first included.
    #[cfg(test)]
    fn reads(&self) -> u64 {
        self.inner.reads.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Inner {
    fn cached(&self, digest: &[u8; 32], now: u64) -> Option<Identity> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        match cache.get(digest) {
            // Until exp only, without the leeway: past it the token is verified again, which applies the leeway.
            Some(entry) if now < entry.expires => Some(entry.identity.clone()),
            Some(_) => {
                cache.remove(digest);
                None
            }
            None => None,
        }
    }

    fn remember(&self, digest: [u8; 32], identity: &Identity, expires: u64, now: u64) {
        if expires <= now {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, entry| entry.expires > now);
        }
        if cache.len() >= CACHE_CAPACITY {
            // Still full of live tokens: drop a quarter (arbitrary ones; they are verified again when next seen).
            let drop: Vec<[u8; 32]> = cache.keys().take(CACHE_CAPACITY / 4).copied().collect();
            for key in drop {
                cache.remove(&key);
            }
        }
        cache.insert(digest, Cached { identity: identity.clone(), expires });
    }

    /// The key set to verify a token naming `kid` with: the current one, or, when it lacks that `kid` and the
    /// source can be re-read (and was not re-read for this reason within the floor), a fresh one.
    async fn keys_for(&self, kid: Option<&str>) -> Result<Arc<KeySet>, TokenError> {
        let keys = self.keys.load_full();
        if keys.find(kid).is_some() || kid.is_none() || !self.source.refreshable() {
            return Ok(keys);
        }
        let mut last = self.last_refetch.lock().await;
        // Another task may have re-read while this one waited.
        let keys = self.keys.load_full();
        if keys.find(kid).is_some() {
            return Ok(keys);
        }
        if last.is_some_and(|at| at.elapsed() < self.refetch_floor) {
            return Ok(keys);
        }
        *last = Some(Instant::now());
        tracing::info!(kid = %kid.map(printable).unwrap_or_default(), keys = %self.source.describe(), "a token names an unknown key id; re-reading the keys");
        self.reload().await;
        Ok(self.keys.load_full())
    }

    /// Re-reads the keys; a failure keeps the ones in force (and is logged).
    async fn reload(&self) {
        #[cfg(test)]
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let template = validation_template_of(&self.issuer, &self.audience, self.leeway);
        let fresh = match self.source.read().await {
            Ok(text) => parse_jwks(&text, &template),
            Err(e) => Err(e),
        };
        match fresh {
            Ok(fresh) if fresh.digest == self.keys.load().digest => {}
            Ok(fresh) => {
                let count = fresh.keys.len();
                self.keys.store(Arc::new(fresh));
                // Tokens verified with keys that may now be gone are verified again.
                self.cache.lock().unwrap_or_else(PoisonError::into_inner).clear();
                tracing::info!(keys = %self.source.describe(), count, "token verification keys changed");
            }
            Err(e) => {
                tracing::warn!(keys = %self.source.describe(), error = %e, "could not re-read the token keys; keeping the current ones");
            }
        }
    }

    /// A jsonwebtoken refusal in this API's words.
    fn refusal(&self, kind: ErrorKind) -> TokenError {
        match kind {
            ErrorKind::InvalidSignature
            | ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidEddsaKey
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidKeyFormat
            | ErrorKind::Signing(_)
            | ErrorKind::RsaFailedSigning
            | ErrorKind::Provider(_) => TokenError::Signature,
            ErrorKind::ExpiredSignature => TokenError::Expired,
            ErrorKind::ImmatureSignature => TokenError::NotYetValid,
            ErrorKind::InvalidIssuer => TokenError::Issuer { expected: self.issuer.clone() },
            ErrorKind::InvalidAudience => TokenError::Audience { expected: self.audience.clone() },
            ErrorKind::InvalidSubject => TokenError::Subject("is not the expected one"),
            ErrorKind::InvalidAlgorithm
            | ErrorKind::MissingAlgorithm
            | ErrorKind::UnsupportedAlgorithm
            | ErrorKind::InvalidAlgorithmName => {
                TokenError::Algorithm("the token's algorithm is not accepted for its key".to_owned())
            }
            ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
                "iss" => TokenError::Issuer { expected: self.issuer.clone() },
                "aud" => TokenError::Audience { expected: self.audience.clone() },
                "exp" => TokenError::Malformed("it has no expiry (exp); tokens must expire"),
                _ => TokenError::Malformed("a required claim is missing"),
            },
            ErrorKind::InvalidClaimFormat(claim) => match claim.as_str() {
                "exp" => TokenError::Malformed("its exp is not a number of seconds"),
                "nbf" => TokenError::Malformed("its nbf is not a number of seconds"),
                "iss" => TokenError::Malformed("its iss is not a string"),
                "aud" => TokenError::Malformed("its aud is not a string or an array of strings"),
                _ => TokenError::Malformed("a claim has the wrong type"),
            },
            ErrorKind::InvalidToken => TokenError::Malformed("it is not three base64url parts"),
            ErrorKind::Base64(_) => TokenError::Malformed("a part is not base64url"),
            ErrorKind::Json(_) | ErrorKind::Utf8(_) => TokenError::Malformed("its claims are not a JSON object"),
            _ => TokenError::Malformed("it could not be decoded"),
        }
    }
}

/// Re-reads the keys every `period` while the verifier lives.
async fn refresh_every(inner: Weak<Inner>, period: Duration) {
    let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        timer.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        inner.reload().await;
    }
}

fn validation_template(settings: &TokenSettings) -> impl Fn(Algorithm) -> Validation + use<> {
    validation_template_of(&settings.issuer, &settings.audience, settings.leeway)
}

/// What every token must satisfy, for a key of algorithm `alg`.
fn validation_template_of(issuer: &str, audience: &str, leeway: Duration) -> impl Fn(Algorithm) -> Validation + use<> {
    let (issuer, audience) = (issuer.to_owned(), audience.to_owned());
    move |alg| {
        let mut validation = Validation::new(alg);
        validation.leeway = leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[&audience]);
        // jsonwebtoken checks iss and aud only when present unless they are required.
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation
    }
}

/// The trusted signing keys of a JWKS document. A key that cannot be used (an unsupported type, an `alg` that
/// contradicts its type, a symmetric key, one for encryption) is skipped with a warning; a document with none
/// left is refused.
fn parse_jwks(text: &str, template: &impl Fn(Algorithm) -> Validation) -> Result<KeySet, KeyError> {
    let document: Value =
        serde_json::from_str(text).map_err(|e| KeyError::Invalid(format!("the JWKS is not JSON: {e}")))?;
    let Some(entries) = document.get("keys").and_then(Value::as_array) else {
        return Err(KeyError::Invalid("the JWKS has no \"keys\" array".to_owned()));
    };
    let provider = crypto_provider()?;
    let mut keys: Vec<TrustedKey> = Vec::new();
    let mut skipped = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let kid = entry.get("kid").and_then(Value::as_str).map(str::to_owned);
        let name = kid.as_deref().map_or_else(|| format!("key #{index}"), |kid| format!("key {}", printable(kid)));
        let parsed = trusted_key(entry).and_then(|(alg, key)| {
            // Constructing the verifier checks the key's encoding now rather than at the first token.
            (provider.verifier_factory)(&alg, &key).map_err(|e| format!("not a valid {alg:?} key: {e}"))?;
            Ok((alg, key))
        });
        match parsed {
            Ok((alg, key)) => {
                if kid.is_some() && keys.iter().any(|k| k.kid == kid) {
                    skipped.push(format!("{name}: its kid is used by an earlier key"));
                    continue;
                }
                keys.push(TrustedKey { kid, alg, key, validation: template(alg) });
            }
            Err(why) => skipped.push(format!("{name}: {why}")),
        }
    }
    if keys.is_empty() {
        let why = if skipped.is_empty() { "it is empty".to_owned() } else { skipped.join("; ") };
        return Err(KeyError::Invalid(format!("the JWKS holds no usable signing key ({why})")));
    }
    for why in &skipped {
        tracing::warn!(key = %why, "JWKS key skipped");
    }
    Ok(KeySet { keys, digest: Sha256::digest(text.as_bytes()).into() })
}

/// A JWK's algorithm (its `alg`, or what `kty` and `crv` imply; the two must agree) and public key.
fn trusted_key(jwk: &Value) -> Result<(Algorithm, DecodingKey), String> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    if let Some(usage) = field("use")
        && usage != "sig"
    {
        return Err(format!("its use is '{}', not 'sig'", printable(usage)));
    }
    let declared = field("alg");
    let pick = |implied: &[Algorithm], default: Algorithm| -> Result<Algorithm, String> {
        match declared {
            None => Ok(default),
            Some(name) => match Algorithm::from_str(name) {
                Ok(alg) if implied.contains(&alg) => Ok(alg),
                _ => Err(format!("its alg '{}' does not fit its key type", printable(name))),
            },
        }
    };
    let bytes = |name: &str| -> Result<Vec<u8>, String> {
        let text = field(name).ok_or_else(|| format!("it has no '{name}'"))?;
        URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).map_err(|_| format!("its '{name}' is not base64url"))
    };
    match (field("kty"), field("crv")) {
        (Some("RSA"), _) => {
            let alg = pick(
                &[
                    Algorithm::RS256,
                    Algorithm::RS384,
                    Algorithm::RS512,
                    Algorithm::PS256,
                    Algorithm::PS384,
                    Algorithm::PS512,
                ],
                Algorithm::RS256,
            )?;
            let (n, e) = (bytes("n")?, bytes("e")?);
            let significant = n.iter().skip_while(|b| **b == 0).count();
            if significant < MIN_RSA_MODULUS_BYTES {
                return Err(format!("its RSA modulus is {} bits; at least 2048 are required", significant * 8));
            }
            Ok((alg, DecodingKey::from_rsa_raw_components(&n, &e)))
        }
        (Some("EC"), Some(curve)) => {
            let (alg, size) = match curve {
                "P-256" => (pick(&[Algorithm::ES256], Algorithm::ES256)?, 32),
                "P-384" => (pick(&[Algorithm::ES384], Algorithm::ES384)?, 48),
                other => return Err(format!("the curve '{}' is not supported", printable(other))),
            };
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != size || y.len() != size {
                return Err(format!("its coordinates must be {size} bytes"));
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Ok((alg, DecodingKey::from_ec_der(&point)))
        }
        (Some("OKP"), Some("Ed25519")) => {
            let alg = match declared {
                None | Some("EdDSA" | "Ed25519") => Algorithm::EdDSA,
                Some(other) => return Err(format!("its alg '{}' does not fit its key type", printable(other))),
            };
            let x = bytes("x")?;
            // Checked here: the verifier slices the first 32 bytes and would panic on fewer.
            if x.len() != 32 {
                return Err("its Ed25519 public key must be 32 bytes".to_owned());
            }
            Ok((alg, DecodingKey::from_ed_der(&x)))
        }
        (Some("oct"), _) => {
            Err("symmetric keys are not trusted from a JWKS (HS256 needs the shared-secret setting)".to_owned())
        }
        (Some(kty), crv) => Err(format!(
            "the key type '{}'{} is not supported",
            printable(kty),
            crv.map(|c| format!(" ({})", printable(c))).unwrap_or_default()
        )),
        (None, _) => Err("it has no kty".to_owned()),
    }
}

/// What the token's header says, read by this module (not jsonwebtoken) so that `none` and unknown algorithms
/// get their own refusal.
struct TokenHeader {
    alg: Algorithm,
    kid: Option<String>,
}

fn parse_header(token: &str) -> Result<TokenHeader, TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed("it is not three base64url parts separated by dots"));
    };
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| TokenError::Malformed("its header is not base64url"))?;
    let header: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed("its header is not a JSON object"))?;
    let alg = match header.get("alg") {
        Some(Value::String(name)) => name,
        Some(_) => return Err(TokenError::Malformed("its header's alg is not a string")),
        None => return Err(TokenError::Algorithm("the token's header names no algorithm (alg)".to_owned())),
    };
    if alg.eq_ignore_ascii_case("none") {
        return Err(TokenError::Algorithm("unsigned tokens (alg: none) are never accepted".to_owned()));
    }
    let alg = Algorithm::from_str(alg).map_err(|_| {
        TokenError::Algorithm(format!(
            "the token's algorithm '{}' is not supported (RS256, ES256 or EdDSA; HS256 with a shared secret)",
            printable(alg)
        ))
    })?;
    let kid = match header.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(TokenError::Malformed("its header's kid is not a string")),
    };
    Ok(TokenHeader { alg, kid })
}

fn unknown_key(kid: Option<&str>, keys: &KeySet) -> TokenError {
    match kid {
        Some(kid) => TokenError::UnknownKey(format!(
            "the token's key id (kid) '{}' is not among the {} trusted key(s): it was signed by another issuer, or by \
             a key not published yet",
            printable(kid),
            keys.keys.len()
        )),
        None => TokenError::UnknownKey(format!(
            "the token names no key id (kid), and there are {} trusted keys to choose from",
            keys.keys.len()
        )),
    }
}

/// The identity a verified token's claims name.
fn identity_of(claims: &Map<String, Value>) -> Result<Identity, TokenError> {
    let subject = match claims.get("sub") {
        None | Some(Value::Null) => return Err(TokenError::Subject("is missing")),
        Some(Value::String(subject)) => subject,
        Some(_) => return Err(TokenError::Subject("is not a string")),
    };
    if subject.trim().is_empty() {
        return Err(TokenError::Subject("is empty"));
    }
    if subject.chars().count() > SUBJECT_MAX {
        return Err(TokenError::Subject("is longer than 200 characters"));
    }
    if subject.chars().any(char::is_control) {
        return Err(TokenError::Subject("contains control characters"));
    }
    let roles = match claims.get("roles") {
        None | Some(Value::Null) => Roles::NONE,
        Some(Value::String(names)) => names.split_whitespace().filter_map(|name| name.parse::<Role>().ok()).collect(),
        Some(Value::Array(names)) => {
            let mut roles = Vec::with_capacity(names.len());
            for name in names {
                let Some(name) = name.as_str() else {
                    return Err(TokenError::Malformed("its roles must be strings"));
                };
                // Roles this version does not know (a newer issuer's) grant nothing rather than refuse the token.
                roles.extend(name.parse::<Role>().ok());
            }
            roles.into_iter().collect()
        }
        Some(_) => {
            return Err(TokenError::Malformed("its roles must be an array of strings or a space-separated string"));
        }
    };
    // A name that is not a short printable string is left out rather than refusing an otherwise valid token.
    let display_name = claims
        .get("name")
        .and_then(Value::as_str)
        .filter(|name| {
            !name.trim().is_empty() && name.chars().count() <= SUBJECT_MAX && !name.chars().any(char::is_control)
        })
        .map(str::to_owned);
    // The person's contact, when the claim names one; anything else is left out (it grants nothing by itself).
    let contact = claims
        .get("contact")
        .and_then(Value::as_str)
        .filter(|name| crate::api::names::Name::<crate::api::names::Contacts>::parse("contact", name).is_ok())
        .map(str::to_owned);
    Ok(Identity { subject: subject.clone(), roles, display_name, contact })
}

/// A NumericDate claim as whole seconds (fractions rounded down; negative or absurd values are not dates).
fn numeric_date(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_f64().filter(|v| v.is_finite() && *v >= 0.0 && *v < 1e15).map(|v| v.floor() as u64))
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

/// Text from a token or JWKS, made safe to echo: printable ASCII only, at most 64 characters.
fn printable(text: &str) -> String {
    let mut out: String = text.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(64).collect();
    if text.chars().count() > 64 {
        out.push('…');
    }
    out
}

/// The source of a JWKS URL: `https://` (trusting `ca_file`, else the web PKI roots), or `http://` on loopback
/// only (tests, a local issuer).
fn url_source(url: &str, ca_file: Option<&PathBuf>) -> Result<Source, KeyError> {
    let invalid = |message: String| KeyError::Fetch { url: url.to_owned(), message };
    let uri: http::Uri = url.parse().map_err(|_| invalid("not a valid URL".to_owned()))?;
    let host = uri.host().ok_or_else(|| invalid("the URL has no host".to_owned()))?;
    let tls = match uri.scheme_str() {
        Some("https") => Some(Arc::new(client_config(ca_file)?)),
        Some("http") if is_loopback(host) => None,
        Some("http") => {
            return Err(invalid(
                "keys must be fetched over https:// (plain http:// is allowed for 127.0.0.1 and localhost only)"
                    .to_owned(),
            ));
        }
        _ => return Err(invalid("the URL must start with https://".to_owned())),
    };
    Ok(Source::Url { url: uri, text: url.to_owned(), tls })
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// rustls with the ring provider given explicitly (never a process default, which may not be installed).
fn client_config(ca_file: Option<&PathBuf>) -> Result<rustls::ClientConfig, KeyError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let bad = |message: String| KeyError::Invalid(format!("JWKS CA file {}: {message}", path.display()));
            let pem = std::fs::read(path).map_err(|source| KeyError::Io { path: path.clone(), source })?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| bad(format!("not PEM certificates: {e}")))?;
                roots.add(cert).map_err(|e| bad(format!("not a usable CA certificate: {e}")))?;
            }
            if roots.is_empty() {
                return Err(bad("it holds no certificate".to_owned()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| KeyError::Invalid(format!("TLS for the JWKS URL: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Aborts a spawned task when dropped (the connection driver of a fetch that gave up).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// GET `url` with HTTP/1.1 (over TLS when `tls` is set): the body of a 200 answer, at most 1 MiB of UTF-8.
async fn http_get(url: &http::Uri, tls: Option<Arc<rustls::ClientConfig>>) -> Result<String, String> {
    use http_body_util::BodyExt;
    let host = url.host().ok_or("the URL has no host")?;
    let bare_host = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port_u16().unwrap_or(if tls.is_some() { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((bare_host, port)).await.map_err(|e| format!("cannot connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let request = http::Request::get(url.path_and_query().map_or("/", |p| p.as_str()))
        .header(http::header::HOST, url.authority().map_or(host, |a| a.as_str()))
        .header(http::header::ACCEPT, "application/json, application/jwk-set+json")
        .header(http::header::USER_AGENT, "liaison")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let response = match tls {
        Some(config) => {
            let name = rustls::pki_types::ServerName::try_from(bare_host.to_owned())
                .map_err(|_| "the host is not a valid TLS server name".to_owned())?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake failed: {e}"))?;
            send(stream, request).await?
        }
        None => send(tcp, request).await?,
    };
    // The connection is driven until the body is read (or the fetch is abandoned), then stopped.
    let (response, _driver) = response;
    if response.status() != http::StatusCode::OK {
        return Err(format!("the server answered HTTP {}", response.status()));
    }
    let body = http_body_util::Limited::new(response.into_body(), MAX_JWKS_BYTES)
        .collect()
        .await
        .map_err(|e| format!("reading the answer failed (or it is larger than 1 MiB): {e}"))?
        .to_bytes();
    String::from_utf8(body.to_vec()).map_err(|_| "the answer is not UTF-8 text".to_owned())
}

/// Sends one request over a fresh HTTP/1.1 connection on `io`.
async fn send<IO>(
    io: IO,
    request: http::Request<http_body_util::Empty<bytes::Bytes>>,
) -> Result<(http::Response<hyper::body::Incoming>, AbortOnDrop), String>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let driver = AbortOnDrop(tokio::spawn(connection).abort_handle());
    let response = sender.send_request(request).await.map_err(|e| format!("the request failed: {e}"))?;
    Ok((response, driver))
}

#[cfg(test)]
mod tests;
