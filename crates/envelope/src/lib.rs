//! Envelope format engine (work in progress).
