//! The page-token decoder (`liaison_runtime::api::paging::parse`) on arbitrary text.
//!
//! Input: `scope\ntoken`, or just `token` (scope `ListContacts`). Tokens are opened under a fixed key, so the
//! seed corpus can hold real tokens that open (made by `next_token` under the same key).
//!
//! Asserts: no panic; a token that opens re-seals to exactly the same text (no second spelling of a token is
//! accepted); `next_token` opens back to its key in its scope and in no other; page sizes follow their rule.
#![no_main]

use liaison_runtime::api::paging::{self, MAX_PAGE_SIZE, TokenKey};
use libfuzzer_sys::fuzz_target;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// The key of the seed tokens: 32 bytes of 0x4c ('L').
const KEY: [u8; 32] = [0x4c; 32];

/// Runs `f` with `KEY` as the request's page-token key (the future never waits, so one poll finishes it).
fn keyed<T>(f: impl FnOnce() -> T) -> T {
    let mut future = pin!(paging::with_key(TokenKey::new(KEY), async move { f() }));
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(value) => value,
        Poll::Pending => unreachable!("with_key over a ready future is ready"),
    }
}

fuzz_target!(|data: &[u8]| {
    // A page token arrives in a protobuf string: always UTF-8.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (scope, token) = text.split_once('\n').unwrap_or(("ListContacts", text));

    keyed(|| {
        match paging::parse(None, token, scope) {
            Ok(page) => {
                assert_eq!(page.size, paging::DEFAULT_PAGE_SIZE);
                match page.after {
                    None => assert!(token.is_empty()),
                    Some(key) => assert_eq!(paging::next_token(scope, &key), token, "a second spelling opened"),
                }
            }
            Err(violations) => assert!(!violations.is_empty()),
        }

        // decode(encode(x)) == x, for any scope the separator cannot confuse.
        if !scope.contains('\u{1f}') {
            let issued = paging::next_token(scope, token);
            let opened = paging::parse(None, &issued, scope).map(|page| page.after);
            assert_eq!(opened, Ok(Some(token.to_owned())));
            let other = format!("{scope}x");
            assert!(paging::parse(None, &issued, &other).is_err(), "opened in another scope");
        }
    });

    // The page size rule: unset 50, above 1000 clamped, zero or negative refused.
    if let Some(bytes) = data.get(..4) {
        let n = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        match paging::page_size("page_size", Some(n)) {
            Ok(size) => assert!(n > 0 && (1..=MAX_PAGE_SIZE).contains(&size) && size <= n as u64),
            Err(_) => assert!(n <= 0),
        }
    }
});
