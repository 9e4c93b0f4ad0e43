//! Prometheus recording and alerting rules, generated from checked objectives: this module
//! only gathers its parts (the recording rules' names, the YAML rule file, the text both kinds
//! of rule share, the recording rules, the burn-rate alerts and the alerting rules file) and
//! gives the rest of the generator the two files and the names the dashboard plots.

mod alerting;
mod burn_rate;
mod file;
mod names;
mod recording;
mod text;

pub(crate) use alerting::alerting;
pub(crate) use names::{errors_ratio, slow_ratio};
pub(crate) use recording::recording;
