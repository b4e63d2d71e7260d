//! Update masks (AIP-134): which fields an update changes.
//!
//! - an absent or empty mask means the fields *present* in the request's resource (set to a non-default value,
//!   as they travel on the wire), so `{"contact": {"name": …, "display_name": "Renamed"}}` changes only the
//!   display name and leaves the rest as it was;
//! - `*` means a full replacement of every updatable field (an unset one is cleared);
//! - paths are accepted in snake_case and in lowerCamelCase (grpcurl prints JSON names, operators copy them).
use crate::api::error::FieldViolation;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The most paths one mask may name: far more than any resource has updatable fields (each may come twice, in
/// snake_case and lowerCamelCase), checked before any path is looked at.
pub const MAX_PATHS: usize = 100;

/// The set of fields an update touches, checked against what the resource allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMask(Vec<&'static str>);

impl UpdateMask {
    /// The mask of an update of `resource`: the paths of `mask` (each one checked against `updatable`, every
    /// unknown one named), `*` for every updatable field, or — when the mask is absent or empty — the updatable
    /// fields that `resource` carries.
    pub fn parse<M: prost::Name>(
        field: &str,
        mask: Option<&prost_types::FieldMask>,
        resource: &M,
        updatable: &[&'static str],
    ) -> Result<Self, Vec<FieldViolation>> {
        let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
        if paths.len() > MAX_PATHS {
            return Err(vec![FieldViolation::new(
                format!("{field}.paths"),
                format!(
                    "must name at most {MAX_PATHS} paths (got {}); updatable: {}",
                    paths.len(),
                    updatable.join(", ")
                ),
            )]);
        }
        if paths.is_empty() {
            let present = present_fields(resource);
            return Ok(Self(updatable.iter().copied().filter(|u| present.contains(u)).collect()));
        }
        if paths.iter().any(|p| p.trim() == "*") {
            return Ok(Self(updatable.to_vec()));
        }
        let mut chosen = Vec::new();
        let mut violations = Vec::new();
        for (index, path) in paths.iter().enumerate() {
            let snake = snake_case(path.trim());
            match updatable.iter().find(|u| **u == snake) {
                Some(known) if !chosen.contains(known) => chosen.push(*known),
                Some(_) => {}
                None => violations.push(FieldViolation::new(
                    format!("{field}.paths[{index}]"),
                    format!("'{}' is not an updatable field; updatable: {}", shown(path), updatable.join(", ")),
                )),
            }
        }
        if violations.is_empty() { Ok(Self(chosen)) } else { Err(violations) }
    }

    pub fn contains(&self, path: &str) -> bool {
        self.0.contains(&path)
    }
}

/// A path as an answer quotes it: at most 64 characters of it.
fn shown(path: &str) -> String {
    match path.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &path[..end]),
        None => path.to_owned(),
    }
}

/// `displayName` → `display_name`; a path already in snake_case (or with dots) is kept as it is.
fn snake_case(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The names of the top-level fields `message` sets: those on the wire (proto3 leaves default values off it).
fn present_fields<M: prost::Name>(message: &M) -> Vec<&'static str> {
    let names = field_names(&M::full_name());
    let encoded = message.encode_to_vec();
    let mut buf = encoded.as_slice();
    let mut present = Vec::new();
    while !buf.is_empty() {
        let Ok((tag, wire_type)) = prost::encoding::decode_key(&mut buf) else { break };
        if let Some(name) = names.and_then(|n| n.get(&tag)) {
            present.push(name.as_str());
        }
        if prost::encoding::skip_field(wire_type, tag, &mut buf, prost::encoding::DecodeContext::default()).is_err() {
            break;
        }
    }
    present
}

