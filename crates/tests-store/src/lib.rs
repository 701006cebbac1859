//! The storage contract suite lives in `tests/`.
