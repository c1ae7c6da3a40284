//! Policy file hot path: parsing HuJSON and adding entries while keeping the text.
//!
//! Run with `cargo bench -p tailscale-client --bench policy`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tailscale_client::{IpNet, Policy};

/// A large tailnet's policy: `n` commented tag owners, ACL rules and auto-approvers.
fn large_policy(n: usize) -> String {
    let mut text = String::from("// Generated policy for the benchmark.\n{\n\t\"tagOwners\": {\n");
    for i in 0..n {
        writeln!(text, "\t\t// owner of node group {i}\n\t\t\"tag:group-{i}\": [\"autogroup:admin\", \"tag:ci\"],").unwrap();
    }
    text.push_str("\t},\n\t\"acls\": [\n");
    for i in 0..n {
        writeln!(text, "\t\t{{\"action\": \"accept\", \"src\": [\"tag:group-{i}\"], \"dst\": [\"tag:group-{i}:443\"]}}, /* rule {i} */").unwrap();
    }
    text.push_str("\t],\n\t\"autoApprovers\": {\"routes\": {\n");
    for i in 0..n {
        writeln!(
            text,
            "\t\t\"10.{}.{}.0/24\": [\"tag:group-{i}\"],",
            i / 256,
            i % 256
        )
        .unwrap();
    }
    text.push_str("\t}},\n}\n");
    text
}

fn bench_policy(c: &mut Criterion) {
    let small = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/policy.hujson"
    ))
    .expect("fixture");
    let large = large_policy(500);
    let parsed = Policy::parse(large.clone()).unwrap();
    let cidr: IpNet = "10.96.0.0/12".parse().unwrap();

    c.bench_function("parse fixture policy", |b| {
        b.iter(|| Policy::parse(black_box(small.clone())).unwrap())
    });
    c.bench_function("parse 500-rule policy", |b| {
        b.iter(|| Policy::parse(black_box(large.clone())).unwrap())
    });
    c.bench_function(
        "ensure tag owner + auto-approver + access on 500-rule policy",
        |b| {
            b.iter(|| {
                let mut policy = parsed.clone();
                policy.ensure_tag_owner("tag:talos", "tag:ci").unwrap();
                policy
                    .ensure_route_auto_approver(&cidr, "tag:talos")
                    .unwrap();
                policy.ensure_access("tag:admin", "tag:talos").unwrap();
                policy
            })
        },
    );
}

criterion_group!(benches, bench_policy);
criterion_main!(benches);
