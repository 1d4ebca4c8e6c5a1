//! Snapshots of the console's screens (ratatui TestBackend + insta), styles included: the main
//! screen in every theme, the help overlay, a confirmation dialog, wall mode and an unreachable
//! node. Time is fixed, so the staleness clocks are too.

use std::time::{Duration, Instant};

use crossterm::event::{Event as Input, KeyCode, KeyEvent, KeyModifiers};
use drpilot::console::app::App;
use drpilot::console::event::{Event, LogLine, NodeEvent};
use drpilot::console::theme::{Theme, BUILTIN};
use drpilot::console::ui::draw;
use drpilot::protocol::watch::ServiceNodes;
use drpilot::status::{aggregate, Flags, ResourceStatus, ServiceStatus, Status};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn res(rid: &str, ty: &str, label: &str, status: Status, comments: &[&str]) -> ResourceStatus {
    ResourceStatus {
        provisioned: None,
        rid: rid.into(),
        type_name: ty.into(),
        label: label.into(),
        status,
        flags: Flags::default(),
        standby: false,
        comments: comments.iter().map(|c| c.to_string()).collect(),
    }
}

fn status(node: &str, up: bool) -> ServiceStatus {
    let (s, why) = if up {
        (Status::Up, vec![])
    } else {
        (Status::Down, vec!["not running"])
    };
    let mut rows = vec![
        res(
            "fs#1",
            "fs.directory",
            "/srv/busybox/data@/opt/busybox",
            s,
            if up {
                &[]
            } else {
                &["/srv/busybox/data is not mounted on /opt/busybox"]
            },
        ),
        res(
            "app#1",
            "app",
            "/bin/sh -c \"while :; do date >> date.log; sleep 1; done\"",
            s,
            &why,
        ),
        res(
            "sync#1",
            "sync.dir",
            "dir of /srv/busybox/data to ['drpnodes']",
            Status::Up,
            &[],
        ),
    ];
    rows.push(res(
        "sync#i0",
        "sync.config",
        "push svc config to drpnodes, nodes",
        Status::Up,
        &[],
    ));
    aggregate("busybox", node, "2026-11-24T17:00:00Z".into(), rows, vec![])
}

fn app(theme: &str) -> (App, Instant) {
    let mut app = App::new(Theme::load(theme).unwrap(), false, false, vec![]);
    app.started_utc = chrono::DateTime::parse_from_rfc3339("2026-11-24T17:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let t0 = app.started;
    let hello = |node: &str| NodeEvent::Hello {
        node: node.into(),
        services: vec![ServiceNodes {
            name: "busybox".into(),
            nodes: vec!["deb1".into()],
            drpnodes: vec!["deb2".into()],
        }],
    };
    for ev in [
        hello("deb1"),
        hello("deb2"),
        NodeEvent::Status {
            node: "deb1".into(),
            status: Box::new(status("deb1", true)),
        },
        NodeEvent::Status {
            node: "deb2".into(),
            status: Box::new(status("deb2", false)),
        },
    ] {
        app.handle(Event::Node(ev), t0);
    }
    for (rid, msg) in [
        (
            "sync#1",
            "incremental copy of /srv/busybox/data to deb2:/srv/busybox/data",
        ),
        (
            "sync#1",
            "sent 1 changed files (87 bytes), 0 unchanged kept on deb2",
        ),
    ] {
        app.push_log(LogLine {
            time: "17:00:01".into(),
            node: "deb1".into(),
            svc: "busybox".into(),
            rid: rid.into(),
            level: "INFO".into(),
            msg: msg.into(),
        });
    }
    (app, t0 + Duration::from_secs(2))
}

fn render(app: &App, now: Instant) -> String {
    render_at(app, now, 120, 34)
}

fn render_at(app: &App, now: Instant, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| draw(f, app, now)).unwrap();
    // Debug of the buffer lists the text and every style run.
    format!("{:?}", term.backend().buffer())
}

fn key(app: &mut App, code: KeyCode, now: Instant) {
    app.handle(
        Event::Input(Input::Key(KeyEvent::new(code, KeyModifiers::NONE))),
        now,
    );
}

