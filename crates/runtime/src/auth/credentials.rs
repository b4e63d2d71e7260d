//! The credentials a service presents when it calls another: a bearer token read from a file (written by the
//! issuer, a sidecar or `liaison dev-pki`), re-read when the file changes so a renewed token is used without a
//! restart. The file is looked at (its modification time and size) at most once a second, so the per-call cost is
//! a lock and a clone; a re-read that fails or finds an empty file keeps the last good token, because a token
//! that is still valid beats none while the writer finishes.
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// How often the file is looked at for a change.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Why the credentials cannot be read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("service token {path}: {message}")]
pub struct CredentialsError {
    pub path: PathBuf,
    pub message: String,
}

/// This service's own token, for calls to other services.
#[derive(Debug)]
pub struct ServiceCredentials {
    path: PathBuf,
    check_every: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    token: String,
    /// The file as it was when `token` (or the last failed attempt) was read.
    stamp: Option<Stamp>,
    checked: Instant,
}

/// What tells a changed file from the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl ServiceCredentials {
    /// Reads the token file now (a missing or empty file stops the start).
    pub fn from_file(path: PathBuf) -> Result<Self, CredentialsError> {
        Self::with_check_interval(path, CHECK_EVERY)
    }

    fn with_check_interval(path: PathBuf, check_every: Duration) -> Result<Self, CredentialsError> {
        let stamp = stamp_of(&path);
        let token = read_token(&path).map_err(|message| CredentialsError { path: path.clone(), message })?;
        let state = State { token, stamp, checked: Instant::now() };
        Ok(Self { path, check_every, state: Mutex::new(state) })
    }

    /// The file the token is read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current token (re-read if the file changed).
    pub fn token(&self) -> Result<String, CredentialsError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.checked.elapsed() >= self.check_every {
            state.checked = Instant::now();
            let stamp = stamp_of(&self.path);
            if stamp != state.stamp {
                // Remembered even when the read fails, so a broken file is reported once per change, not per call.
                state.stamp = stamp;
                match read_token(&self.path) {
                    Ok(token) => {
                        if token != state.token {
                            tracing::info!(path = %self.path.display(), "service token renewed");
                        }
                        state.token = token;
                    }
                    Err(message) => tracing::warn!(
                        path = %self.path.display(),
                        error = %message,
                        "cannot re-read the service token; still using the previous one"
                    ),
                }
            }
        }
        if state.token.is_empty() {
            return Err(CredentialsError { path: self.path.clone(), message: "no token".to_owned() });
        }
        Ok(state.token.clone())
    }
}

fn stamp_of(path: &Path) -> Option<Stamp> {
    let metadata = std::fs::metadata(path).ok()?;
    Some(Stamp { modified: metadata.modified().ok(), len: metadata.len() })
}

/// The token in the file: its text, trimmed; one line of visible ASCII (it goes into `authorization` metadata).
fn read_token(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let token = text.trim();
    if token.is_empty() {
        return Err("the file is empty".to_owned());
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the token must be one line of visible ASCII characters (a JWT)".to_owned());
    }
    Ok(token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_file_stops_the_start_with_its_name() {
        let dir = tempfile::tempdir().expect("dir");
        let missing = dir.path().join("missing.token");
        let error = ServiceCredentials::from_file(missing).expect_err("missing");
        assert!(error.to_string().contains("missing.token"), "{error}");
        let empty = dir.path().join("empty.token");
        std::fs::write(&empty, " \n").expect("write");
        let error = ServiceCredentials::from_file(empty).expect_err("empty");
        assert!(error.message.contains("empty"), "{error}");
    }

    #[test]
    fn the_token_is_read_trimmed_and_re_read_after_the_file_changes() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("service.token");
        std::fs::write(&path, "first.token.value\n").expect("write");
        let credentials = ServiceCredentials::with_check_interval(path.clone(), Duration::ZERO).expect("read");
        assert_eq!(credentials.token().expect("token"), "first.token.value");
        std::fs::write(&path, "second.token.value-longer\n").expect("rewrite");
        assert_eq!(credentials.token().expect("token"), "second.token.value-longer");
    }

    #[test]
    fn the_file_is_not_looked_at_again_within_the_check_interval() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("service.token");
        std::fs::write(&path, "first").expect("write");
        let credentials =
            ServiceCredentials::with_check_interval(path.clone(), Duration::from_secs(3600)).expect("read");
        std::fs::write(&path, "second-token").expect("rewrite");
        assert_eq!(credentials.token().expect("token"), "first");
    }

    #[test]
    fn a_failed_re_read_keeps_the_last_good_token() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("service.token");
        std::fs::write(&path, "good.token").expect("write");
        let credentials = ServiceCredentials::with_check_interval(path.clone(), Duration::ZERO).expect("read");
        std::fs::write(&path, "").expect("emptied");
        assert_eq!(credentials.token().expect("token"), "good.token");
        std::fs::remove_file(&path).expect("removed");
        assert_eq!(credentials.token().expect("token"), "good.token");
        std::fs::write(&path, "renewed.token.x").expect("renewed");
        assert_eq!(credentials.token().expect("token"), "renewed.token.x");
    }
}
