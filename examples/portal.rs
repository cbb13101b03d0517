//! A submission portal's use of the library: records built in code (as a web form or an upload
//! gives them), scored against a shipped standard with the buyer's contract profile, and the
//! report rendered as JSON, with no file written.
//!
//! ```sh
//! cargo run --example portal
//! ```

use yardstick::{score, Format, Lang, LoadedProfile, ProfileSource, Standard, Submission};

const MANIFEST: &str = "
organisation: {name: 示例街道民意诉求服务中心}
standard: requests
period: {start: 2025-01-01, end: 2025-12-31}
";

const PROFILE: &str = "
id: PORTAL-DEMO-2025
title: 示例合同评估方案
standard: requests
parameters:
  completion_target: 0.95
";

/// One residents' request, handled in `days` working days and rated `satisfaction`.
fn request(n: u32, days: u32, satisfaction: &str) -> serde_json::Value {
    let received = format!("2025-03-{:02} 09:00", 3 + n % 20);
    let completed = format!("2025-04-{:02} 17:00", 1 + (n % 10) + days.min(18));
    serde_json::json!({
        "kind": "request",
        "id": format!("R-{n:03}"),
        "received_at": received,
        "channel": "hotline",
        "category": "environment",
        "urgency": "normal",
        "summary": "楼道堆放杂物",
        "accepted_at": format!("2025-03-{:02} 09:10", 3 + n % 20),
        "responded_at": format!("2025-03-{:02} 11:00", 3 + n % 20),
        "handling_unit": "城市管理办",
        "completed_at": completed,
        "result": "已清理",
        "notified_at": completed,
        "rated_at": completed,
        "status": "completed",
        "satisfaction": satisfaction,
    })
}

fn main() -> Result<(), yardstick::Error> {
    let records: Vec<serde_json::Value> = (1..=30)
        .map(|n| {
            request(
                n,
                n % 7,
                if n % 10 == 0 {
                    "dissatisfied"
                } else {
                    "satisfied"
                },
            )
        })
        .collect();
    let standard = Standard::builtin("requests")?;
    let submission = Submission::from_records(MANIFEST, records);
    let profile = LoadedProfile::parse(PROFILE, "portal-profile.yaml", ProfileSource::CommandLine)?;
    let report = score(&standard, &submission, Some(&profile), None, Lang::Zh)?;
    let score = report
        .summary
        .score
        .map_or("—".to_string(), |s| format!("{s:.2}"));
    let grade = report
        .summary
        .grade
        .as_ref()
        .map_or("—", |g| g.title.as_str());
    println!(
        "{} records: score {score}, grade {grade}",
        report.summary.records
    );
    for f in report.findings.iter().take(5) {
        let f = f?;
        println!(
            "  {} {}:{} {}",
            f.rule,
            f.record.file.as_deref().unwrap_or(""),
            f.record.line.unwrap_or(0),
            f.message.get(Lang::Zh)
        );
    }
    let json = yardstick::render(&report, Format::Json, false)?;
    println!("JSON report: {} bytes", json.len());
    Ok(())
}
