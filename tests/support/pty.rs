//! Driving the real binary in a pseudo-terminal and reading its screen with a terminal emulator
//! (portable-pty + vt100), waiting on what the screen shows with deadlines.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, PtySize};

/// A drpilot running in a pseudo-terminal.
pub struct PtyApp {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
}

impl PtyApp {
    /// Starts `drpilot ARGS` in `cwd` on a 130x40 terminal.
    pub fn spawn(args: &[&str], cwd: &Path) -> Self {
        Self::spawn_with_env(args, cwd, &[])
    }

    /// Starts `drpilot ARGS` in `cwd` with extra environment variables.
    pub fn spawn_with_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Self {
        Self::spawn_program(env!("CARGO_BIN_EXE_drpilot"), args, cwd, env)
    }

    /// Starts `drpilot ARGS` in the network namespace of process `pid` (the testbed's operator
    /// seat); nsenter execs drpilot, so the pid stays the console's.
    pub fn spawn_in_netns(pid: u32, args: &[&str], cwd: &Path) -> Self {
        let pid = pid.to_string();
        let mut full = vec!["-t", &pid, "-n", "--", env!("CARGO_BIN_EXE_drpilot")];
        full.extend_from_slice(args);
        Self::spawn_program("nsenter", &full, cwd, &[])
    }

    fn spawn_program(program: &str, args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 130,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.cwd(cwd);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("DRPILOT_ROOT");
        cmd.env_remove("DRPILOT_NODENAME");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pty
            .slave
            .spawn_command(cmd)
            .expect("spawn drpilot in a pty");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let writer = pty.master.take_writer().expect("pty writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(40, 130, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (p, r) = (parser.clone(), raw.clone());
        std::thread::spawn(move || {
            let _master = pty.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
                r.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Self {
            parser,
            raw,
            writer,
            child,
        }
    }

    /// The screen's text now.
    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Everything the program wrote, escape sequences included.
    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Waits until the screen satisfies `cond`, failing with the screen past `limit`.
    pub fn wait_screen(&self, limit: Duration, what: &str, cond: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.screen();
            if cond(&s) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types `text`.
    pub fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// The process id (to send signals).
    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    /// Waits for the program to exit; returns whether it succeeded.
    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(
                Instant::now() < deadline,
                "did not exit; screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the terminal was given back: alternate screen left, mouse capture off. The last
    /// bytes may still be on their way from the pty after the exit, so this waits for them.
    pub fn terminal_restored(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let raw = String::from_utf8_lossy(&self.raw()).into_owned();
            let entered = raw.rfind("\x1b[?1049h");
            let left = raw.rfind("\x1b[?1049l");
            let restored = matches!((entered, left), (Some(e), Some(l)) if l > e)
                && raw.rfind("\x1b[?1000l") > raw.rfind("\x1b[?1000h")
                && !self.parser.lock().unwrap().screen().alternate_screen();
            if restored || Instant::now() > deadline {
                return restored;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for PtyApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