#[test]
fn main_screen_in_every_theme() {
    for (name, _) in BUILTIN {
        let (app, now) = app(name);
        insta::assert_snapshot!(format!("main_{name}"), render(&app, now));
    }
}

#[test]
fn help_overlay() {
    let (mut app, now) = app("default");
    key(&mut app, KeyCode::Char('?'), now);
    insta::assert_snapshot!("help", render(&app, now));
}

#[test]
fn help_at_80x24_scrolls_to_its_legend() {
    for theme in ["default", "high-contrast"] {
        let (mut app, now) = app(theme);
        key(&mut app, KeyCode::Char('?'), now);
        let top = render_at(&app, now, 80, 24);
        assert!(
            top.contains("help · lines 1-22 of"),
            "the title says it scrolls"
        );
        insta::assert_snapshot!(format!("help_80x24_{theme}"), top);
        key(&mut app, KeyCode::End, now);
        let end = render_at(&app, now, 80, 24);
        assert!(end.contains("legend") && end.contains("differs between the two nodes"));
        insta::assert_snapshot!(format!("help_80x24_end_{theme}"), end);
        key(&mut app, KeyCode::PageUp, now);
        assert!(
            matches!(app.mode, drpilot::console::app::Mode::Help),
            "pgup scrolls, stays"
        );
    }
}

#[test]
fn detail_of_a_resource_from_the_drp_tree() {
    let (mut app, now) = app("default");
    app.push_log(LogLine {
        time: "17:00:02".into(),
        node: "deb2".into(),
        svc: "busybox".into(),
        rid: "fs#1".into(),
        level: "INFO".into(),
        msg: "/srv/busybox/data is not mounted on /opt/busybox: standby node".into(),
    });
    key(&mut app, KeyCode::Tab, now);
    key(&mut app, KeyCode::Right, now);
    key(&mut app, KeyCode::Down, now);
    key(&mut app, KeyCode::Down, now);
    let marked = render(&app, now);
    insta::assert_snapshot!("trees_focused", marked);
    key(&mut app, KeyCode::Enter, now);
    let screen = render(&app, now);
    for part in [
        "fs#1 on deb2",
        "fs.directory",
        "/srv/busybox/data@/opt/busybox",
        "/srv/busybox/data is not mounted on /opt/busybox",
        "17:00:02",
    ] {
        assert!(screen.contains(part), "{part} missing");
    }
    insta::assert_snapshot!("detail", screen);
}

/// The text rows of a rendered buffer (its Debug form's `content` strings).
fn rows_of(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .skip_while(|l| !l.contains("content: ["))
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with(']'))
        .collect()
}

#[test]
fn main_screen_at_50x15_keeps_the_statuses_readable() {
    let (app, now) = app("default");
    let screen = render_at(&app, now, 50, 15);
    let rows = rows_of(&screen);
    assert!(
        rows.iter()
            .any(|r| r.contains("fs#1") && r.contains("▲ up")),
        "production's fs#1 status readable:\n{}",
        rows.join("\n")
    );
    assert!(
        rows.iter().any(|r| r.contains("▼ down")),
        "DRP's statuses readable:\n{}",
        rows.join("\n")
    );
    assert!(!screen.contains("services"), "the service list gives way");
    insta::assert_snapshot!("main_50x15", screen);
}

#[test]
fn short_trees_give_their_rows_to_the_log() {
    let (app, now) = app("default");
    let rows_text = render_at(&app, now, 120, 50);
    let rows = rows_of(&rows_text);
    let log_top = rows.iter().position(|r| r.contains("┌ log")).unwrap();
    // The trees need 14 rows with their borders; the rest goes to the log.
    assert!(log_top <= 16, "the log starts at row {log_top}");
}

