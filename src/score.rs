//! The scoring arithmetic of standard-format.md, as pure functions.

use crate::standard::{Band, Direction, Grade, IndicatorScoring, RuleScoring};

/// A rule's earned points over its applicable records (`passed` counts waived results,
/// `failed` counts errors).
pub fn rule_points(scoring: RuleScoring, points: f64, passed: u64, failed: u64) -> f64 {
    let applicable = passed + failed;
    if applicable == 0 {
        return 0.0;
    }
    match scoring {
        RuleScoring::Ratio => points * passed as f64 / applicable as f64,
        RuleScoring::All => {
            if failed == 0 {
                points
            } else {
                0.0
            }
        }
        RuleScoring::Deduct(d) => (points - d * failed as f64).max(0.0),
    }
}

/// Whether an indicator's value meets its target.
pub fn meets(direction: Direction, value: f64, target: f64) -> bool {
    match direction {
        Direction::Higher => value >= target,
        Direction::Lower => value <= target,
    }
}

/// An indicator's earned points for a value against its target.
pub fn indicator_points(
    scoring: &IndicatorScoring,
    direction: Direction,
    points: f64,
    value: f64,
    target: f64,
) -> f64 {
    let earned = match scoring {
        IndicatorScoring::Threshold => {
            if meets(direction, value, target) {
                points
            } else {
                0.0
            }
        }
        IndicatorScoring::Proportional => {
            let ratio = match direction {
                Direction::Higher if target <= 0.0 => 1.0,
                Direction::Higher => value / target,
                Direction::Lower if value <= 0.0 => 1.0,
                Direction::Lower => target / value,
            };
            points * ratio.min(1.0)
        }
        IndicatorScoring::Linear(linear) => {
            let zero = linear.zero_at;
            // A target from the parameters may reach the floor or pass it (a contract's lower
            // target): there is no scale left, so the target is met or not.
            let degenerate = match direction {
                Direction::Higher => target <= zero,
                Direction::Lower => target >= zero,
            };
            if degenerate {
                return if meets(direction, value, target) {
                    points
                } else {
                    0.0
                };
            }
            let fraction = match direction {
                Direction::Higher => (value - zero) / (target - zero),
                Direction::Lower => (zero - value) / (zero - target),
            };
            if fraction.is_finite() {
                points * fraction
            } else if meets(direction, value, target) {
                points
            } else {
                0.0
            }
        }
        IndicatorScoring::Bands(bands) => band_points(bands, direction, value),
    };
    earned.clamp(0.0, points)
}

fn band_points(bands: &[Band], direction: Direction, value: f64) -> f64 {
    bands
        .iter()
        .find(|b| match direction {
            Direction::Higher => b.min.is_some_and(|min| value >= min),
            Direction::Lower => b.max.is_some_and(|max| value <= max),
        })
        .map_or(0.0, |b| b.points)
}

/// Rounds to two decimals, half away from zero, as shown. The value is first taken to nine
/// decimals so that binary noise (87.125 held as 87.12499999…) rounds as the decimal would.
pub fn round2(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let cleaned: f64 = format!("{x:.9}").parse().unwrap_or(x);
    let scaled = cleaned * 100.0;
    let rounded = scaled.round();
    // f64::round is half away from zero; re-check halves that scaling pushed off by one ulp.
    let fixed = if ((scaled - scaled.trunc()).abs() - 0.5).abs() < 1e-7 {
        scaled.trunc() + scaled.signum()
    } else {
        rounded
    };
    let out = fixed / 100.0;
    if out == 0.0 {
        0.0
    } else {
        out
    }
}

/// The total on the standard's scale: earned / possible × total_points (unrounded); `None`
/// when nothing was applicable.
pub fn total(earned: f64, possible: f64, total_points: f64) -> Option<f64> {
    (possible > 0.0).then(|| earned / possible * total_points)
}

