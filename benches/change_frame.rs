//! Change → frame, measured (run with `cargo bench --bench change_frame`): the release binary's
//! `drpilot console --read-only` in a 130x40 pty, the lab's deb1 reached over SSH on loopback (a
//! real sshd, `tests/support/sshd.rs`; skipped when OpenSSH is not installed), deb2 locally.
//! Every chunk the console writes is fed to a terminal emulator (vt100) on the pty's reader
//! thread, which timestamps each change of the avail shown in deb1's tree. Measured, 10 rounds:
//! - a drpilot action: `drpilot svc busybox start` (and `stop`) run on deb1 as a CLI call, from
//!   the moment the command returns to the frame showing the new avail (target ≤ 200 ms);
//! - an external change: the lab's link `/opt/busybox` removed by hand, from the removal to the
//!   frame showing the service no longer up (target: within one probe interval, 1 s). Each
//!   change comes at a different phase of the probe interval (50 ms, 150 ms, … after the
//!   previous frame), so the figures spread over the interval instead of being phase-locked.
//!
//! Figures go to docs/performance.md. No timing is asserted; every wait has a deadline, and the
//! console, the lab and the sshd are stopped at the end (or on a panic, by their drops).

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::io::{Read, Write};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use drpilot::transport::{NodeAddress, NodeMap, NodeOptions};
use portable_pty::{native_pty_system, Child, CommandBuilder, PtySize};
use support::sshd::TestSshd;
use support::TestLab;

const ROUNDS: usize = 10;
const ROWS: u16 = 40;
const COLS: u16 = 130;
/// How long a change may take to show before the bench gives up (a bug, not a figure).
const LIMIT: Duration = Duration::from_secs(10);

/// The console in a pty; each change of deb1's avail on screen arrives on `rx` with the time
/// its bytes were read.
struct Console {
    rx: Receiver<(Instant, String)>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
}

/// The text of screen row `row`, one char per column.
fn row_text(screen: &vt100::Screen, row: u16) -> Vec<char> {
    (0..COLS)
        .map(|c| {
            screen
                .cell(row, c)
                .and_then(|cell| cell.contents().chars().next())
                .unwrap_or(' ')
        })
        .collect()
}

fn find(hay: &[char], needle: &str) -> Option<usize> {
    let n: Vec<char> = needle.chars().collect();
    hay.windows(n.len()).position(|w| w == n.as_slice())
}

/// The state word of the `avail` row in deb1's tree pane (`▲ up`, `▼ down`, …), if shown.
fn deb1_avail(screen: &vt100::Screen) -> Option<String> {
    let (head, left) =
        (0..ROWS).find_map(|r| Some((r, find(&row_text(screen, r), "┌ deb1 ·")?)))?;
    let right = find(&row_text(screen, head), "┌ deb2 ·")
        .filter(|&c| c > left)
        .unwrap_or(COLS as usize);
    for r in head + 1..ROWS {
        let pane: String = row_text(screen, r)[left..right].iter().collect();
        if let Some((_, rest)) = pane.split_once("|- avail") {
            // The glyph, then the word.
            return rest.split_whitespace().nth(1).map(str::to_string);
        }
    }
    None
}

