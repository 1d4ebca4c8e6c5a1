//! A cpio "newc" archive writer, the format the kernel unpacks as its initramfs. Parent
//! directories are added on demand; every entry belongs to root with mtime 0 so the same inputs
//! give the same bytes.

use std::collections::HashSet;

/// An archive being built in memory.
#[derive(Default)]
pub struct Cpio {
    buf: Vec<u8>,
    ino: u32,
    dirs: HashSet<String>,
}

fn clean(path: &str) -> String {
    path.trim_start_matches('/').to_string()
}

impl Cpio {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn entry(&mut self, name: &str, mode: u32, nlink: u32, data: &[u8]) {
        self.ino += 1;
        let fields = [
            self.ino,
            mode,
            0,
            0,
            nlink,
            0,
            data.len() as u32,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0,
        ];
        self.buf.extend_from_slice(b"070701");
        for f in fields {
            self.buf.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        self.pad();
        self.buf.extend_from_slice(data);
        self.pad();
    }

    fn parents(&mut self, path: &str) {
        let mut acc = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(part);
            if self.dirs.insert(acc.clone()) {
                let name = acc.clone();
                self.entry(&name, 0o040755, 2, &[]);
            }
        }
    }

    /// A directory (and its parents).
    pub fn dir(&mut self, path: &str) -> &mut Self {
        let p = clean(path);
        self.parents(&p);
        if self.dirs.insert(p.clone()) {
            self.entry(&p, 0o040755, 2, &[]);
        }
        self
    }

    /// A regular file with permission bits `perm` (0o755 for programs).
    pub fn file(&mut self, path: &str, perm: u32, data: &[u8]) -> &mut Self {
        let p = clean(path);
        self.parents(&p);
        self.entry(&p, 0o100000 | perm, 1, data);
        self
    }

    /// A symbolic link to `target`.
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        let p = clean(path);
        self.parents(&p);
        self.entry(&p, 0o120777, 1, target.as_bytes());
        self
    }

    /// The archive's bytes, with its trailer.
    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, 1, &[]);
        self.buf
    }
}
