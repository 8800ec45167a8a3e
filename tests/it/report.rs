//! The HTML report, looked at the way a person would: every bundled scenario's report
//! is opened in headless Chromium, which must load it without a script error and draw
//! every chart (the page's own self-check, read back from the DOM), and a screenshot
//! is kept under `notebooks-output/report-screenshots/`.
//!
//! Chromium is found on PATH; with `CAPSIM_BROWSER_TESTS=1` (set by `.ci/run`, which
//! installs Debian's chromium) a missing browser fails the tests instead of skipping
//! the browser part.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{capsim, root, text};

fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|path| path.is_file())
            })
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CAPSIM_BROWSER_TESTS").is_none(),
            "CAPSIM_BROWSER_TESTS is set but no chromium is on PATH"
        );
        eprintln!("note: no chromium on PATH; the report's browser checks are skipped");
    }
    found
}

fn headless(browser: &Path, args: &[&str], page: &Path) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

/// Checks a report file: self-contained, loads in the browser with every chart drawn,
/// and leaves a screenshot at `screenshot`. Returns the chart ids.
fn check_report(html_path: &Path, screenshot: &Path) -> Vec<String> {
    let html = std::fs::read_to_string(html_path).expect("report.html");
    // Nothing is fetched: the only URL is the SVG namespace.
    let urls = html.matches("http://").count() + html.matches("https://").count();
    assert_eq!(
        urls,
        html.matches("http://www.w3.org/2000/svg").count(),
        "a network reference in {}",
        html_path.display()
    );
    assert!(
        !html.contains("<link") && !html.contains("src="),
        "an external resource"
    );
    let ids: Vec<String> = html
        .split(r#"<svg class="chart" id=""#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or_default().to_string())
        .collect();
    assert!(!ids.is_empty(), "no charts");
    let Some(browser) = chromium() else {
        return ids;
    };
    let dom = headless(&browser, &["--dump-dom"], html_path);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let status = dom
        .split(r#"<p id="selfcheck""#)
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .unwrap_or_default();
    assert!(
        status.contains(r#"data-ok="true""#),
        "{}: {status}",
        html_path.display()
    );
    assert!(
        status.contains(&format!(r#"data-charts="{}""#, ids.len())),
        "{}: {status}",
        html_path.display()
    );
    std::fs::create_dir_all(screenshot.parent().expect("a directory")).expect("mkdir");
    let shot = headless(
        &browser,
        &[
            "--window-size=900,4000",
            &format!("--screenshot={}", screenshot.display()),
        ],
        html_path,
    );
    let png = std::fs::read(screenshot).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&shot.stderr)
        )
    });
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a blank screenshot? {} bytes",
        png.len()
    );
    ids
}

fn screenshot_path(name: &str) -> PathBuf {
    root()
        .join("notebooks-output/report-screenshots")
        .join(format!("{name}.png"))
}

/// Every bundled scenario, 1 replication each: the report draws, with the charts its
/// systems call for.
#[test]
fn every_bundled_scenario_gets_a_report_that_draws() {
    let temp = crate::TempDir::create();
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 7);
    for scenario in &scenarios {
        let name = scenario
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let out = temp.path().join(&name);
        let args = [
            "run",
            scenario.to_str().expect("utf-8"),
            "--replications",
            "1",
            "--report",
            "--quiet",
            "--out",
            out.to_str().expect("utf-8"),
        ];
        let output = capsim(temp.path(), &args);
        assert!(output.status.success(), "{name}: {:?}", text(&output));
        let ids = check_report(&out.join("report.html"), &screenshot_path(&name));
        for id in [
            "weeks-installed_gpus",
            "weeks-utilization",
            "weeks-price_usd_per_gpu_hour",
            "weeks-queue_length",
        ] {
            assert!(ids.iter().any(|i| i == id), "{name}: no {id} in {ids:?}");
        }
        let html = std::fs::read_to_string(out.join("report.html")).expect("read");
        assert!(
            html.contains(&format!(
                "<h1>{}</h1>",
                capsim::scenario::load(scenario).expect("valid").name
            )),
            "{name}: no title"
        );
        assert!(
            html.contains("scenario hash <code>") && html.contains("· seed "),
            "{name}: no provenance"
        );
    }
}

