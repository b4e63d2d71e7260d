//! List pagination: page sizes (default 50, clamp at 1000, zero or negative rejected) and opaque page tokens.
//!
//! A token carries the key of the last item returned and the scope it was issued for (the method and its
//! filter), authenticated with HMAC-SHA-256 under the serving service's key: a token edited or made up by a
//! client, or one from another method or filter, is INVALID_ARGUMENT rather than a silently wrong page — and no
//! client-chosen key ever reaches a query. The key is the service's own (`db::secrets`, shared by its replicas
//! through its database); the server sets it around each request ([`with_key`]). Outside a request (unit tests)
//! a key made at random for the process is used.
use crate::api::error::FieldViolation;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::{Arc, LazyLock};

/// The key that authenticates a service's page tokens.
#[derive(Clone)]
pub struct TokenKey(Arc<[u8; 32]>);

impl TokenKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(Arc::new(bytes))
    }

    /// A key for this process only (tokens die with it).
    pub fn random() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self::new(bytes)
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(…)")
    }
}

/// The secret's name in `service_secrets`.
pub const KEY_NAME: &str = "page-token-key";

tokio::task_local! {
    static KEY: TokenKey;
}

static PROCESS_KEY: LazyLock<TokenKey> = LazyLock::new(TokenKey::random);

/// Runs `future` (a request) with `key` authenticating the page tokens it opens and issues.
pub async fn with_key<F: Future>(key: TokenKey, future: F) -> F::Output {
    KEY.scope(key, future).await
}

fn current_key() -> TokenKey {
    KEY.try_with(TokenKey::clone).unwrap_or_else(|_| PROCESS_KEY.clone())
}

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 1000;

/// Where a page starts and how long it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Items per page, 1..=1000.
    pub size: u64,
    /// Key of the last item of the previous page; `None` for the first page.
    pub after: Option<String>,
}

/// Parses a page size: unset → 50, above 1000 → 1000, zero or negative → violation.
pub fn page_size(field: &str, requested: Option<i32>) -> Result<u64, FieldViolation> {
    match requested {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if n <= 0 => {
            Err(FieldViolation::new(field, format!("must be positive (got {n}); omit it for {DEFAULT_PAGE_SIZE}")))
        }
        Some(n) => Ok((n as u64).min(MAX_PAGE_SIZE)),
    }
}

/// Parses `page_size` and `page_token` of a List request issued in `scope`.
pub fn parse(requested_size: Option<i32>, token: &str, scope: &str) -> Result<PageRequest, Vec<FieldViolation>> {
    let size = page_size("page_size", requested_size);
    let after = if token.is_empty() { Ok(None) } else { open_token(token, scope).map(Some) };
    match (size, after) {
        (Ok(size), Ok(after)) => Ok(PageRequest { size, after }),
        (size, after) => Err([size.err(), after.err()].into_iter().flatten().collect()),
    }
}

/// The token of the page after the item with key `last_key`.
pub fn next_token(scope: &str, last_key: &str) -> String {
    let payload = format!("{}\u{1f}{}", carried_scope(scope), last_key);
    let mut sealed = tag(payload.as_bytes()).to_vec();
    sealed.extend_from_slice(payload.as_bytes());
    URL_SAFE_NO_PAD.encode(sealed)
}

/// The most bytes of items one page carries: well under the 4 MiB a response may have
/// ([`crate::net::limits::MAX_RESPONSE_BYTES`]), whatever the items hold.
pub const PAGE_MAX_BYTES: usize = 3 * 1024 * 1024;

