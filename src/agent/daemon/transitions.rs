//! The daemon's probe loop writes its watch records into a [`StatusSink`]: each change of a
//! service's avail becomes a `status` notification.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use super::notify::Event;
use super::state;
use crate::protocol::watch::WatchRecord;
use crate::status::Status;

/// The daemon's probe loop writes its watch records here: each service's avail change becomes
/// a `status` notification.
pub struct StatusSink {
    node: String,
    buf: Vec<u8>,
    last: BTreeMap<String, Status>,
    tx: mpsc::Sender<Event>,
    stop: Arc<AtomicBool>,
}

impl StatusSink {
    /// A sink sending the transitions of `node`'s services to `tx`; it refuses lines (which
    /// ends the probe loop) once `stop` is set.
    pub fn new(node: &str, tx: mpsc::Sender<Event>, stop: Arc<AtomicBool>) -> Self {
        Self {
            node: node.to_string(),
            buf: Vec::new(),
            last: Default::default(),
            tx,
            stop,
        }
    }

    fn line(&mut self, line: &[u8]) {
        let Ok(WatchRecord::Status { status, .. }) = serde_json::from_slice(line) else {
            return;
        };
        let now = status.avail.displayed();
        if let Some(before) = self.last.insert(status.service.clone(), now) {
            if before != now {
                let _ = self.tx.send(Event {
                    event: "status".into(),
                    node: self.node.clone(),
                    service: status.service.clone(),
                    ts: state::now_text(),
                    from: Some(before.to_string()),
                    to: Some(now.to_string()),
                    rid: None,
                    message: format!(
                        "{} went from {before} to {now} on {}",
                        status.service, self.node
                    ),
                });
            }
        }
    }
}

impl std::io::Write for StatusSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::SeqCst) {
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        self.buf.extend_from_slice(data);
        while let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            self.line(&line);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn record(avail: &str) -> String {
        format!(
            "{{\"type\":\"status\",\"status\":{{\"schema\":1,\"service\":\"busybox\",\"node\":\"deb1\",\"updated\":\"\",\"overall\":\"{avail}\",\"avail\":\"{avail}\",\"sync\":\"up\",\"hb\":\"n/a\",\"resources\":[],\"syncs\":[]}}}}\n"
        )
    }

    #[test]
    fn an_avail_change_is_one_event_and_the_first_look_none() {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let mut sink = StatusSink::new("deb1", tx, stop.clone());
        let lines = [record("up"), record("up"), record("down")].concat();
        // Split mid-line: records are read whole.
        let (a, b) = lines.split_at(lines.len() / 2);
        sink.write_all(a.as_bytes()).unwrap();
        sink.write_all(b.as_bytes()).unwrap();
        let events: Vec<Event> = rx.try_iter().collect();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].from.as_deref(), Some("up"));
        assert_eq!(events[0].to.as_deref(), Some("down"));
        stop.store(true, Ordering::SeqCst);
        assert!(
            sink.write_all(b"x").is_err(),
            "a stopping daemon ends the loop"
        );
    }
}