/// The grade of a rounded score: the first band (highest first) whose `min` it reaches; the
/// lowest grade when vetoed or when it reaches none.
pub fn grade(grades: &[Grade], rounded_score: f64, vetoed: bool) -> Option<&Grade> {
    if vetoed {
        return grades.last();
    }
    grades
        .iter()
        .find(|g| rounded_score >= g.min)
        .or_else(|| grades.last())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standard::model::Linear;
    use crate::text::Text;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn ratio_earns_the_share_of_passes() {
        close(rule_points(RuleScoring::Ratio, 5.0, 3, 1), 3.75);
        close(rule_points(RuleScoring::Ratio, 4.0, 2, 1), 8.0 / 3.0);
        close(rule_points(RuleScoring::Ratio, 5.0, 0, 0), 0.0);
    }

    #[test]
    fn all_earns_nothing_after_one_failure() {
        close(rule_points(RuleScoring::All, 6.0, 10, 0), 6.0);
        close(rule_points(RuleScoring::All, 6.0, 9, 1), 0.0);
    }

    #[test]
    fn deduct_takes_per_failure_down_to_zero() {
        close(rule_points(RuleScoring::Deduct(1.0), 5.0, 7, 2), 3.0);
        close(rule_points(RuleScoring::Deduct(1.5), 5.0, 0, 3), 0.5);
        close(rule_points(RuleScoring::Deduct(2.0), 5.0, 0, 4), 0.0);
    }

    #[test]
    fn threshold_is_all_or_nothing_in_either_direction() {
        let t = IndicatorScoring::Threshold;
        close(
            indicator_points(&t, Direction::Higher, 10.0, 0.9, 0.9),
            10.0,
        );
        close(
            indicator_points(&t, Direction::Higher, 10.0, 0.89, 0.9),
            0.0,
        );
        close(indicator_points(&t, Direction::Lower, 4.0, 0.05, 0.05), 4.0);
        close(indicator_points(&t, Direction::Lower, 4.0, 0.06, 0.05), 0.0);
    }

    #[test]
    fn proportional_scales_up_to_full_points() {
        let p = IndicatorScoring::Proportional;
        close(
            indicator_points(&p, Direction::Higher, 10.0, 24.0, 30.0),
            8.0,
        );
        close(
            indicator_points(&p, Direction::Higher, 10.0, 45.0, 30.0),
            10.0,
        );
        close(indicator_points(&p, Direction::Lower, 6.0, 0.1, 0.05), 3.0);
        close(indicator_points(&p, Direction::Lower, 6.0, 0.0, 0.05), 6.0);
    }

    #[test]
    fn linear_runs_from_zero_at_to_the_target() {
        let l = IndicatorScoring::Linear(Linear { zero_at: 0.7 });
        close(indicator_points(&l, Direction::Higher, 10.0, 0.8, 0.9), 5.0);
        close(indicator_points(&l, Direction::Higher, 10.0, 0.6, 0.9), 0.0);
        close(
            indicator_points(&l, Direction::Higher, 10.0, 0.95, 0.9),
            10.0,
        );
        let l = IndicatorScoring::Linear(Linear { zero_at: 10.0 });
        close(indicator_points(&l, Direction::Lower, 8.0, 4.0, 2.0), 6.0);
        close(indicator_points(&l, Direction::Lower, 8.0, 12.0, 2.0), 0.0);
    }

    #[test]
    fn linear_with_a_target_at_or_past_its_floor_is_met_or_not() {
        // A contract's target of 0.85 under a floor of 0.9: a value of 0.95 meets it in full.
        let l = IndicatorScoring::Linear(Linear { zero_at: 0.9 });
        close(
            indicator_points(&l, Direction::Higher, 10.0, 0.95, 0.85),
            10.0,
        );
        close(
            indicator_points(&l, Direction::Higher, 10.0, 0.8, 0.85),
            0.0,
        );
        close(
            indicator_points(&l, Direction::Higher, 10.0, 0.9, 0.9),
            10.0,
        );
        let l = IndicatorScoring::Linear(Linear { zero_at: 0.1 });
        close(indicator_points(&l, Direction::Lower, 4.0, 0.1, 0.2), 4.0);
        close(indicator_points(&l, Direction::Lower, 4.0, 0.3, 0.2), 0.0);
    }

    #[test]
    fn bands_take_the_first_band_reached_in_written_order() {
        let bands = IndicatorScoring::Bands(vec![
            Band {
                min: Some(0.95),
                max: None,
                points: 10.0,
            },
            Band {
                min: Some(0.9),
                max: None,
                points: 7.0,
            },
            Band {
                min: Some(0.8),
                max: None,
                points: 4.0,
            },
        ]);
        close(
            indicator_points(&bands, Direction::Higher, 10.0, 0.97, 0.95),
            10.0,
        );
        close(
            indicator_points(&bands, Direction::Higher, 10.0, 0.92, 0.95),
            7.0,
        );
        close(
            indicator_points(&bands, Direction::Higher, 10.0, 0.5, 0.95),
            0.0,
        );
        let lower = IndicatorScoring::Bands(vec![
            Band {
                min: None,
                max: Some(1.0),
                points: 5.0,
            },
            Band {
                min: None,
                max: Some(3.0),
                points: 2.0,
            },
        ]);
        close(
            indicator_points(&lower, Direction::Lower, 5.0, 2.0, 1.0),
            2.0,
        );
        close(
            indicator_points(&lower, Direction::Lower, 5.0, 4.0, 1.0),
            0.0,
        );
    }

    #[test]
    fn rounding_is_half_away_from_zero_on_the_decimal_value() {
        assert_eq!(round2(87.125), 87.13);
        assert_eq!(round2(1.005), 1.01);
        assert_eq!(round2(-2.345), -2.35);
        assert_eq!(round2(89.994999), 89.99);
        assert_eq!(round2(2.0 / 3.0 * 100.0), 66.67);
    }

    #[test]
    fn grade_uses_the_rounded_total_and_veto_forces_the_lowest() {
        let g = |id: &str, min: f64| Grade {
            id: id.into(),
            min,
            title: Text::Plain(id.into()),
        };
        let grades = vec![
            g("excellent", 90.0),
            g("good", 80.0),
            g("pass", 60.0),
            g("fail", 0.0),
        ];
        let raw = total(89.996, 100.0, 100.0).unwrap();
        assert_eq!(grade(&grades, round2(raw), false).unwrap().id, "excellent");
        assert_eq!(grade(&grades, 79.99, false).unwrap().id, "pass");
        assert_eq!(grade(&grades, 95.0, true).unwrap().id, "fail");
        close(total(70.0, 80.0, 100.0).unwrap(), 87.5);
        assert_eq!(total(0.0, 0.0, 100.0), None);
    }
}
