//! What nodes say to each other: the names a peer passes on a `drpilot peer ...` command line,
//! each checked once, in one place, before the receiving node uses it.

pub mod names;
