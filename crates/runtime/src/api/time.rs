//! Conversions between protobuf timestamps and chrono, checked at the edge.
use crate::api::error::FieldViolation;
use chrono::{DateTime, Utc};

pub fn to_timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: time.timestamp(), nanos: time.timestamp_subsec_nanos() as i32 }
}

/// A required timestamp between year 1900 and 9999.
pub fn from_timestamp(field: &str, value: Option<&prost_types::Timestamp>) -> Result<DateTime<Utc>, FieldViolation> {
    let value = value.ok_or_else(|| FieldViolation::new(field, "is required"))?;
    if !(0..1_000_000_000).contains(&value.nanos) {
        return Err(FieldViolation::new(field, "nanos must be within 0..999999999"));
    }
    DateTime::from_timestamp(value.seconds, value.nanos as u32)
        .filter(|t| (-2_208_988_800..253_402_300_800).contains(&t.timestamp()))
        .ok_or_else(|| FieldViolation::new(field, "must be between the years 1900 and 9999"))
}

/// Now, truncated to microseconds so that what is stored (PostgreSQL keeps microseconds) equals what is returned.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}
