//! List pagination: page sizes (default 50, clamp at 1000, zero or negative rejected) and opaque page tokens.
//!
//! A token carries the key of the last item returned and the scope it was issued for (the method and its
//! filter), sealed with a checksum: an edited token, or one from another method or filter, is INVALID_ARGUMENT
//! rather than a silently wrong page.
use crate::api::error::FieldViolation;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

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
    let payload = format!("{}\u{1f}{}", scope, last_key);
    let mut sealed = checksum(payload.as_bytes()).to_vec();
    sealed.extend_from_slice(payload.as_bytes());
    URL_SAFE_NO_PAD.encode(sealed)
}

/// Builds the response token: a next token when the page came back full (`fetched` = size + 1 probe row).
pub fn token_after<T>(items: &mut Vec<T>, size: u64, scope: &str, key: impl Fn(&T) -> String) -> String {
    if items.len() as u64 > size {
        items.truncate(size as usize);
        items.last().map(|last| next_token(scope, &key(last))).unwrap_or_default()
    } else {
        String::new()
    }
}

fn checksum(payload: &[u8]) -> [u8; 12] {
    let digest = Sha256::new().chain_update(b"liaison page token v1").chain_update(payload).finalize();
    let mut out = [0u8; 12];
    out.copy_from_slice(&digest[..12]);
    out
}

fn open_token(token: &str, scope: &str) -> Result<String, FieldViolation> {
    let invalid =
        || FieldViolation::new("page_token", "is not a page token issued by this call; start again without one");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    if bytes.len() < 12 {
        return Err(invalid());
    }
    let (sum, payload) = bytes.split_at(12);
    if checksum(payload) != sum {
        return Err(invalid());
    }
    let payload = std::str::from_utf8(payload).map_err(|_| invalid())?;
    let (token_scope, key) = payload.split_once('\u{1f}').ok_or_else(invalid)?;
    if token_scope != scope {
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

    #[test]
    fn both_bad_fields_are_reported() {
        assert_eq!(parse(Some(-1), "x", "s").expect_err("bad").len(), 2);
    }
}
