//! The examples of routemeter's documentation that need heavy crates, compiled as doc tests
//! (see `doctests.md`). The crate's own test `every_ignored_example_runs_elsewhere` keeps them
//! identical to the copies in `docs/recorded.md` and the guide.
#![doc = include_str!("../doctests.md")]
