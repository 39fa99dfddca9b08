//! The experiments of the paper, one module each, each writing figures, CSVs and a report.

/// One reproducible experiment: its command name, what it reproduces and its status.
#[derive(Debug, Clone, Copy)]
pub struct ExperimentInfo {
    /// The name used on the command line (`fig1`).
    pub name: &'static str,
    /// What the experiment reproduces.
    pub summary: &'static str,
    /// Typical wall time with default settings, or `None` while it is not implemented.
    pub typical_time: Option<&'static str>,
}

/// Every experiment the project knows, implemented or planned.
pub const EXPERIMENTS: &[ExperimentInfo] = &[
    ExperimentInfo {
        name: "fig1",
        summary: "Figure 1: sine curve in 2-D, standard flow vs spread flow (ID 1)",
        typical_time: None,
    },
    ExperimentInfo {
        name: "fading-squares",
        summary: "32x32 fading squares (1024-D, ID 1) with the authors' exact model",
        typical_time: None,
    },
    ExperimentInfo {
        name: "spread-study",
        summary: "when the learned prior reveals the intrinsic dimension (noise x placement x seeds)",
        typical_time: None,
    },
];

/// Look up an experiment by its command-line name.
pub fn find(name: &str) -> Option<&'static ExperimentInfo> {
    EXPERIMENTS.iter().find(|e| e.name == name)
}
