//! `providers:`, `architectures:` and `compare:`: named providers simulate as the
//! shorthand's systems do, a provider draws the same supply in every architecture it is
//! in, and the pair compared is the one written.

use capsim::metrics::RunMetrics;
use capsim::montecarlo;
use capsim::results::Results;

use crate::scenario;

const DEMAND: &str =
    "simulation: {horizon_hours: 1500, warmup_hours: 100, replications: 4, seed: 9}
demand:
  segments:
    - name: jobs
      arrivals_per_hour: 30
      duration_hours: {exponential: {mean: 1}}
      patience_hours: {exponential: {mean: 0.5}}
";

fn run(yaml: &str) -> Vec<RunMetrics> {
    montecarlo::run(&scenario(yaml), None).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// Every runs column of a row as bits (the system's name left out).
fn bits(row: &RunMetrics) -> Vec<(&'static str, u64)> {
    row.column_bits()
}

/// Pools without supply randomness: named providers in one-provider architectures give
/// the shorthand's numbers exactly, under their own names, and compare the same way.
#[test]
fn named_providers_simulate_as_the_shorthand() {
    let shorthand = format!(
        "name: shorthand\n{DEMAND}centralized: {{gpus: 32, pricing: {{usd_per_gpu_hour: 4}}}}\ndistributed: {{gpus: 32, pricing: {{usd_per_gpu_hour: 2}}}}\n"
    );
    let named = format!(
        "name: named\n{DEMAND}providers:\n  - {{name: hyperscaler, kind: centralized, gpus: 32, pricing: {{usd_per_gpu_hour: 4}}}}\n  - {{name: network, kind: distributed, gpus: 32, pricing: {{usd_per_gpu_hour: 2}}}}\narchitectures:\n  cloud: [hyperscaler]\n  net: [network]\n"
    );
    let (a, b) = (run(&shorthand), run(&named));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(bits(x), bits(y), "replication {}", x.replication);
        assert_eq!(x.segments, y.segments);
    }
    let names: Vec<&str> = b.iter().map(|r| r.system.as_str()).collect();
    assert_eq!(&names[..2], ["cloud", "net"]);
    let (sa, sb) = (
        Results::from_rows(&a, 0.1).savings(),
        Results::from_rows(&b, 0.1).savings(),
    );
    assert_eq!(sa.len(), 4);
    for (x, y) in sa.iter().zip(&sb) {
        assert_eq!(
            x.savings_like_for_like.to_bits(),
            y.savings_like_for_like.to_bits()
        );
        assert!((x.savings_like_for_like - 0.5).abs() < 1e-12);
    }
    let labels: Vec<String> = Results::from_rows(&b, 0.1)
        .summary_rows(false)
        .into_iter()
        .filter(|r| r.metric == "savings_like_for_like")
        .map(|r| r.system)
        .collect();
    assert_eq!(labels, ["net_vs_cloud"]);
}

/// A provider with failures and lead times draws its supply from its own streams: in two
/// architectures it gives the same rows; another provider with the same keys, its own.
#[test]
fn a_provider_draws_the_same_supply_in_every_architecture() {
    let yaml = format!(
        "name: supply\n{DEMAND}providers:\n  - name: network\n    kind: distributed\n    operators: [{{count: 4, gpus: 8, mtbf_hours: 50}}]\n  - name: twin\n    kind: distributed\n    operators: [{{count: 4, gpus: 8, mtbf_hours: 50}}]\narchitectures:\n  first: [network]\n  second: [network]\n  other: [twin]\ncompare: [first, other]\n"
    );
    let rows = run(&yaml);
    for replication in rows.chunks(3) {
        let [first, second, other] = replication else {
            panic!("three systems per replication")
        };
        assert_eq!(bits(first), bits(second));
        assert_ne!(
            bits(first),
            bits(other),
            "a different provider fails at other times"
        );
        assert_eq!(first.jobs_arrived, other.jobs_arrived, "the same jobs");
    }
    // `compare:` picks the pair among three architectures: the run's tables say so.
    let temp = crate::TempDir::create();
    std::fs::write(temp.path().join("supply.yaml"), &yaml).expect("write");
    let output = crate::capsim(
        temp.path(),
        &["run", "supply.yaml", "--out", "out", "--quiet"],
    );
    assert!(output.status.success(), "{:?}", crate::text(&output));
    let summary = capsim::output::read_table(&temp.path().join("out/summary.parquet"))
        .expect("summary.parquet");
    let systems = summary
        .column("system")
        .expect("system")
        .str()
        .expect("str");
    let labels: std::collections::BTreeSet<&str> =
        (0..systems.len()).filter_map(|i| systems.get(i)).collect();
    assert_eq!(
        labels.into_iter().collect::<Vec<_>>(),
        ["first", "other", "other_vs_first", "second"]
    );
}

/// Operator sizes drawn from a distribution are the provider's own: two providers with
/// the same groups get different operators, and each keeps its operators whatever the
/// other providers are (sizes are fixed per scenario file, keyed by name and group).
#[test]
fn operator_sizes_are_drawn_per_provider() {
    let group = "operators: [{count: 30, gpus: {4: 0.5, 8: 0.3, 16: 0.2}}]";
    let with = |others: &str| {
        scenario(&format!(
            "name: sizes\n{DEMAND}providers:\n{others}  - {{name: net, kind: distributed, {group}}}\n  - {{name: twin, kind: distributed, {group}}}\narchitectures:\n  a: [net]\n  b: [twin]\n"
        ))
    };
    let sizes = |s: &capsim::scenario::Scenario, name: &str| -> Vec<u32> {
        let provider = s
            .providers
            .iter()
            .find(|p| p.name == name)
            .expect("provider");
        provider.system.sites.iter().map(|site| site.gpus).collect()
    };
    let alone = with("");
    assert_ne!(sizes(&alone, "net"), sizes(&alone, "twin"));
    let after_another = with("  - {name: cloud, kind: centralized, gpus: 8}\n");
    assert_eq!(sizes(&alone, "net"), sizes(&after_another, "net"));
    assert_eq!(sizes(&alone, "twin"), sizes(&after_another, "twin"));
}
