//! One frame of the console with 200 services, rendered in process to a ratatui TestBackend
//! (200x50): the main screen and the wall. Target: ≤ 2 ms a frame (docs/performance.md).
//! Run with `cargo bench --bench console_frame`.

use std::time::{Duration, Instant};

use drpilot::console::app::App;
use drpilot::console::event::{Event, NodeEvent};
use drpilot::console::theme::Theme;
use drpilot::console::ui::draw;
use drpilot::protocol::watch::ServiceNodes;
use drpilot::status::{aggregate, Flags, ResourceStatus, Status, SyncInfo};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const FRAMES: usize = 500;

fn res(rid: &str, ty: &str, status: Status) -> ResourceStatus {
    ResourceStatus {
        provisioned: None,
        rid: rid.into(),
        type_name: ty.into(),
        label: format!("{ty} resource {rid}"),
        status,
        flags: Flags::default(),
        standby: false,
        comments: if status == Status::Down {
            vec!["not running".into()]
        } else {
            vec![]
        },
    }
}

fn app(n: usize, wall: bool) -> (App, Instant) {
    let mut app = App::new(Theme::load("default").expect("theme"), wall, wall, vec![]);
    let t0 = app.started;
    let names: Vec<String> = (0..n).map(|i| format!("svc{i:03}")).collect();
    for node in ["deb1", "deb2"] {
        let services = names
            .iter()
            .map(|s| ServiceNodes {
                name: s.clone(),
                nodes: vec!["deb1".into()],
                drpnodes: vec!["deb2".into()],
            })
            .collect();
        app.handle(
            Event::Node(NodeEvent::Hello {
                node: node.into(),
                services,
            }),
            t0,
        );
    }
    for name in &names {
        for (node, s) in [("deb1", Status::Up), ("deb2", Status::Down)] {
            let rows = vec![
                res("fs#1", "fs.directory", s),
                res("app#1", "app", s),
                res("sync#1", "sync.dir", Status::Up),
            ];
            let mut st = aggregate(name, node, "2026-11-24T17:00:00Z".into(), rows, vec![]);
            st.syncs = vec![SyncInfo {
                rid: "sync#1".into(),
                last_sync: Some("2026-11-24T16:59:00Z".into()),
                max_delay_s: 3600,
            }];
            let ev = NodeEvent::Status {
                node: node.into(),
                status: Box::new(st),
            };
            app.handle(Event::Node(ev), t0);
        }
    }
    (app, t0 + Duration::from_secs(1))
}

fn measure(label: &str, app: &App, now: Instant) {
    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
    for _ in 0..20 {
        term.draw(|f| draw(f, app, now)).expect("draw");
    }
    let mut times: Vec<Duration> = (0..FRAMES)
        .map(|_| {
            let t = Instant::now();
            term.draw(|f| draw(f, app, now)).expect("draw");
            t.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<36} median {:>6.3} ms   p95 {:>6.3} ms   max {:>6.3} ms   ({FRAMES} frames)",
        ms(times[FRAMES / 2]),
        ms(times[FRAMES * 95 / 100]),
        ms(times[FRAMES - 1])
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test` runs benches with no argument: stay quick then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let (main, now) = app(200, false);
    measure("main screen, 200 services, 200x50", &main, now);
    let (wall, now) = app(200, true);
    measure("wall, 200 services, 200x50", &wall, now);
}