/// A sweep and a tornado written to one directory get their charts; a report of a
/// directory without results is refused; a new run removes a report of the old one.
#[test]
fn sweeps_and_tornadoes_are_drawn_and_reports_never_go_stale() {
    let temp = crate::TempDir::create();
    let scenario = root().join("scenarios/glut-2026.yaml");
    let path = scenario.to_str().expect("utf-8");
    let sweep = capsim(
        temp.path(),
        &[
            "sweep",
            path,
            "--vary",
            "distributed.pricing.usd_per_gpu_hour=1.5,2,2.5",
            "--replications",
            "2",
            "--quiet",
            "--out",
            "both",
        ],
    );
    assert!(sweep.status.success(), "{:?}", text(&sweep));
    let tornado = capsim(
        temp.path(),
        &[
            "sensitivity",
            path,
            "--range",
            "distributed.pricing.usd_per_gpu_hour=1.5..2.5",
            "--replications",
            "2",
            "--quiet",
            "--out",
            "both",
        ],
    );
    assert!(tornado.status.success(), "{:?}", text(&tornado));
    let report = capsim(temp.path(), &["report", "both"]);
    assert!(report.status.success(), "{:?}", text(&report));
    assert_eq!(text(&report).0, "wrote both/report.html\n");
    let ids = check_report(
        &temp.path().join("both/report.html"),
        &screenshot_path("sweep-and-tornado"),
    );
    assert!(
        ids.iter().any(|id| id == "sweep-savings_like_for_like"),
        "{ids:?}"
    );
    assert!(ids.iter().any(|id| id.starts_with("tornado-")), "{ids:?}");
    assert!(
        !std::fs::read_to_string(temp.path().join("both/report.html"))
            .expect("read")
            .contains(r#"class="warning""#)
    );
    // A sensitivity analysis of another scenario written into the same place is flagged.
    let other = root().join("scenarios/mmc-example.yaml");
    let mixed = capsim(
        temp.path(),
        &[
            "sensitivity",
            other.to_str().expect("utf-8"),
            "--range",
            "centralized.gpus=60..70",
            "--replications",
            "1",
            "--quiet",
            "--out",
            "both",
        ],
    );
    assert!(mixed.status.success(), "{:?}", text(&mixed));
    assert!(capsim(temp.path(), &["report", "both"]).status.success());
    let html = std::fs::read_to_string(temp.path().join("both/report.html")).expect("read");
    assert!(
        html.contains("Warning: sensitivity.parquet comes from another scenario (mmc-example "),
        "no warning"
    );

    std::fs::create_dir(temp.path().join("empty")).expect("mkdir");
    let refused = capsim(temp.path(), &["report", "empty"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused).1.contains("holds no capsim results"),
        "{:?}",
        text(&refused)
    );
    assert!(!temp.path().join("empty/report.html").exists());

    let run = |extra: &[&str]| {
        let args = [
            &[
                "run",
                path,
                "--replications",
                "2",
                "--quiet",
                "--out",
                "run",
            ][..],
            extra,
        ]
        .concat();
        assert!(capsim(temp.path(), &args).status.success());
    };
    run(&["--report"]);
    assert!(temp.path().join("run/report.html").exists());
    run(&[]);
    assert!(
        !temp.path().join("run/report.html").exists(),
        "a report of replaced results was left"
    );
    // A shard has no summaries to report: refused before running.
    let shard = capsim(
        temp.path(),
        &[
            "run",
            path,
            "--replications",
            "2",
            "--shard",
            "0/2",
            "--report",
            "--out",
            "shards",
        ],
    );
    assert_eq!(shard.status.code(), Some(2));
    assert!(
        text(&shard)
            .1
            .contains("merge the shards, then run `capsim report`"),
        "{:?}",
        text(&shard)
    );
    assert!(!temp.path().join("shards").exists());
}
