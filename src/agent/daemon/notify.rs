//! Notifications: a service's status transition seen by the daemon's probe loop, an RPO breach
//! (a sync resource older than its `sync_max_delay`) and a scheduled sync that failed go to an
//! exec hook (the event's JSON on stdin, its essentials in environment variables) and/or a
//! webhook (the JSON POSTed over HTTP/1.1, plain `http://` only), each with retries. The
//! payload is documented in docs/notifications.md.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use color_eyre::eyre::{bail, eyre, Result};
use serde::{Deserialize, Serialize};

use super::config::{NotifyConfig, Retry};
use super::state::Shared;

/// How long a hook or a webhook call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// One notification's payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `status` (a service's avail changed), `rpo_breach` (a replica older than its
    /// `sync_max_delay`) or `sync_failed` (a scheduled sync failed after its retries).
    pub event: String,
    /// The node the daemon runs on.
    pub node: String,
    /// The service.
    pub service: String,
    /// When the daemon saw it (RFC 3339 UTC).
    pub ts: String,
    /// `status`: the avail before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `status`: the avail now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `rpo_breach`, `sync_failed`: the sync resource or the job (`sync#1`, `syncdrp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rid: Option<String>,
    /// A sentence for humans (the failure's reason, the replica's age).
    pub message: String,
}

/// A parsed `http://host[:port]/path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    host: String,
    port: u16,
    path: String,
}

impl Url {
    /// Parses a webhook URL; `https://` is refused (no TLS yet).
    pub fn parse(text: &str) -> Result<Self> {
        let Some(rest) = text.strip_prefix("http://") else {
            if text.starts_with("https://") {
                bail!("'{text}': https is not supported yet, use http:// (a local relay, say)");
            }
            bail!("'{text}' is not an http:// URL");
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| eyre!("'{text}': bad port '{p}'"))?,
            ),
            None => (authority, 80),
        };
        if host.is_empty() {
            bail!("'{text}': no host");
        }
        Ok(Self {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }
}

/// One way of delivering the payload (the hook, the webhook).
type Delivery<'a> = Box<dyn Fn() -> Result<()> + 'a>;

/// Where notifications go, and how hard to try.
pub struct Notifier {
    exec: Option<Vec<String>>,
    webhook: Option<Url>,
    retry: Retry,
}

impl Notifier {
    /// From the `[notify]` section (already checked when the config was read).
    pub fn new(cfg: &NotifyConfig, retry: Retry) -> Result<Self> {
        Ok(Self {
            exec: cfg.exec.clone(),
            webhook: cfg.webhook.as_deref().map(Url::parse).transpose()?,
            retry,
        })
    }

    /// Whether anything is configured.
    pub fn is_configured(&self) -> bool {
        self.exec.is_some() || self.webhook.is_some()
    }

    /// Sends every event received until every sender is gone (the daemon's loops ended, so
    /// an event of the last moments is still sent), counting each delivery in the daemon's
    /// state. Once `stop` is set, a failed delivery is not retried.
    pub fn serve(&self, events: &Receiver<Event>, state: &Shared, stop: &Arc<AtomicBool>) {
        while let Ok(ev) = events.recv() {
            self.send(&ev, state, stop);
        }
    }

