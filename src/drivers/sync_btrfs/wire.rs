//! What the sending node and the target say to each other: the `drpilot peer btrfs-list` and
//! `btrfs-receive` command lines, the target's report, and the check that a received stream
//! really ended (a btrfs send stream closes with an END command: a cut one does not).

use std::io::Read;

use color_eyre::eyre::Result;
use serde::{Deserialize, Serialize};

use super::location::Location;
use crate::protocol::peer::{self, PeerVerb, SyncTarget};
use crate::transport::client;

/// `drpilot peer btrfs-list --svc S --rid R --dst DEV:SUBVOL`.
pub fn list_args(svc: &str, rid: &str, dst: &Location) -> Result<Vec<String>> {
    let target = SyncTarget::new(svc, rid, &dst.to_string())?;
    Ok(client::peer(&PeerVerb::BtrfsList { target }))
}

/// What the target needs to know about a transfer.
pub struct Transfer<'a> {
    /// The sending node.
    pub from: &'a str,
    /// The sync id, recorded on both nodes and naming the snapshot.
    pub id: &'a str,
    /// When the sender took its snapshot (RFC 3339).
    pub when: &'a str,
    /// The snapshot's name on the sender (the name the stream creates).
    pub snap: &'a str,
}

/// `drpilot peer btrfs-receive --svc S --rid R --dst DEV:SUBVOL --from N --id I --when T --snap X`.
pub fn receive_args(svc: &str, rid: &str, dst: &Location, t: &Transfer) -> Result<Vec<String>> {
    let target = SyncTarget::new(svc, rid, &dst.to_string())?;
    Ok(client::peer(&PeerVerb::BtrfsReceive {
        transfer: peer::Transfer::new(target, t.from, t.id, t.when)?,
        snap: t.snap.parse()?,
    }))
}

/// The target's answer to a successful receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiveReport {
    /// The snapshot's name on the target.
    pub name: String,
    /// Its uuid there.
    pub uuid: String,
    /// Its received uuid: the sender's snapshot uuid.
    pub received_uuid: String,
    /// Bytes of stream read.
    pub bytes: u64,
    /// Leftovers of cut transfers removed before receiving.
    pub cleaned: Vec<String>,
    /// Older snapshots deleted by rotation.
    pub deleted: Vec<String>,
    /// What went wrong without failing the receive (a deletion, the unmount).
    pub warnings: Vec<String>,
}

/// Length of a send stream command header: u32 length, u16 command, u32 crc.
const HEADER: usize = 10;
/// BTRFS_SEND_C_END.
const END_COMMAND: u16 = 21;

/// A reader passing a stream through while counting its bytes and keeping its last header.
pub struct Tail<R> {
    inner: R,
    bytes: u64,
    last: [u8; HEADER],
}

impl<R: Read> Tail<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            bytes: 0,
            last: [0xff; HEADER],
        }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Whether the stream so far ends with a btrfs send END command (an empty command 21).
    pub fn ended(&self) -> bool {
        self.bytes >= HEADER as u64
            && self.last[..4] == [0, 0, 0, 0]
            && u16::from_le_bytes([self.last[4], self.last[5]]) == END_COMMAND
    }
}

impl<R: Read> Read for Tail<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = &buf[..n];
        if n >= HEADER {
            self.last.copy_from_slice(&got[n - HEADER..]);
        } else if n > 0 {
            self.last.rotate_left(n);
            self.last[HEADER - n..].copy_from_slice(got);
        }
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The last bytes of a real `btrfs send` stream: the END command and its crc.
    const END: [u8; 10] = [0, 0, 0, 0, 0x15, 0, 0x50, 0x6c, 0xc9, 0x9d];

    fn drain(data: &[u8], chunk: usize) -> Tail<&[u8]> {
        let mut t = Tail::new(data);
        let mut buf = vec![0u8; chunk];
        while t.read(&mut buf).unwrap() > 0 {}
        t
    }

    #[test]
    fn a_complete_stream_ends_with_its_end_command() {
        let mut stream = b"btrfs-stream\0\x01\0\0\0 some commands".to_vec();
        stream.extend_from_slice(&END);
        for chunk in [1, 3, 7, 10, 64] {
            let t = drain(&stream, chunk);
            assert!(t.ended(), "chunk {chunk}");
            assert_eq!(t.bytes_read(), stream.len() as u64);
        }
    }

    #[test]
    fn a_cut_stream_does_not() {
        let mut stream = b"btrfs-stream\0\x01\0\0\0 some commands".to_vec();
        stream.extend_from_slice(&END);
        for cut in [0, 5, stream.len() - 1, stream.len() - 4] {
            assert!(!drain(&stream[..cut], 4).ended(), "cut at {cut}");
        }
    }

    #[test]
    fn receive_args_carry_the_transfer() {
        let dst = Location::parse("/dev/loop4:root").unwrap();
        let t = Transfer {
            from: "deb1",
            id: "ab12",
            when: "2026-01-01T00:00:00Z",
            snap: "root@ab12",
        };
        let a = receive_args("svc", "sync#1", &dst, &t).unwrap();
        assert_eq!(a[..2], ["peer", "btrfs-receive"]);
        assert!(a.windows(2).any(|w| w == ["--dst", "/dev/loop4:root"]));
        assert!(a.windows(2).any(|w| w == ["--snap", "root@ab12"]));
        assert_eq!(list_args("svc", "sync#1", &dst).unwrap()[1], "btrfs-list");
    }
}
