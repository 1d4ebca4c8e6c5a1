//! The ip driver on the root testbed: a service address comes up with the interface's prefix
//! and an alias label, answers from the other host, goes away on stop, and is refused while
//! another host answers it.

mod support;

use drpilot::lab::testbed::seed_service::{DRP, PROD};
use support::testbed::{on, svc, testbed};

const CONFIG: &str = "[DEFAULT]\nnodes = deb1.opensvc.com\ndrpnodes = deb2.opensvc.com\n\n\
[ip#1]\nipdev = eth0\nipname = busybox.opensvc.com\n";

#[test]
fn an_address_comes_up_and_is_refused_while_it_answers_elsewhere() {
    let Some(tb) = testbed("ip driver on the testbed", &["arping", "busybox"]) else {
        return;
    };
    for node in [PROD, DRP] {
        tb.write_file(node, "/etc/drpilot/ipsvc.env", CONFIG)
            .expect("config");
        let bin = support::testbed::host_bin(&tb);
        tb.write_file(
            node,
            "/etc/drpilot/nodes.toml",
            &tb.node_map(&bin).to_toml(),
        )
        .expect("nodes");
    }
    let addr = tb.subnet.host(21).to_string();
    let down = support::testbed::status(&tb, PROD, "ipsvc");
    assert_eq!(support::resource(&down, "ip#1")["status"], "down", "{down}");

    // deb2 believes the address lives at another Ethernet address: the start's gratuitous ARP
    // must correct it.
    on(
        &tb,
        DRP,
        &[
            "ip",
            "neigh",
            "replace",
            &addr,
            "lladdr",
            "02:00:00:00:00:99",
            "dev",
            "eth0",
            "nud",
            "stale",
        ],
    )
    .expect_ok("a stale neighbour entry on deb2");
    let started = svc(&tb, PROD, "ipsvc", &["start"]).expect_ok("start on deb1");
    assert!(
        started
            .stdout
            .contains(&format!("checking {addr} availability")),
        "{}",
        started.stdout
    );
    assert!(
        started
            .stdout
            .contains(&format!("gratuitous ARP: {addr} is at")),
        "{}",
        started.stdout
    );
    // (From ip, not /sys: the hosts share the machine's sysfs, not its network namespaces.)
    let link = on(&tb, PROD, &["ip", "-o", "link", "show", "dev", "eth0"]).expect_ok("ip link");
    let mac = link
        .stdout
        .split_whitespace()
        .skip_while(|w| *w != "link/ether")
        .nth(1)
        .unwrap_or_else(|| panic!("no link/ether in {}", link.stdout))
        .to_string();
    let neigh = on(&tb, DRP, &["ip", "neigh", "show", &addr, "dev", "eth0"]).expect_ok("ip neigh");
    assert!(
        neigh.stdout.contains(&mac),
        "deb2 still has {} for {addr}, not deb1's {mac}",
        neigh.stdout
    );
    let shown = on(&tb, PROD, &["ip", "-o", "addr", "show", "dev", "eth0"]).expect_ok("ip addr");
    assert!(
        shown.stdout.contains(&format!("inet {addr}/24")),
        "{}",
        shown.stdout
    );
    assert!(
        shown.stdout.contains("eth0:1"),
        "alias label missing: {}",
        shown.stdout
    );
    on(&tb, DRP, &["busybox", "ping", "-c", "1", "-W", "2", &addr])
        .expect_ok("deb2 pings the address");

    // deb2 may not take it: the split-brain guard names deb1 first...
    let refused = svc(&tb, DRP, "ipsvc", &["start"]).expect_err("start on deb2");
    assert!(
        refused.stderr.contains("deb1.opensvc.com"),
        "{}",
        refused.stderr
    );
    // ...and with the service down on deb1 but the address held by a third machine (the
    // testbed's own bridge, standing for a stray host), the ip check refuses.
    svc(&tb, PROD, "ipsvc", &["stop"]).expect_ok("stop on deb1");
    let gone = on(&tb, PROD, &["ip", "-o", "addr", "show", "dev", "eth0"]).expect_ok("ip addr");
    assert!(
        !gone.stdout.contains(&format!("inet {addr}/")),
        "{}",
        gone.stdout
    );
    let squat = |verb: &str| {
        let st = tb
            .operator_command("ip")
            .args(["addr", verb, &format!("{addr}/32"), "dev", &tb.bridge])
            .status()
            .expect("ip");
        assert!(st.success(), "ip addr {verb} on the bridge");
    };
    squat("add");
    let refused = svc(&tb, DRP, "ipsvc", &["start"]).expect_err("start on deb2 while it answers");
    squat("del");
    assert!(
        refused.stderr.contains(&format!("{addr} answers")),
        "{}",
        refused.stderr
    );
    let drp_addrs = on(&tb, DRP, &["ip", "-o", "addr", "show", "dev", "eth0"]).expect_ok("ip addr");
    assert!(
        !drp_addrs.stdout.contains(&format!("inet {addr}/")),
        "half-applied: {}",
        drp_addrs.stdout
    );
    // Once nobody answers, deb2 takes it.
    svc(&tb, DRP, "ipsvc", &["start"]).expect_ok("start on deb2");
    tb.teardown().expect("teardown");
}
