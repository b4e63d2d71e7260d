//! End-to-end tests of the `liaison` binary; the tests and their helpers live under `tests/`.
