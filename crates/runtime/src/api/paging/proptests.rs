//! Property tests of page sizes and page tokens: a token opens, in the scope it was issued for, to the key it was
//! issued with, whatever the scope and key hold; it opens in no other scope and under no other key; and no text a
//! client sends as a token panics or opens without the key.
use super::*;
use proptest::prelude::*;

/// Scopes as the services build them (method, then request fields a client chose), with the separator U+001F and
/// its neighbours among the characters, and any text at all.
fn scopes() -> impl Strategy<Value = String> {
    prop_oneof![
        "List[A-Z][a-z]{2,10}(\\?filter=[a-z_ =\"\u{1e}\u{1f}\\\\]{0,12})?",
        "[a-z:/\u{1e}\u{1f}]{0,8}",
        any::<String>(),
    ]
}

/// Keys of last items: ids, sequence numbers, `score:id`, dates, and any text (an ordered column's value).
fn keys() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        "[0-9]{1,6}(:[0-9a-f]{8})?",
        "[a-z\u{1e}\u{1f}]{0,6}",
        any::<String>(),
    ]
}

fn key_of(opened: Result<PageRequest, Vec<FieldViolation>>) -> Result<Option<String>, Vec<FieldViolation>> {
    opened.map(|page| page.after)
}

/// The violations say the token is bad, and nothing else.
fn only_the_token_is_refused(opened: Result<PageRequest, Vec<FieldViolation>>) -> Result<(), TestCaseError> {
    match opened {
        Ok(page) => Err(TestCaseError::fail(format!("opened to {page:?}"))),
        Err(violations) => {
            prop_assert_eq!(violations.len(), 1);
            prop_assert_eq!(violations[0].field.as_str(), "page_token");
            Ok(())
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_page_size_is_defaulted_clamped_or_refused(requested in proptest::option::of(any::<i32>())) {
        match (requested, page_size("page_size", requested)) {
            (None, size) => prop_assert_eq!(size, Ok(DEFAULT_PAGE_SIZE)),
            (Some(n), Err(violation)) => {
                prop_assert!(n <= 0, "{n} refused");
                prop_assert_eq!(violation.field, "page_size");
            }
            (Some(n), Ok(size)) => {
                prop_assert!(n > 0);
                prop_assert_eq!(size, (n as u64).min(MAX_PAGE_SIZE));
            }
        }
    }

    #[test]
    fn any_page_token_round_trips_in_its_scope(scope in scopes(), key in keys()) {
        let token = next_token(&scope, &key);
        prop_assert!(!token.is_empty());
        prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "URL-safe: {token}");
        prop_assert_eq!(key_of(parse(None, &token, &scope)), Ok(Some(key)));
    }

    #[test]
    fn a_page_token_is_refused_in_any_other_scope(issued in scopes(), other in scopes(), key in keys()) {
        prop_assume!(issued != other);
        only_the_token_is_refused(parse(None, &next_token(&issued, &key), &other))?;
    }

    #[test]
    fn a_page_token_is_refused_in_a_scope_that_extends_or_shortens_it_at_the_separator(
        head in "[a-z]{0,6}",
        tail in "[a-z\u{1f}]{0,6}",
        key in keys(),
    ) {
        // The one place a scope and a key meet in a token: a scope ending where the other one's separator is.
        let long = format!("{head}\u{1f}{tail}");
        only_the_token_is_refused(parse(None, &next_token(&long, &key), &head))?;
        only_the_token_is_refused(parse(None, &next_token(&head, &format!("{tail}\u{1f}{key}")), &long))?;
    }

    #[test]
    fn a_page_token_is_refused_under_another_key(
        ours in any::<[u8; 32]>(),
        theirs in any::<[u8; 32]>(),
        scope in scopes(),
        key in keys(),
    ) {
        prop_assume!(ours != theirs);
        let token = KEY.sync_scope(TokenKey::new(ours), || next_token(&scope, &key));
        let again = KEY.sync_scope(TokenKey::new(ours), || parse(None, &token, &scope));
        prop_assert_eq!(key_of(again), Ok(Some(key)), "a replica with the same key opens it");
        only_the_token_is_refused(KEY.sync_scope(TokenKey::new(theirs), || parse(None, &token, &scope)))?;
    }

    #[test]
    fn a_page_token_with_any_byte_changed_is_refused(
        scope in scopes(),
        key in keys(),
        at in any::<prop::sample::Index>(),
        flip in 1..=255u8,
    ) {
        let mut bytes = URL_SAFE_NO_PAD.decode(next_token(&scope, &key)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let at = at.index(bytes.len());
        bytes[at] ^= flip;
        only_the_token_is_refused(parse(None, &URL_SAFE_NO_PAD.encode(&bytes), &scope))?;
    }

    #[test]
    fn a_page_token_cut_short_or_lengthened_is_refused(scope in scopes(), key in keys(), cut in any::<prop::sample::Index>(), extra in proptest::collection::vec(any::<u8>(), 1..8)) {
        let bytes = URL_SAFE_NO_PAD.decode(next_token(&scope, &key)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // Never empty: an empty token is no token (the first page).
        let shorter = &bytes[..1 + cut.index(bytes.len() - 1)];
        only_the_token_is_refused(parse(None, &URL_SAFE_NO_PAD.encode(shorter), &scope))?;
        let mut longer = bytes;
        longer.extend_from_slice(&extra);
        only_the_token_is_refused(parse(None, &URL_SAFE_NO_PAD.encode(&longer), &scope))?;
    }

    #[test]
    fn arbitrary_text_as_a_page_token_is_refused_without_panicking(token in any::<String>(), scope in scopes()) {
        prop_assume!(!token.is_empty());
        only_the_token_is_refused(parse(None, &token, &scope))?;
    }

    #[test]
    fn arbitrary_bytes_encoded_as_a_page_token_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..256), scope in scopes()) {
        let token = URL_SAFE_NO_PAD.encode(&bytes);
        prop_assume!(!token.is_empty());
        only_the_token_is_refused(parse(None, &token, &scope))?;
    }

    #[test]
    fn a_bad_size_and_a_bad_token_are_both_reported(size in i32::MIN..=0, token in "[A-Za-z0-9_-]{1,40}", scope in scopes()) {
        let violations = parse(Some(size), &token, &scope).err().unwrap_or_default();
        let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
        prop_assert_eq!(fields, ["page_size", "page_token"]);
    }
}
