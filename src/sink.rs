//! Where findings go as evaluation finds them: a sink takes each finding once, in the order the
//! records were read. A printer that streams implements it; [`Collector`] keeps them for a report.

use crate::finding::Finding;

/// Takes each finding as it is found.
pub trait FindingSink {
    fn finding(&mut self, finding: Finding);
}

/// Keeps every finding, for a report that lists them in report order.
#[derive(Debug, Default)]
pub struct Collector {
    findings: Vec<Finding>,
}

impl Collector {
    pub fn new() -> Collector {
        Collector::default()
    }

    /// The findings kept, in report order.
    pub fn into_sorted(mut self) -> Vec<Finding> {
        self.findings.sort_by(crate::finding::report_order);
        self.findings
    }
}

impl FindingSink for Collector {
    fn finding(&mut self, finding: Finding) {
        self.findings.push(finding);
    }
}

impl<F: FnMut(Finding)> FindingSink for F {
    fn finding(&mut self, finding: Finding) {
        self(finding)
    }
}
