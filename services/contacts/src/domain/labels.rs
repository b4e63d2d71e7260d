//! Labels, the free tags of organisations and contacts: their syntax, and how they are stored so that one label
//! is found with `LIKE`.
use liaison_runtime::FieldViolation;

pub const LABELS_MAX: usize = 50;
pub const LABEL_MAX: usize = 63;

/// Labels: lower-case, sorted, without duplicates.
pub fn labels(field: &str, values: &[String]) -> Result<Vec<String>, Vec<FieldViolation>> {
    if values.len() > LABELS_MAX {
        return Err(vec![FieldViolation::new(field, format!("must have at most {LABELS_MAX} labels"))]);
    }
    let mut violations = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for (index, value) in values.iter().enumerate() {
        match label(&format!("{field}[{index}]"), value) {
            Ok(l) => out.push(l),
            Err(v) => violations.push(v),
        }
    }
    out.sort();
    out.dedup();
    if violations.is_empty() { Ok(out) } else { Err(violations) }
}

/// One label: 1 to 63 of `a-z 0-9 - _ : .`, starting with a letter or digit (upper case folded).
pub fn label(field: &str, value: &str) -> Result<String, FieldViolation> {
    let folded = value.trim().to_lowercase();
    let ok = !folded.is_empty()
        && folded.len() <= LABEL_MAX
        && folded.starts_with(|c: char| c.is_ascii_alphanumeric())
        && folded.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_:.".contains(c));
    if ok {
        Ok(folded)
    } else {
        Err(FieldViolation::new(
            field,
            format!(
                "'{value}' is not a label (1 to {LABEL_MAX} of a-z, 0-9, '-', '_', ':', '.', starting alphanumeric)"
            ),
        ))
    }
}

/// Labels as stored: `,a,b,` so that one label is found with `LIKE '%,a,%'`; empty when there are none.
pub fn labels_column(labels: &[String]) -> String {
    if labels.is_empty() { String::new() } else { format!(",{},", labels.join(",")) }
}

pub fn labels_from_column(column: &str) -> Vec<String> {
    column.split(',').filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_folded_sorted_and_deduplicated() {
        assert_eq!(
            labels("l", &["Water".into(), "board".into(), "water".into()]),
            Ok(vec!["board".into(), "water".into()])
        );
        assert!(labels("l", &["with space".into()]).is_err());
        assert!(labels("l", &["-lead".into()]).is_err());
        assert_eq!(labels_from_column(&labels_column(&["a".into(), "b".into()])), vec!["a", "b"]);
    }
}