/// Field number → name of every Liaison message, read once from the descriptors ([`crate::api::descriptors`]).
fn field_names(message: &str) -> Option<&'static HashMap<u32, String>> {
    static INDEX: OnceLock<HashMap<String, HashMap<u32, String>>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            let messages = crate::api::descriptors::pool().into_iter().flat_map(|pool| pool.all_messages());
            messages
                .map(|message| {
                    let fields = message.fields().map(|field| (field.number(), field.name().to_owned())).collect();
                    (message.full_name().to_owned(), fields)
                })
                .collect()
        })
        .get(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use liaison_proto::contacts::v1::Contact;

    fn paths(paths: &[&str]) -> prost_types::FieldMask {
        prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }
    }

    const UPDATABLE: &[&str] = &["display_name", "notes", "labels", "time_zone"];

    #[test]
    fn an_absent_mask_means_the_fields_present_in_the_request() {
        let renamed = Contact { name: "contacts/x".into(), display_name: "Renamed".into(), ..Default::default() };
        let mask = UpdateMask::parse("update_mask", None, &renamed, UPDATABLE).expect("valid");
        assert_eq!(mask, UpdateMask(vec!["display_name"]), "name identifies the contact; nothing else was set");
        let empty = paths(&[]);
        let mask = UpdateMask::parse("update_mask", Some(&empty), &renamed, UPDATABLE).expect("valid");
        assert_eq!(mask, UpdateMask(vec!["display_name"]));
    }

    #[test]
    fn a_star_replaces_every_updatable_field() {
        let mask = UpdateMask::parse("update_mask", Some(&paths(&["*"])), &Contact::default(), UPDATABLE);
        assert_eq!(mask.expect("valid"), UpdateMask(UPDATABLE.to_vec()));
    }

    #[test]
    fn camel_case_paths_are_the_snake_case_fields() {
        let mask = paths(&["displayName", "time_zone", "timeZone"]);
        let mask = UpdateMask::parse("update_mask", Some(&mask), &Contact::default(), UPDATABLE).expect("valid");
        assert_eq!(mask, UpdateMask(vec!["display_name", "time_zone"]));
    }

    #[test]
    fn every_unknown_path_is_named() {
        let mask = paths(&["notes", "etag", "createTime"]);
        let err = UpdateMask::parse("update_mask", Some(&mask), &Contact::default(), UPDATABLE).expect_err("bad");
        let fields: Vec<&str> = err.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["update_mask.paths[1]", "update_mask.paths[2]"]);
    }

    #[test]
    fn a_mask_of_too_many_paths_is_refused_before_any_path_is_read() {
        let huge = prost_types::FieldMask { paths: vec!["x".to_owned(); 2_000_000] };
        let started = std::time::Instant::now();
        let err = UpdateMask::parse("update_mask", Some(&huge), &Contact::default(), UPDATABLE).expect_err("too many");
        assert_eq!(err.len(), 1, "one violation, not one per path");
        assert_eq!(err[0].field, "update_mask.paths");
        assert!(err[0].description.contains("at most 100 paths (got 2000000)"), "{}", err[0].description);
        // Generous: refusing reads the length only; the loop it replaces took seconds and gigabytes.
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
        let at_limit = paths(&["notes"; MAX_PATHS]);
        assert!(UpdateMask::parse("update_mask", Some(&at_limit), &Contact::default(), UPDATABLE).is_ok());
    }

    #[test]
    fn an_unknown_path_is_quoted_short() {
        let long = "y".repeat(10_000);
        let err = UpdateMask::parse("update_mask", Some(&paths(&[&long])), &Contact::default(), UPDATABLE);
        let err = err.expect_err("unknown");
        assert!(err[0].description.len() < 200, "{}", err[0].description.len());
    }

    #[test]
    fn only_named_fields_are_touched() {
        let mask = UpdateMask::parse("update_mask", Some(&paths(&["notes"])), &Contact::default(), UPDATABLE);
        let mask = mask.expect("valid");
        assert!(!mask.contains("display_name") && mask.contains("notes"));
    }
}

#[cfg(test)]
mod proptests;
