//! Etags: a resource's revision, rendered opaquely. Updates are `UPDATE … WHERE revision = <expected>`, so a
//! concurrent writer is detected by the database, not by a read followed by a write.
use crate::api::error::FieldViolation;

/// The etag of a resource at `revision`.
pub fn render(revision: i64) -> String {
    format!("\"r{revision}\"")
}

/// Parses an etag sent back by a client, with or without its quotes (a JSON string holding `"r3"` is easy to
/// type as `r3`); empty means "no check".
pub fn parse_expected(field: &str, etag: &str) -> Result<Option<i64>, FieldViolation> {
    let trimmed = etag.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let bare = trimmed.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')).unwrap_or(trimmed);
    bare.strip_prefix('r')
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n > 0)
        .map(Some)
        .ok_or_else(|| FieldViolation::new(field, format!("'{etag}' is not an etag issued by this service")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_etag_round_trips() {
        assert_eq!(parse_expected("etag", &render(7)), Ok(Some(7)));
        assert_eq!(parse_expected("etag", ""), Ok(None));
        assert_eq!(parse_expected("etag", "r7"), Ok(Some(7)), "without its quotes");
        assert_eq!(parse_expected("etag", " \"r7\" "), Ok(Some(7)));
        for bad in ["7", "\"r7", "r7\"", "r", "r0", "r-1", "r+7", "\"\"", "x7"] {
            assert!(parse_expected("etag", bad).is_err(), "{bad:?}");
        }
    }
}