#[test]
fn runbook_at_80x24_keeps_its_last_steps_and_outcome() {
    use drpilot::console::event::RunbookEvent;
    use drpilot::runbook::plan::{steps, Mode, StepState};
    let (mut app, now) = app("default");
    let all: Vec<_> = steps(Mode::Rehearsal).into_iter().map(|(s, _)| s).collect();
    app.handle(
        Event::Runbook(RunbookEvent::Started {
            svc: "busybox".into(),
            mode: "REHEARSAL".into(),
            steps: all.clone(),
        }),
        now,
    );
    for s in &all {
        app.handle(
            Event::Runbook(RunbookEvent::Progress {
                step: *s,
                state: StepState::Done,
            }),
            now,
        );
    }
    app.handle(
        Event::Runbook(RunbookEvent::Done {
            ok: true,
            summary: "rehearsal done".into(),
        }),
        now,
    );
    let screen = render_at(&app, now, 80, 24);
    let last = all.last().unwrap().name();
    assert!(
        screen.contains(last),
        "the last step {last} shows:\n{screen}"
    );
    assert!(
        screen.contains("rehearsal done"),
        "the outcome shows:\n{screen}"
    );
}

#[test]
fn confirmation_dialogs() {
    let (mut app, now) = app("default");
    key(&mut app, KeyCode::Char(':'), now);
    for c in "stop deb1".chars() {
        key(&mut app, KeyCode::Char(c), now);
    }
    key(&mut app, KeyCode::Enter, now);
    for c in "busy".chars() {
        key(&mut app, KeyCode::Char(c), now);
    }
    insta::assert_snapshot!("confirm_typed", render(&app, now));
    key(&mut app, KeyCode::Esc, now);
    key(&mut app, KeyCode::Char(':'), now);
    for c in "syncupdate".chars() {
        key(&mut app, KeyCode::Char(c), now);
    }
    key(&mut app, KeyCode::Enter, now);
    insta::assert_snapshot!("confirm_buttons", render(&app, now));
}

#[test]
fn wall_mode() {
    let (mut app, now) = app("default");
    app.wall = true;
    app.read_only = true;
    insta::assert_snapshot!("wall", render(&app, now));
}

#[test]
fn unreachable_node_is_never_shown_as_current() {
    let (mut app, now) = app("default");
    let later = now + Duration::from_secs(30);
    app.handle(
        Event::Node(NodeEvent::Heartbeat {
            node: "deb1".into(),
        }),
        later,
    );
    let screen = render(&app, later);
    assert!(
        screen.contains("deb2 UNREACHABLE, last heard 32s ago"),
        "{screen}"
    );
    assert!(
        screen.contains("? down"),
        "stale statuses lose their glyph: {screen}"
    );
    insta::assert_snapshot!("unreachable", screen);
}

#[test]
fn runbook_pane_in_disaster_mode_with_a_gate_and_a_progress_bar() {
    use drpilot::console::event::RunbookEvent;
    use drpilot::protocol::log::SyncProgress;
    use drpilot::runbook::plan::{Step, StepState};
    let (mut app, now) = app("default");
    let steps = [
        "preflight",
        "declare_disaster",
        "cut_access",
        "syncupdate",
        "start_drp",
        "verify_drp_up",
    ];
    for ev in [
        RunbookEvent::Started {
            svc: "busybox".into(),
            mode: "DISASTER".into(),
            steps: steps.iter().filter_map(|s| Step::from_name(s)).collect(),
        },
        RunbookEvent::Progress {
            step: Step::from_name("preflight").unwrap(),
            state: StepState::Done,
        },
        RunbookEvent::Progress {
            step: Step::from_name("declare_disaster").unwrap(),
            state: StepState::Done,
        },
        RunbookEvent::Progress {
            step: Step::from_name("cut_access").unwrap(),
            state: StepState::Skipped,
        },
        RunbookEvent::SyncProgress {
            rid: "sync#1".into(),
            progress: SyncProgress {
                bytes_sent: 700,
                bytes_total: 1000,
                files_sent: 1,
                files_total: 2,
                rate: 2048,
                eta: 1,
            },
        },
        RunbookEvent::Gate {
            svc: "busybox".into(),
            node: "deb2".into(),
            step: "start_drp".into(),
            prompt: "start busybox on deb2".into(),
            typed: true,
        },
    ] {
        app.handle(Event::Runbook(ev), now);
    }
    let screen = render(&app, now);
    assert!(screen.contains("DISASTER"), "{screen}");
    assert!(screen.contains("runbook step start_drp"), "{screen}");
    insta::assert_snapshot!("runbook_disaster", screen);
}

