//! Signing keys and minted tokens for development and tests (`liaison token`). SKELETON: filled in by the JWT work.
