//! yardstick: checks social-service records against sector operating guides written as YAML,
//! and scores them.

pub mod embedded;
pub mod error;
pub mod expr;
pub mod text;

pub use error::{Error, ErrorKind, Result};
pub use text::{Lang, Text};
pub mod schema;
pub mod records;
pub mod standard;