/// A console watching 50 services (deb1 production, deb2 DRP in standby), with replicas of
/// different ages: one past its limit, one never synced.
fn fifty_services() -> (App, Instant) {
    let mut app = App::new(Theme::load("default").unwrap(), true, true, vec![]);
    app.started_utc = chrono::DateTime::parse_from_rfc3339("2026-11-24T17:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let t0 = app.started;
    let names: Vec<String> = (1..=50).map(|i| format!("svc{i:02}")).collect();
    for node in ["deb1", "deb2"] {
        let hello = NodeEvent::Hello {
            node: node.into(),
            services: names
                .iter()
                .map(|n| ServiceNodes {
                    name: n.clone(),
                    nodes: vec!["deb1".into()],
                    drpnodes: vec!["deb2".into()],
                })
                .collect(),
        };
        app.handle(Event::Node(hello), t0);
    }
    for (i, name) in names.iter().enumerate() {
        for (node, up) in [("deb1", true), ("deb2", false)] {
            let mut st = status(node, up);
            st.service = name.clone();
            st.syncs = vec![drpilot::status::SyncInfo {
                rid: "sync#1".into(),
                last_sync: match i {
                    2 => Some("2026-11-24T15:00:00Z".into()),
                    3 => None,
                    _ => Some(format!("2026-11-24T16:59:{:02}Z", 59 - i % 50)),
                },
                max_delay_s: 3600,
            }];
            app.handle(
                Event::Node(NodeEvent::Status {
                    node: node.into(),
                    status: Box::new(st),
                }),
                t0,
            );
        }
    }
    (app, t0 + Duration::from_secs(2))
}

#[test]
fn wall_at_80x24_with_50_services() {
    let (app, now) = fifty_services();
    let screen = render_at(&app, now, 80, 24);
    assert!(screen.contains("STANDBY"), "{screen}");
    assert!(
        !screen.contains("DOWN"),
        "a DRP node in standby is never DOWN: {screen}"
    );
    assert!(screen.contains("page 1/"), "{screen}");
    assert!(screen.contains("RPO 3s"), "{screen}");
    assert!(screen.contains("17:00:02 UTC"), "the clock: {screen}");
    insta::assert_snapshot!("wall_80x24", screen);
    // Pages cycle: the third page holds services the first one did not.
    let later = render_at(&app, now + Duration::from_secs(16), 80, 24);
    assert!(later.contains("page 3/"), "{later}");
}

#[test]
fn wall_at_200x50_with_50_services_in_block_letters() {
    let (app, now) = fifty_services();
    let screen = render_at(&app, now, 200, 50);
    assert!(screen.contains("█"), "block letters at 200x50: {screen}");
    assert!(
        screen.contains("! RPO 2h00m >1h"),
        "an old replica warns: {screen}"
    );
    assert!(
        screen.contains("! RPO never synced"),
        "a never-synced replica warns: {screen}"
    );
    insta::assert_snapshot!("wall_200x50", screen);
    // Readable at 320x90 too: more tiles a page, still block letters.
    let big = render_at(&app, now, 320, 90);
    assert!(big.contains("page 1/2"), "{big}");
}

#[test]
fn replica_age_shows_under_each_sync_row_and_rpo_now_warns_past_its_limit() {
    let (mut app, now) = app("default");
    for (node, last) in [
        ("deb1", "2026-11-24T16:59:50Z"),
        ("deb2", "2026-11-24T16:59:50Z"),
    ] {
        let mut st = status(node, node == "deb1");
        st.syncs = vec![drpilot::status::SyncInfo {
            rid: "sync#1".into(),
            last_sync: Some(last.into()),
            max_delay_s: 3600,
        }];
        app.handle(
            Event::Node(NodeEvent::Status {
                node: node.into(),
                status: Box::new(st),
            }),
            now,
        );
    }
    let fresh = render(&app, now);
    assert!(fresh.contains("last sync 12s ago (limit 1h)"), "{fresh}");
    assert!(fresh.contains("RPO now 12s "), "{fresh}");
    assert!(
        fresh.contains("▲ up 12s"),
        "RPO now in the service list: {fresh}"
    );
    // Two hours later the replica is past its limit: a warning, in the warning colour.
    let later = now + Duration::from_secs(7200);
    app.handle(
        Event::Node(NodeEvent::Heartbeat {
            node: "deb1".into(),
        }),
        later,
    );
    app.handle(
        Event::Node(NodeEvent::Heartbeat {
            node: "deb2".into(),
        }),
        later,
    );
    let old = render(&app, later);
    assert!(old.contains("! last sync 2h00m ago > limit 1h"), "{old}");
    assert!(old.contains("! RPO now 2h00m > 1h"), "{old}");
    assert!(
        old.contains("▲ up !2h"),
        "RPO now in the service list: {old}"
    );
    insta::assert_snapshot!("replica_age_past_its_limit", old);
}

#[test]
fn the_wall_shows_the_running_runbook_as_a_banner() {
    use drpilot::console::event::RunbookEvent;
    use drpilot::runbook::plan::{Step, StepState};
    let (mut app, now) = fifty_services();
    let steps: Vec<Step> = ["preflight", "cut_access", "syncupdate"]
        .iter()
        .filter_map(|s| Step::from_name(s))
        .collect();
    for ev in [
        RunbookEvent::Started {
            svc: "svc01".into(),
            mode: "REHEARSAL".into(),
            steps: steps.clone(),
        },
        RunbookEvent::Progress {
            step: steps[0],
            state: StepState::Done,
        },
        RunbookEvent::Progress {
            step: steps[1],
            state: StepState::Running,
        },
    ] {
        app.handle(Event::Runbook(ev), now);
    }
    let screen = render_at(&app, now, 80, 24);
    assert!(
        screen.contains("REHEARSAL of svc01: step 2 of 3 cut_access (running)"),
        "{screen}"
    );
}

#[test]
fn focused_runbook_pane_at_80x24_scrolls_a_long_preflight_failure_list() {
    use drpilot::console::app::{Focus, Mode as KeyMode};
    use drpilot::console::event::RunbookEvent;
    use drpilot::runbook::plan::{steps, Mode, StepState};
    use drpilot::runbook::preflight::Problem;
    let (mut app, now) = app("default");
    let all: Vec<_> = steps(Mode::Rehearsal).into_iter().map(|(s, _)| s).collect();
    let problems = vec![
        Problem::fixed_by(
            "configuration not pushed to deb2".into(),
            "syncnodes",
            "deb1",
        ),
        Problem::fixed_by("busybox is not running on deb1".into(), "start", "deb1"),
        Problem::new("sync#1 never completed a sync to deb2".into()),
        Problem::fixed_by(
            "deb2's replica is older than 2h".into(),
            "syncupdate",
            "deb1",
        ),
        Problem::new("deb2 does not answer its peer's probe".into()),
    ];
    for ev in [
        RunbookEvent::Started {
            svc: "busybox".into(),
            mode: "REHEARSAL".into(),
            steps: all.clone(),
        },
        RunbookEvent::Progress {
            step: all[0],
            state: StepState::Failed,
        },
        RunbookEvent::Preflight(problems),
    ] {
        app.handle(Event::Runbook(ev), now);
    }
    app.handle(
        Event::Runbook(RunbookEvent::Done {
            ok: false,
            summary: "rehearsal of busybox refused by the preflight".into(),
        }),
        now,
    );
    // The gate offering the first fix (opened once the run ended) is answered no.
    key(&mut app, KeyCode::Esc, now);
    assert_eq!(app.mode, KeyMode::Normal);
    app.message = None;
    for _ in 0..3 {
        key(&mut app, KeyCode::Tab, now);
    }
    assert_eq!(app.selection.focus, Focus::Runbook);
    app.screen = (80, 24);
    let end = render_at(&app, now, 80, 24);
    assert!(
        end.contains("rehearsal of busybox refused"),
        "the end shows: {end}"
    );
    assert!(
        end.contains("esc close"),
        "the footer lists the pane's keys: {end}"
    );
    insta::assert_snapshot!("runbook_focused_80x24", end);
    key(&mut app, KeyCode::PageUp, now);
    let scrolled = render_at(&app, now, 80, 24);
    assert!(
        scrolled.contains("the preflight refused the run:"),
        "{scrolled}"
    );
    assert!(
        !scrolled.contains("rehearsal of busybox refused"),
        "{scrolled}"
    );
    insta::assert_snapshot!("runbook_focused_80x24_scrolled", scrolled);
}

/// alice's rehearsal of busybox at step `index` (stop_production at 4) of 7, started 2m13s
/// before the fixed clock (17:00:02), renewed `ago_ms` before the node sent it.
fn lease(index: u32, step: &str, ago_ms: u64, expired: bool) -> drpilot::protocol::run::LeaseView {
    use drpilot::protocol::journal::Mode;
    use drpilot::protocol::run::{Holder, Lease, LeaseView};
    LeaseView {
        lease: Lease {
            svc: "busybox".into(),
            run: "busybox-20261124T165749Z-00af".into(),
            mode: Mode::Rehearsal,
            holder: Holder {
                user: "alice".into(),
                host: "laptop".into(),
                pid: 4242,
                seat: "laptop:4242:1a2b".into(),
            },
            step: Some(step.into()),
            index,
            total: 7,
            started: "2026-11-24T16:57:49Z".into(),
            renewed: "2026-11-24T17:00:00Z".into(),
            ttl_s: 30,
        },
        renewed_ms_ago: ago_ms,
        expired,
    }
}

/// The read-only console of another seat, told by both nodes of alice's run.
fn watching_a_run(theme: &str, expired: bool) -> (App, Instant) {
    let (mut app, now) = app(theme);
    app.read_only = true;
    for (node, ago) in [("deb1", 2500), ("deb2", 3000)] {
        let ago = if expired { ago + 42_000 } else { ago };
        app.handle(
            Event::Node(NodeEvent::Run {
                node: node.into(),
                service: "busybox".into(),
                lease: Some(Box::new(lease(4, "stop_production", ago, expired))),
            }),
            now,
        );
    }
    (app, now)
}

#[test]
fn a_read_only_console_shows_another_seats_run_above_the_trees_at_80x24() {
    let (app, now) = watching_a_run("default", false);
    let screen = render_at(&app, now, 80, 24);
    let rows = rows_of(&screen).join("\n");
    for part in [
        "▶ REHEARSAL busybox · step 4/7 stop_production · alice@laptop (pid 4242) · 2m13s",
        "renewed 2s ago",
        "▶ REHEARSAL 4/7",
        "READ-ONLY",
    ] {
        assert!(rows.contains(part), "{part}:\n{rows}");
    }
    insta::assert_snapshot!("run_line_80x24", screen);
    // The ages tick with the clock, from when each view was received.
    let later = render_at(&app, now + Duration::from_secs(3), 80, 24);
    assert!(later.contains("renewed 5s ago"), "{later}");
    assert!(later.contains("2m16s"), "{later}");
}

#[test]
fn an_expired_lease_shows_in_the_warning_colour_with_the_takeover_command() {
    for theme in ["default", "monochrome"] {
        let (app, now) = watching_a_run(theme, true);
        let screen = render_at(&app, now, 80, 24);
        let rows = rows_of(&screen).join("\n");
        for part in [
            "! REHEARSAL busybox · step 4/7 stop_production",
            "holder stopped renewing 44s ago",
            "take over with: drpilot drp takeover busybox-20261124T165749Z-00af",
            "! EXPIRED 4/7",
        ] {
            assert!(rows.contains(part), "{theme} {part}:\n{rows}");
        }
        assert!(!rows.contains("▶"), "an expired run never reads as running");
        insta::assert_snapshot!(format!("run_expired_80x24_{theme}"), screen);
    }
}

#[test]
fn a_run_no_node_speaks_of_ages_as_stale_and_goes_when_released() {
    let (mut app, now) = watching_a_run("default", false);
    let later = now + Duration::from_secs(10);
    let rows = rows_of(&render_at(&app, later, 80, 24)).join("\n");
    assert!(rows.contains("? REHEARSAL busybox · step 4/7"), "{rows}");
    assert!(rows.contains("no node heard from for 10s"), "{rows}");
    assert!(!rows.contains("▶"), "never stale green:\n{rows}");
    app.handle(
        Event::Node(NodeEvent::Run {
            node: "deb1".into(),
            service: "busybox".into(),
            lease: None,
        }),
        later,
    );
    let rows = rows_of(&render_at(&app, later, 80, 24)).join("\n");
    assert!(!rows.contains("step 4/7"), "released:\n{rows}");
}

#[test]
fn the_wall_shows_the_nodes_run_at_80x24_and_in_block_letters_at_200x50() {
    let (mut app, now) = watching_a_run("default", false);
    app.wall = true;
    let screen = render_at(&app, now, 80, 24);
    let rows = rows_of(&screen).join("\n");
    assert!(
        rows.contains("▶ REHEARSAL busybox · step 4/7 stop_production"),
        "{rows}"
    );
    insta::assert_snapshot!("wall_run_80x24", screen);
    let big = render_at(&app, now, 200, 50);
    let rows = rows_of(&big).join("\n");
    assert!(rows.contains("█"), "block letters:\n{rows}");
    assert!(rows.contains("step 4/7 stop_production"), "{rows}");
    insta::assert_snapshot!("wall_run_200x50", big);
}

#[test]
fn the_way_out_dialog_at_80x24() {
    use drpilot::console::event::RunbookEvent;
    use drpilot::runbook::plan::WayOut;
    let (mut app, now) = app("default");
    app.handle(
        Event::Runbook(RunbookEvent::WayOut {
            svc: "busybox".into(),
            step: "stop_production".into(),
            situation: "busybox is stopped on deb1 (production) and not started on deb2 (DRP): \
                        users have no service"
                .into(),
            choices: vec![WayOut::Retry, WayOut::Rollback, WayOut::Leave],
        }),
        now,
    );
    let screen = render_at(&app, now, 80, 24);
    let rows = rows_of(&screen).join("\n");
    assert!(
        rows.contains("[r] retry   [b] roll back   [l] leave as is"),
        "{rows}"
    );
    insta::assert_snapshot!("way_out_80x24", screen);
}

#[test]
fn a_test_bubble_is_a_third_tree_with_its_age_and_turns_stale() {
    let (mut app, now) = app("default");
    let mut inside = status("deb2", true);
    inside.node = "deb2".into();
    let bubble = drpilot::protocol::bubble::BubbleState {
        exists: true,
        running: true,
        cloned_at: Some("2026-12-01T20:24:50+00:00".into()),
        rpo_s: Some(4),
        inside: Some(inside),
        ..Default::default()
    };
    app.handle(
        Event::Node(NodeEvent::Bubble {
            node: "deb2".into(),
            service: "busybox".into(),
            bubble: Some(Box::new(bubble)),
        }),
        now,
    );
    let wide = render_at(&app, now, 200, 50);
    insta::assert_snapshot!("bubble_200x50", wide);
    let narrow = render_at(&app, now, 80, 24);
    assert!(narrow.contains("bubble on deb2"), "{narrow}");
    assert!(narrow.contains("clone of 20:24:50"), "{narrow}");
    // Not heard of for a while: STALE, never fresh.
    let later = now + Duration::from_secs(60);
    let old = render_at(&app, later, 200, 50);
    assert!(old.contains("STALE, updated 60s ago"), "{old}");
    // Gone: two trees again.
    app.handle(
        Event::Node(NodeEvent::Bubble {
            node: "deb2".into(),
            service: "busybox".into(),
            bubble: None,
        }),
        now,
    );
    assert!(!render_at(&app, now, 200, 50).contains("bubble on deb2"));
}
