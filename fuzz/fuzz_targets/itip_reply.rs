//! Scheduling's iTIP REPLY reader (`liaison_scheduling::domain::calendar::parse_reply`) on arbitrary text.
//!
//! Asserts: no panic; a refusal names between 1 and `MAX_REPLY_VIOLATIONS` problems, each under `ics`; an
//! accepted reply has a UID of 1 to `MAX_UID_LEN` bytes, a comment of at most `COMMENT_MAX` characters, a
//! lower-case email and a `contacts/` contact, and its RECURRENCE-ID resolves (or not) in a zone without panic;
//! LF and CRLF line ends read the same.
#![no_main]

use jiff::tz::TimeZone;
use liaison_scheduling::domain::COMMENT_MAX;
use liaison_scheduling::domain::calendar::{MAX_REPLY_BYTES, MAX_REPLY_VIOLATIONS, MAX_UID_LEN, parse_reply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The reply arrives in a protobuf string: always UTF-8.
    let Ok(text) = std::str::from_utf8(data) else { return };

    let result = parse_reply(text);
    match &result {
        Ok(reply) => {
            assert!(!reply.uid.is_empty() && reply.uid.len() <= MAX_UID_LEN);
            assert!(reply.comment.chars().count() <= COMMENT_MAX);
            if let Some(email) = &reply.attendee_email {
                assert_eq!(email, &email.to_lowercase());
            }
            if let Some(contact) = &reply.attendee_contact {
                assert!(contact.starts_with("contacts/"), "{contact:?}");
            }
            if let Some(id) = &reply.recurrence_id {
                for zone in ["Europe/Berlin", "America/New_York", "UTC"] {
                    let _ = id.local_in(&TimeZone::get(zone).expect("bundled zone"));
                }
            }
        }
        Err(violations) => {
            assert!((1..=MAX_REPLY_VIOLATIONS).contains(&violations.len()), "{} violations", violations.len());
            for violation in violations {
                assert!(violation.field.starts_with("ics"), "{violation:?}");
            }
        }
    }

    if !text.contains('\r') && 2 * text.len() <= MAX_REPLY_BYTES {
        assert_eq!(parse_reply(&text.replace('\n', "\r\n")), result, "CRLF reads differently");
    }
});