/// A page as sent: `items` (read with one probe row beyond `size`) turned into their wire form by `wire`, at most
/// `size` of them and at most [`PAGE_MAX_BYTES`] encoded (always at least one), and the token of the page after
/// the last one sent — empty when nothing is left. A page cut short by its bytes is no different to a client from
/// a shorter page: it follows the token.
pub fn page<T, M: prost::Message>(
    items: Vec<T>,
    size: u64,
    scope: &str,
    key: impl Fn(&T) -> String,
    wire: impl Fn(&T) -> M,
) -> (Vec<M>, String) {
    let mut sent: Vec<M> = items.iter().take(usize::try_from(size).unwrap_or(usize::MAX)).map(wire).collect();
    sent.truncate(fitting(&sent));
    let token = match items.get(sent.len()) {
        Some(_) => items.get(sent.len().wrapping_sub(1)).map(|last| next_token(scope, &key(last))).unwrap_or_default(),
        None => String::new(),
    };
    (sent, token)
}

/// How many of `messages`, from the first, one page carries: as many as fit in [`PAGE_MAX_BYTES`] encoded, and
/// always the first (a page is never empty while items are left).
pub fn fitting<M: prost::Message>(messages: &[M]) -> usize {
    let mut bytes = 0usize;
    let fit = messages
        .iter()
        .take_while(|message| {
            // The field's tag and length prefix: at most 1 + 5 bytes.
            bytes += message.encoded_len() + 6;
            bytes <= PAGE_MAX_BYTES
        })
        .count();
    fit.max(1).min(messages.len())
}

/// Bytes of the tag: 128 bits of HMAC-SHA-256, as RFC 2104 allows (at least half the hash).
const TAG_BYTES: usize = 16;

fn tag(payload: &[u8]) -> [u8; TAG_BYTES] {
    let digest = mac(payload).finalize().into_bytes();
    let mut out = [0u8; TAG_BYTES];
    out.copy_from_slice(&digest[..TAG_BYTES]);
    out
}

/// The HMAC of a token's payload under the current key. HMAC pads a key shorter than the hash's block with
/// zeros, so the 32-byte key padded to the 64-byte block is the same key, given in the infallible form.
fn mac(payload: &[u8]) -> Hmac<Sha256> {
    let key = current_key();
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key.0.as_slice());
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into());
    mac.update(b"liaison page token v2\x00");
    mac.update(payload);
    mac
}

/// The scope as a token carries it, before U+001F and the key. Scopes hold request fields a client chose, so a
/// U+001F in one is carried as U+001E U+001D, and a U+001E as U+001E U+001E: no carried scope holds the separator,
/// and no two scopes are carried alike, so a token opens to its own key and in its own scope only. A scope without
/// either character is carried as it is (tokens issued before stay valid).
fn carried_scope(scope: &str) -> std::borrow::Cow<'_, str> {
    if !scope.contains(['\u{1e}', '\u{1f}']) {
        return std::borrow::Cow::Borrowed(scope);
    }
    std::borrow::Cow::Owned(scope.replace('\u{1e}', "\u{1e}\u{1e}").replace('\u{1f}', "\u{1e}\u{1d}"))
}

