//! The async driver: performs the machine's actions through the ports.

mod diagnosis;

pub use diagnosis::Diagnosis;
