//! Status model and rendering: the [`Status`] value and its merge table, the per-resource and
//! per-service reports, the aggregation rules, and the two outputs of `print status` (the seed's
//! text tree and JSON). Everything here is pure: drivers measure, this module only combines
//! and prints.

mod aggregate;
mod flags;
mod group;
mod merge;
mod model;
pub mod nagios;
mod render_json;
mod render_text;
mod value;
mod wrap;

pub use aggregate::aggregate;
pub use flags::Flags;
pub use group::group_of;
pub use model::{
    Reported, ResourceStatus, ServiceStatus, SyncInfo, SCHEMA_REPORTED, SCHEMA_VERSION,
};
pub use render_json::{parse_json, render_json};
pub use render_text::render_text;
pub use value::Status;
