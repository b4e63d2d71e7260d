//! Update masks (AIP-134): which fields an update changes.
use crate::error::FieldViolation;

/// The set of fields an update touches, checked against what the resource allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateMask(Vec<&'static str>);

impl UpdateMask {
    /// An absent or empty mask, or `*`, means every updatable field; an unknown path is a violation naming it.
    pub fn parse(
        field: &str,
        mask: Option<&prost_types::FieldMask>,
        updatable: &[&'static str],
    ) -> Result<Self, Vec<FieldViolation>> {
        let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
        if paths.is_empty() || paths.iter().any(|p| p == "*") {
            return Ok(Self(updatable.to_vec()));
        }
        let mut chosen = Vec::new();
        let mut violations = Vec::new();
        for (index, path) in paths.iter().enumerate() {
            match updatable.iter().find(|u| **u == path.as_str()) {
                Some(known) if !chosen.contains(known) => chosen.push(*known),
                Some(_) => {}
                None => violations.push(FieldViolation::new(
                    format!("{field}.paths[{index}]"),
                    format!("'{path}' is not an updatable field; updatable: {}", updatable.join(", ")),
                )),
            }
        }
        if violations.is_empty() { Ok(Self(chosen)) } else { Err(violations) }
    }

    pub fn contains(&self, path: &str) -> bool {
        self.0.contains(&path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_mask_means_every_field() {
        let mask = UpdateMask::parse("update_mask", None, &["a", "b"]).expect("valid");
        assert!(mask.contains("a") && mask.contains("b"));
    }

    #[test]
    fn an_unknown_path_is_named() {
        let mask = prost_types::FieldMask { paths: vec!["a".into(), "etag".into()] };
        let err = UpdateMask::parse("update_mask", Some(&mask), &["a", "b"]).expect_err("etag is not updatable");
        assert_eq!(err[0].field, "update_mask.paths[1]");
    }

    #[test]
    fn only_named_fields_are_touched() {
        let mask = prost_types::FieldMask { paths: vec!["b".into()] };
        let mask = UpdateMask::parse("update_mask", Some(&mask), &["a", "b"]).expect("valid");
        assert!(!mask.contains("a") && mask.contains("b"));
    }
}