fn open_token(token: &str, scope: &str) -> Result<String, FieldViolation> {
    let invalid =
        || FieldViolation::new("page_token", "is not a page token issued by this call; start again without one");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    if bytes.len() < TAG_BYTES {
        return Err(invalid());
    }
    let (sum, payload) = bytes.split_at(TAG_BYTES);
    // Compared in constant time: the tag must not be learnable byte by byte.
    mac(payload).verify_truncated_left(sum).map_err(|_| invalid())?;
    let payload = std::str::from_utf8(payload).map_err(|_| invalid())?;
    let (token_scope, key) = payload.split_once('\u{1f}').ok_or_else(invalid)?;
    if token_scope != carried_scope(scope) {
        return Err(FieldViolation::new("page_token", "was issued for a different request (method or filter changed)"));
    }
    Ok(key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_defaults_clamps_and_rejects_non_positive() {
        assert_eq!(page_size("page_size", None), Ok(50));
        assert_eq!(page_size("page_size", Some(5000)), Ok(1000));
        assert!(page_size("page_size", Some(0)).is_err());
        assert!(page_size("page_size", Some(-3)).is_err());
    }

    #[test]
    fn a_token_round_trips_in_its_scope() {
        let token = next_token("ListContacts", "0193-key");
        assert_eq!(parse(None, &token, "ListContacts").map(|p| p.after), Ok(Some("0193-key".to_owned())));
    }

    #[test]
    fn a_tampered_token_is_rejected() {
        let mut token = next_token("ListContacts", "0193-key").into_bytes();
        let last = token.len() - 2;
        token[last] = if token[last] == b'A' { b'B' } else { b'A' };
        let token = String::from_utf8(token).expect("ascii");
        assert!(parse(None, &token, "ListContacts").is_err());
        assert!(parse(None, "garbage!!", "ListContacts").is_err());
    }

    #[test]
    fn a_token_from_another_method_is_rejected() {
        let token = next_token("ListMeetings", "k");
        assert!(parse(None, &token, "ListContacts").is_err());
    }

    #[tokio::test]
    async fn a_token_is_valid_only_under_the_key_it_was_made_with() {
        let ours = TokenKey::new([7; 32]);
        let token = with_key(ours.clone(), async { next_token("ListContacts", "k") }).await;
        let opened = with_key(ours, async { parse(None, &token, "ListContacts") }).await;
        assert_eq!(opened.map(|p| p.after), Ok(Some("k".to_owned())), "another replica with the same key");
        let theirs = TokenKey::new([8; 32]);
        assert!(with_key(theirs, async { parse(None, &token, "ListContacts") }).await.is_err(), "another service");
    }

    #[test]
    fn a_token_made_without_the_key_is_rejected() {
        // What the unkeyed checksum of earlier versions allowed: anyone could seal a payload of their choosing.
        use sha2::Digest;
        let payload = "ListContacts\u{1f}anything-at-all";
        let digest = sha2::Sha256::new().chain_update(b"liaison page token v1").chain_update(payload).finalize();
        let mut forged = digest[..TAG_BYTES].to_vec();
        forged.extend_from_slice(payload.as_bytes());
        assert!(parse(None, &URL_SAFE_NO_PAD.encode(forged), "ListContacts").is_err());
    }

    #[test]
    fn a_page_stops_at_its_size_or_its_bytes_whichever_comes_first() {
        let item = |n: usize| (format!("k{n}"), "x".repeat(1024 * 1024));
        let wire = |(_, text): &(String, String)| text.clone();
        // Five items of 1 MiB, a size of 4: the bytes stop it at 2 (3 MiB would be exceeded by the third).
        let (sent, token) = page((0..5).map(item).collect(), 4, "S", |(k, _)| k.clone(), wire);
        assert_eq!(sent.len(), 2);
        assert_eq!(parse(None, &token, "S").map(|p| p.after), Ok(Some("k1".to_owned())), "resumes after the last sent");
        // Small items: the size stops it, and the probe row means there is more.
        let small = |n: usize| (format!("k{n}"), String::from("x"));
        let (sent, token) = page((0..4).map(small).collect(), 3, "S", |(k, _)| k.clone(), wire);
        assert_eq!((sent.len(), parse(None, &token, "S").map(|p| p.after)), (3, Ok(Some("k2".to_owned()))));
        // The last page: no token.
        let (sent, token) = page((0..2).map(small).collect(), 3, "S", |(k, _)| k.clone(), wire);
        assert_eq!((sent.len(), token.as_str()), (2, ""));
        // One item over the budget still goes (alone): a page is never empty while items are left.
        let huge = vec![("k0".to_owned(), "x".repeat(4 * 1024 * 1024)), small(1)];
        let (sent, token) = page(huge, 10, "S", |(k, _)| k.clone(), wire);
        assert_eq!(sent.len(), 1);
        assert!(!token.is_empty());
    }

    #[test]
    fn both_bad_fields_are_reported() {
        assert_eq!(parse(Some(-1), "x", "s").expect_err("bad").len(), 2);
    }
}

#[cfg(test)]
mod proptests;
