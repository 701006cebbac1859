//! `shengshi bench verify` and `shengshi bench audit` end to end in a tiny
//! configuration: every code verifies over HTTP, and the counts they report
//! are consistent (the ratios are the benchmarks' business, not a test's:
//! a debug build on a shared machine says nothing about them).

use shengshi::bench_audit::{self, AuditBenchArgs};
use shengshi::bench_verify::{self, VerifyBenchArgs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_verify_verifies_every_code_and_counts_its_commits() {
    let args = VerifyBenchArgs {
        clients: 3,
        requests: 30,
        raw_ms: 20,
    };
    let report = bench_verify::measure(None, &args)
        .await
        .expect("the bench runs");
    let storm = &report.storm;
    assert_eq!(storm.verifications, 30);
    assert!(report.raw_per_second > 0.0);
    assert!(storm.per_second() > 0.0);
    assert!(storm.p50 <= storm.p99 && !storm.p99.is_zero());
    // Every verification is logged durably: one entry each, at least one
    // commit, never more than one per verification (batches group, and each
    // batch settles its verifications' claims too).
    assert_eq!(storm.logged, 30, "{storm:?}");
    assert!((1..=30).contains(&storm.commits), "{storm:?}");
    let per = storm.commits_per_verification();
    assert!(per > 0.0 && per <= 1.0, "{per}");
    assert_eq!(report.passed, report.ratio >= bench_verify::RATIO_LIMIT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_audit_runs_the_storm_with_the_log_on_and_off() {
    let args = AuditBenchArgs {
        clients: 2,
        requests: 20,
    };
    let report = bench_audit::measure(None, &args)
        .await
        .expect("the bench runs");
    let order: Vec<bool> = report.storms.iter().map(|(on, _)| *on).collect();
    assert_eq!(order, [true, false, false, true]);
    for (on, storm) in &report.storms {
        assert_eq!(storm.verifications, 20);
        // Claims are durable either way: in the log's batches when it is
        // on, in batches of their own when it is off.
        assert!((1..=20).contains(&storm.commits), "{storm:?}");
        assert_eq!(storm.logged, if *on { 20 } else { 0 }, "{storm:?}");
    }
    assert!(report.on_per_second > 0.0 && report.off_per_second > 0.0);
    assert!(
        report.log_commits_per_access > 0.0 && report.log_commits_per_access <= 1.0,
        "{}",
        report.log_commits_per_access
    );
    assert_eq!(report.passed, report.ratio >= bench_audit::RATIO_LIMIT);
}
