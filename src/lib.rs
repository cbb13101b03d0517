//! yardstick: checks social-service records against sector operating guides written as YAML,
//! and scores them.

pub mod cli;
pub mod embedded;
pub mod engine;
pub mod error;
pub mod expr;
pub mod finding;
pub mod manifest;
pub mod text;

pub use error::{Error, ErrorKind, Result};
pub use text::{Lang, Text};
pub mod profile;
pub mod records;
pub mod report;
pub mod run;
pub mod schema;
pub mod score;
pub mod sink;
pub mod standard;
pub mod submission;