impl Console {
    fn spawn(args: &[&str], cwd: &std::path::Path) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_drpilot"));
        cmd.args(args);
        cmd.cwd(cwd);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("DRPILOT_ROOT");
        cmd.env_remove("DRPILOT_NODENAME");
        let child = pty.slave.spawn_command(cmd).expect("spawn the console");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let writer = pty.master.take_writer().expect("pty writer");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let _master = pty.master;
            let mut parser = vt100::Parser::new(ROWS, COLS, 0);
            let mut shown: Option<String> = None;
            let mut buf = [0u8; 65536];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let at = Instant::now();
                parser.process(&buf[..n]);
                let now = deb1_avail(parser.screen());
                if now.is_some() && now != shown {
                    shown.clone_from(&now);
                    if tx.send((at, now.unwrap_or_default())).is_err() {
                        return;
                    }
                }
            }
        });
        Self { rx, writer, child }
    }

    /// Waits for deb1's avail to show as `want` says; when it did and the word.
    fn shows(&self, what: &str, want: impl Fn(&str) -> bool) -> (Instant, String) {
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| panic!("deb1's tree never showed {what}"));
            match self.rx.recv_timeout(left) {
                Ok((at, word)) if want(&word) => return (at, word),
                Ok(_) => {}
                Err(e) => panic!("deb1's tree never showed {what}: {e}"),
            }
        }
    }

    fn drain(&self) {
        while self.rx.try_recv().is_ok() {}
    }

    /// Quits with `q` so the console closes its ssh sessions; killed past a deadline.
    fn quit(mut self) {
        let _ = self.writer.write_all(b"q");
        let _ = self.writer.flush();
        let deadline = Instant::now() + LIMIT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("the console did not quit within {LIMIT:?}; killing it");
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// deb1 over ssh (drpilot run there with the lab's deb1 root), deb2 through `local:`.
fn write_map(lab: &TestLab, sshd: &TestSshd) -> String {
    let mut map = NodeMap::default();
    map.insert(
        "deb1",
        NodeAddress::parse(&sshd.address()).expect("address"),
    );
    map.set_options(
        "deb1",
        NodeOptions {
            bin: Some(env!("CARGO_BIN_EXE_drpilot").to_string()),
            root: Some(lab.root("deb1")),
            ssh_config: Some(sshd.ssh_config().to_path_buf()),
            flavor: None,
            ..NodeOptions::default()
        },
    );
    map.insert(
        "deb2",
        NodeAddress::Local {
            root: lab.root("deb2"),
        },
    );
    let path = lab.dir.join("bench-nodes.toml");
    std::fs::write(&path, map.to_toml()).expect("write the node map");
    path.to_string_lossy().into_owned()
}

/// Ends (SIGTERM, by pid) the ssh masters still connected to this bench's sshd: the console
/// leaves its master behind when it quits (it would exit by itself after 10 idle minutes).
/// Returns how many there were. Runs on drop too, so a panicking round cleans up as well.
struct SshMasters(std::path::PathBuf);

impl SshMasters {
    fn end(&self) -> usize {
        let needle = self.0.to_string_lossy().into_owned();
        let pids: Vec<i32> = std::fs::read_dir("/proc")
            .map(|d| {
                d.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let mut ended = 0;
        for pid in pids {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<String> = cmdline
                .split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let ssh_master = args
                .first()
                .is_some_and(|a| a == "ssh" || a.ends_with("/ssh"))
                && args.iter().any(|a| a == "-M")
                && args.contains(&needle);
            // SAFETY: kill(2) on a pid read just now whose command line names our ssh_config.
            if ssh_master && unsafe { libc::kill(pid, libc::SIGTERM) } == 0 {
                ended += 1;
            }
        }
        ended
    }
}

impl Drop for SshMasters {
    fn drop(&mut self) {
        self.end();
    }
}

/// Seconds from `t0` to `at`, negative when the frame came before `t0`.
fn signed(at: Instant, t0: Instant) -> f64 {
    match at.checked_duration_since(t0) {
        Some(d) => d.as_secs_f64(),
        None => -(t0 - at).as_secs_f64(),
    }
}

fn summary(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    let ms = |s: f64| format!("{:.0} ms", s * 1000.0);
    format!(
        "median {} max {} min {} (n={})",
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1]),
        ms(v[0]),
        v.len()
    )
}

/// Runs `svc busybox VERB` on deb1 as a CLI call; the time it returned.
fn cli(lab: &TestLab, verb: &str) -> Instant {
    lab.svc("deb1", &[verb]).expect_ok(verb);
    Instant::now()
}

fn main() {
    let Some(sshd) = TestSshd::start() else {
        eprintln!("change_frame: skipped, no OpenSSH");
        return;
    };
    let masters = SshMasters(sshd.ssh_config().to_path_buf());
    let lab = TestLab::new();
    let nodes = write_map(&lab, &sshd);
    let console = Console::spawn(&["console", "--read-only", "--nodes", &nodes], &lab.dir);
    console.shows("the first status (down)", |w| w == "down");

    let (mut start, mut stop, mut external, mut seen) = (vec![], vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        console.drain();
        let t0 = cli(&lab, "start");
        let (at, _) = console.shows("up after start", |w| w == "up");
        start.push(signed(at, t0));

        console.drain();
        let t0 = cli(&lab, "stop");
        let (at, _) = console.shows("down after stop", |w| w == "down");
        stop.push(signed(at, t0));

        // Up again, then the link removed behind drpilot's back at a different phase of the
        // probe interval each round.
        console.drain();
        cli(&lab, "start");
        let (shown, _) = console.shows("up again", |w| w == "up");
        let phase = Duration::from_millis(50 + 100 * round as u64);
        std::thread::sleep((shown + phase).saturating_duration_since(Instant::now()));
        console.drain();
        let t0 = Instant::now();
        std::fs::remove_file(lab.root("deb1").join("opt/busybox")).expect("rm the link");
        let (at, word) = console.shows("the external change", |w| w != "up");
        external.push(signed(at, t0));
        seen.push(word);

        console.drain();
        cli(&lab, "stop");
        console.shows("down", |w| w == "down");
    }
    console.quit();
    println!("ssh loopback, change → frame in a --read-only console (130x40), {ROUNDS} rounds:");
    println!("  svc start returned → deb1 shows up:   {}", summary(start));
    println!("  svc stop returned → deb1 shows down:  {}", summary(stop));
    seen.dedup();
    println!(
        "  link removed by hand → not up ({}): {}",
        seen.join("/"),
        summary(external)
    );
    println!(
        "ssh masters left connected after the console quit (ended): {}",
        masters.end()
    );
    drop(lab);
    drop(sshd);
}
