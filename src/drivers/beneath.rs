//! Creating the entries of a received tree beneath one directory, never through a symbolic
//! link: every directory on the way is opened from the tree's root with `O_NOFOLLOW`, and each
//! entry is made relative to its parent's descriptor (`mkdirat`, `symlinkat`, `linkat`, `openat`
//! with `O_CREAT | O_EXCL | O_NOFOLLOW`). A stream that creates `esc -> /outside` and then
//! `esc/pwned.txt` is refused instead of writing outside. Portable to kernels without `openat2`.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use color_eyre::eyre::{bail, eyre, Result, WrapErr};
use rustix::fs::{
    fchmod, linkat, mkdirat, openat, statat, symlinkat, AtFlags, FileType, Mode, OFlags, CWD,
};
use rustix::io::Errno;

/// How a directory on the way is opened: a directory, never a link.
const DIR_FLAGS: OFlags = OFlags::DIRECTORY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::RDONLY)
    .union(OFlags::CLOEXEC);

/// A directory tree entries are created in (or read from), by relative paths that may not
/// cross a symbolic link. Relative paths must be checked first: components that are not empty,
/// `.` or `..`.
pub struct Beneath {
    root: OwnedFd,
    shown: PathBuf,
    /// The last parent directory used, as entries come directory by directory.
    last: Option<(String, OwnedFd)>,
}

impl Beneath {
    /// Opens `dir`, which must be a directory and not itself a link.
    pub fn open(dir: &Path) -> Result<Self> {
        let root = openat(CWD, dir, DIR_FLAGS, Mode::empty())
            .map_err(std::io::Error::from)
            .wrap_err_with(|| format!("opening {}", dir.display()))?;
        Ok(Self {
            root,
            shown: dir.to_path_buf(),
            last: None,
        })
    }

    /// Opens the directory `dir` (relative, `""` for the root), one component at a time.
    fn open_dir(&self, dir: &str, rel: &str) -> Result<OwnedFd> {
        let mut fd = openat(&self.root, ".", DIR_FLAGS, Mode::empty())
            .map_err(std::io::Error::from)
            .wrap_err_with(|| format!("opening {}", self.shown.display()))?;
        let mut walked = String::new();
        for comp in dir.split('/').filter(|c| !c.is_empty()) {
            if !walked.is_empty() {
                walked.push('/');
            }
            walked.push_str(comp);
            fd = match openat(&fd, comp, DIR_FLAGS, Mode::empty()) {
                Ok(next) => next,
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    let link = statat(&fd, comp, AtFlags::SYMLINK_NOFOLLOW)
                        .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink);
                    let what = if link {
                        "a symbolic link"
                    } else {
                        "not a directory"
                    };
                    bail!(
                        "'{rel}' goes through '{walked}', {what}: refusing to write outside {}",
                        self.shown.display()
                    );
                }
                Err(e) => {
                    return Err(eyre!(std::io::Error::from(e)))
                        .wrap_err_with(|| format!("opening {walked} in {}", self.shown.display()))
                }
            };
        }
        Ok(fd)
    }

    /// The descriptor of the directory holding `rel`, and the entry's own name.
    fn parent<'r>(&mut self, rel: &'r str) -> Result<(BorrowedFd<'_>, &'r str)> {
        let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        if self.last.as_ref().map(|(d, _)| d.as_str()) != Some(dir) {
            self.last = None;
            let fd = self.open_dir(dir, rel)?;
            self.last = Some((dir.to_string(), fd));
        }
        match &self.last {
            Some((_, fd)) => Ok((fd.as_fd(), name)),
            None => bail!("no directory open for '{rel}'"),
        }
    }

    /// Creates the directory `rel` with permissions `mode`.
    pub fn mkdir(&mut self, rel: &str, mode: u32) -> Result<()> {
        let ctx = || format!("creating directory {rel}");
        let (parent, name) = self.parent(rel)?;
        mkdirat(parent, name, Mode::from_raw_mode(0o700))
            .map_err(std::io::Error::from)
            .wrap_err_with(ctx)?;
        let fd = openat(parent, name, DIR_FLAGS, Mode::empty())
            .map_err(std::io::Error::from)
            .wrap_err_with(ctx)?;
        fchmod(&fd, Mode::from_raw_mode(mode))
            .map_err(std::io::Error::from)
            .wrap_err_with(ctx)
    }

    /// Creates the symbolic link `rel` pointing to `target` (which is never followed here).
    pub fn symlink(&mut self, rel: &str, target: &str) -> Result<()> {
        let (parent, name) = self.parent(rel)?;
        symlinkat(target, parent, name)
            .map_err(std::io::Error::from)
            .wrap_err_with(|| format!("creating link {rel}"))
    }

    /// Creates the new file `rel` (it must not exist), owner-only until the caller sets its mode.
    pub fn create_file(&mut self, rel: &str) -> Result<File> {
        let (parent, name) = self.parent(rel)?;
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = openat(parent, name, flags, Mode::from_raw_mode(0o600))
            .map_err(std::io::Error::from)
            .wrap_err_with(|| format!("creating file {rel}"))?;
        Ok(File::from(fd))
    }

    /// Hard-links the regular file `rel` of `from` to `rel` here.
    pub fn link_from(&mut self, from: &mut Beneath, rel: &str) -> Result<()> {
        let shown = from.shown.clone();
        let (src_dir, name) = from.parent(rel)?;
        let st = statat(src_dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(std::io::Error::from)
            .wrap_err_with(|| format!("reading {rel} in {}", shown.display()))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            bail!(
                "{rel} in {} is not a regular file any more",
                shown.display()
            );
        }
        let (dst_dir, _) = self.parent(rel)?;
        linkat(src_dir, name, dst_dir, name, AtFlags::empty())
            .map_err(std::io::Error::from)
            .wrap_err_with(|| format!("linking {rel}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_created_beneath_and_links_are_never_crossed() {
        let d = tempfile::tempdir().unwrap();
        let (root, outside) = (d.path().join("root"), d.path().join("outside"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let mut b = Beneath::open(&root).unwrap();
        b.mkdir("sub", 0o755).unwrap();
        std::io::Write::write_all(&mut b.create_file("sub/f").unwrap(), b"x").unwrap();
        b.symlink("esc", outside.to_str().unwrap()).unwrap();
        let err = b.create_file("esc/pwned.txt").unwrap_err();
        assert!(
            format!("{err:#}").contains("'esc', a symbolic link"),
            "{err:#}"
        );
        let err = b.mkdir("esc/d", 0o755).unwrap_err();
        assert!(format!("{err:#}").contains("a symbolic link"), "{err:#}");
        b.symlink("sub/f2", outside.join("g").to_str().unwrap())
            .unwrap();
        assert!(b.create_file("sub/f2").is_err(), "a file over a link");
        assert!(std::fs::read_dir(&outside).unwrap().next().is_none());
        assert_eq!(std::fs::read(root.join("sub/f")).unwrap(), b"x");
    }
}