    fn send(&self, ev: &Event, state: &Shared, stop: &AtomicBool) {
        if !self.is_configured() {
            return;
        }
        let Ok(payload) = serde_json::to_vec(ev) else {
            return;
        };
        let mut targets: Vec<(&str, Delivery<'_>)> = Vec::new();
        if let Some(argv) = &self.exec {
            targets.push(("exec hook", Box::new(|| run_hook(argv, ev, &payload))));
        }
        if let Some(url) = &self.webhook {
            targets.push(("webhook", Box::new(|| post(url, &payload))));
        }
        for (what, call) in targets {
            let mut last = String::new();
            let mut sent = false;
            for n in 0..self.retry.tries {
                // A stopping daemon does not wait to retry.
                if n > 0 && super::jobs::sleep_unless(stop, self.retry.wait_before(n)) {
                    break;
                }
                match call() {
                    Ok(()) => {
                        sent = true;
                        break;
                    }
                    Err(e) => last = format!("{e:#}"),
                }
            }
            let mut st = state.lock();
            if sent {
                st.notifications_sent += 1;
            } else {
                st.notifications_failed += 1;
                eprintln!(
                    "daemon: the {what} failed for {} of {}: {last}",
                    ev.event, ev.service
                );
            }
        }
        let _ = state.save();
    }
}

/// Runs the exec hook: the payload on stdin, the essentials in `DRPILOT_EVENT`,
/// `DRPILOT_SERVICE`, `DRPILOT_NODE`, `DRPILOT_FROM`, `DRPILOT_TO`, `DRPILOT_RID`.
fn run_hook(argv: &[String], ev: &Event, payload: &[u8]) -> Result<()> {
    let Some((prog, args)) = argv.split_first() else {
        bail!("empty exec hook");
    };
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .env("DRPILOT_EVENT", &ev.event)
        .env("DRPILOT_SERVICE", &ev.service)
        .env("DRPILOT_NODE", &ev.node)
        .env("DRPILOT_FROM", ev.from.as_deref().unwrap_or(""))
        .env("DRPILOT_TO", ev.to.as_deref().unwrap_or(""))
        .env("DRPILOT_RID", ev.rid.as_deref().unwrap_or(""))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().map_err(|e| eyre!("cannot run {prog}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine.
        let _ = stdin.write_all(payload);
    }
    let deadline = Instant::now() + CALL_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            if status.success() {
                return Ok(());
            }
            bail!("{prog} exited with {status}");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{prog} took more than {}s", CALL_TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// POSTs the payload; a 2xx answer is a delivery.
fn post(url: &Url, payload: &[u8]) -> Result<()> {
    let addr = (url.host.as_str(), url.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| eyre!("{}: no address", url.host))?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(CALL_TIMEOUT))?;
    s.set_write_timeout(Some(CALL_TIMEOUT))?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: drpilot/{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        url.path,
        url.host,
        url.port,
        env!("CARGO_PKG_VERSION"),
        payload.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(payload)?;
    s.flush()?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    // The status line is enough.
    while !answer.contains(&b'\n') {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&answer);
    let line = line.lines().next().unwrap_or_default();
    let code = line.split_whitespace().nth(1).unwrap_or_default();
    if code.starts_with('2') && code.len() == 3 {
        Ok(())
    } else {
        bail!("the webhook answered '{}'", crate::text::clean_line(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_plain_http() {
        let u = Url::parse("http://127.0.0.1:9000/hook").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 9000, "/hook")
        );
        assert_eq!(Url::parse("http://example.org").unwrap().port, 80);
        assert!(Url::parse("https://example.org").is_err());
        assert!(Url::parse("ftp://x").is_err());
        assert!(Url::parse("http://:80/").is_err());
    }

    fn event() -> Event {
        Event {
            event: "status".into(),
            node: "deb1".into(),
            service: "busybox".into(),
            ts: "2026-12-01T00:00:00Z".into(),
            from: Some("up".into()),
            to: Some("down".into()),
            rid: None,
            message: "busybox went from up to down on deb1".into(),
        }
    }

    fn quick(tries: u32) -> Retry {
        Retry {
            tries,
            backoff: Duration::ZERO,
        }
    }

    #[test]
    fn a_webhook_is_retried_until_it_answers_2xx() {
        use std::io::BufRead;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let mut bodies = Vec::new();
            for (i, s) in l.incoming().take(2).enumerate() {
                let s = s.unwrap();
                let mut r = std::io::BufReader::new(s.try_clone().unwrap());
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    r.read_line(&mut line).unwrap();
                    if line.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0u8; len];
                r.read_exact(&mut body).unwrap();
                bodies.push(body);
                let answer: &[u8] = if i == 0 {
                    b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"
                } else {
                    b"HTTP/1.1 204 No Content\r\n\r\n"
                };
                (&s).write_all(answer).unwrap();
            }
            bodies
        });
        let d = tempfile::tempdir().unwrap();
        let state = Shared::start(&crate::paths::NodeEnv::new(d.path(), "deb1"));
        let cfg = NotifyConfig {
            webhook: Some(format!("http://127.0.0.1:{port}/hook")),
            ..NotifyConfig::default()
        };
        let n = Notifier::new(&cfg, quick(3)).unwrap();
        n.send(&event(), &state, &AtomicBool::new(false));
        let bodies = server.join().unwrap();
        assert_eq!(bodies.len(), 2, "one retry after the 500");
        let got: Event = serde_json::from_slice(&bodies[1]).unwrap();
        assert_eq!(got, event());
        let st = state.lock();
        assert_eq!((st.notifications_sent, st.notifications_failed), (1, 0));
    }

    #[test]
    fn the_exec_hook_gets_the_payload_and_the_essentials_and_a_failure_is_counted() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("hook.out");
        let state = Shared::start(&crate::paths::NodeEnv::new(d.path(), "deb1"));
        let script = format!(
            "{{ printf '%s %s %s %s|' \"$DRPILOT_EVENT\" \"$DRPILOT_SERVICE\" \"$DRPILOT_FROM\" \"$DRPILOT_TO\"; cat; }} > {}",
            out.display()
        );
        let cfg = NotifyConfig {
            exec: Some(vec!["/bin/sh".into(), "-c".into(), script]),
            ..NotifyConfig::default()
        };
        Notifier::new(&cfg, quick(1))
            .unwrap()
            .send(&event(), &state, &AtomicBool::new(false));
        let text = std::fs::read_to_string(&out).unwrap();
        let (env, json) = text.split_once('|').unwrap();
        assert_eq!(env, "status busybox up down");
        assert_eq!(serde_json::from_str::<Event>(json).unwrap(), event());
        let failing = NotifyConfig {
            exec: Some(vec!["/bin/false".into()]),
            ..NotifyConfig::default()
        };
        Notifier::new(&failing, quick(2))
            .unwrap()
            .send(&event(), &state, &AtomicBool::new(false));
        let st = state.lock();
        assert_eq!((st.notifications_sent, st.notifications_failed), (1, 1));
    }

    #[test]
    fn the_documented_payloads_parse() {
        let doc = include_str!("../../../docs/notifications.md");
        let mut n = 0;
        for block in doc.split("```json\n").skip(1) {
            let body = block.split("```").next().unwrap();
            let ev: Event = serde_json::from_str(body.trim()).unwrap();
            assert!(["status", "rpo_breach", "job_failed"].contains(&ev.event.as_str()));
            n += 1;
        }
        assert!(n >= 2);
    }
}
