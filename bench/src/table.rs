//! The figures of a run: their samples, medians, ratios and goals, as a text
//! table and as JSON.

use serde_json::{Value, json};

/// What a figure must reach (issue 14's floors).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Goal {
    /// component / native at least this.
    RatioAtLeast(f64),
    /// component / native at most this.
    RatioAtMost(f64),
    /// The component's value at most this.
    AtMost(f64),
    /// The component's value exactly this (a count).
    Exactly(f64),
}

impl Goal {
    fn met(self, component: f64, ratio: Option<f64>) -> Option<bool> {
        match self {
            Goal::RatioAtLeast(goal) => ratio.map(|r| r >= goal),
            Goal::RatioAtMost(goal) => ratio.map(|r| r <= goal),
            Goal::AtMost(goal) => Some(component <= goal),
            Goal::Exactly(goal) => Some(component == goal),
        }
    }

    fn describe(self) -> String {
        match self {
            Goal::RatioAtLeast(goal) => format!("ratio >= {goal}"),
            Goal::RatioAtMost(goal) => format!("ratio <= {goal}"),
            Goal::AtMost(goal) => format!("<= {}", number(goal)),
            Goal::Exactly(goal) => format!("= {}", number(goal)),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub(crate) struct Figure {
    name: String,
    unit: &'static str,
    goal: Option<Goal>,
    /// The component's samples.
    pub(crate) component: Vec<f64>,
    /// The native client's samples (none for sizes).
    pub(crate) native: Vec<f64>,
    /// Some run of this figure failed.
    pub(crate) failed: bool,
}

impl Figure {
    pub(crate) fn new(name: String, unit: &'static str, goal: Option<Goal>) -> Figure {
        Figure {
            name,
            unit,
            goal,
            component: Vec::new(),
            native: Vec::new(),
            failed: false,
        }
    }

    fn medians(&self) -> (Option<f64>, Option<f64>, Option<f64>) {
        let median = |samples: &[f64]| (!samples.is_empty()).then(|| median(samples));
        let component = median(&self.component);
        let native = median(&self.native);
        let ratio = component
            .zip(native)
            .filter(|&(_, n)| n > 0.0)
            .map(|(c, n)| c / n);
        (component, native, ratio)
    }

    /// `Some(met)` for a figure with a goal and a value.
    fn goal_met(&self) -> Option<bool> {
        let (component, _, ratio) = self.medians();
        if self.failed {
            return Some(false);
        }
        self.goal?.met(component?, ratio)
    }

    pub(crate) fn to_json(&self) -> Value {
        let (component, native, ratio) = self.medians();
        json!({
            "figure": self.name,
            "unit": self.unit,
            "component": component,
            "native": native,
            "ratio": ratio,
            "goal": self.goal.map(Goal::describe),
            "goal_met": self.goal_met(),
            "failed": self.failed,
            "component_samples": self.component,
            "native_samples": self.native,
        })
    }
}

/// The median of `samples` (the mean of the middle two for an even count).
pub(crate) fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// A number with as many decimals as are meaningful for its size.
fn number(value: f64) -> String {
    match value.abs() {
        v if v >= 100.0 => format!("{value:.0}"),
        v if v >= 10.0 => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    }
}

/// The table: figure, unit, component, native, ratio, goal.
pub(crate) fn render(figures: &[Figure]) -> String {
    let header = ["figure", "unit", "component", "native", "ratio", "goal"].map(String::from);
    let rows: Vec<[String; 6]> = figures
        .iter()
        .map(|figure| {
            let (component, native, ratio) = figure.medians();
            let show = |v: Option<f64>| v.map(number).unwrap_or_else(|| "-".into());
            let goal = match (figure.goal, figure.goal_met()) {
                (_, Some(false)) if figure.failed => "FAILED".to_string(),
                (Some(goal), Some(met)) => {
                    format!("{} {}", goal.describe(), if met { "ok" } else { "missed" })
                }
                _ => String::new(),
            };
            [
                figure.name.clone(),
                figure.unit.to_string(),
                show(component),
                show(native),
                show(ratio),
                goal,
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(column, (cell, width))| match column {
                0 | 1 | 5 => format!("{cell:<width$}"),
                _ => format!("{cell:>width$}"),
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn goals_compare_ratio_or_value() {
        let mut figure = Figure::new("x".into(), "msg/s", Some(Goal::RatioAtLeast(0.5)));
        figure.component = vec![40.0, 60.0, 50.0];
        figure.native = vec![100.0];
        assert_eq!(figure.goal_met(), Some(true));
        figure.component = vec![40.0];
        assert_eq!(figure.goal_met(), Some(false));
        let mut size = Figure::new("s".into(), "bytes", Some(Goal::AtMost(10.0)));
        size.component = vec![11.0];
        assert_eq!(size.goal_met(), Some(false));
        let table = render(&[figure, size]);
        assert!(table.starts_with("figure"), "{table}");
        assert!(table.contains("ratio >= 0.5 missed"), "{table}");
        assert!(table.contains("<= 10.0 missed"), "{table}");
        let mut count = Figure::new("n".into(), "msgs", Some(Goal::Exactly(20_000.0)));
        count.component = vec![20_000.0];
        assert!(render(&[count]).contains("= 20000 ok"));
    }
}
