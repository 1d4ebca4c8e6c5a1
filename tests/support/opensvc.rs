//! Two nodes `deb1` and `deb2` whose OpenSVC agent is a script replaying outputs from
//! `tests/fixtures/` (the script and the files are the test's): what the OpenSVC tests drive
//! through drpilot's transport and binary.

use std::path::{Path, PathBuf};

use drpilot::transport::{NodeMap, Pool};

/// The replaying nodes: their files under `root/NODE`, their node map.
pub struct Replay {
    _dir: tempfile::TempDir,
    /// Where each node's files are (`root/deb1`, `root/deb2`).
    pub root: PathBuf,
    /// A session pool on the node map.
    pub pool: Pool,
    /// The node map's file.
    pub nodes: PathBuf,
}

/// A file of `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

impl Replay {
    /// Nodes of `flavor` whose agent is `script`, each given `files` (node, fixture under
    /// `tests/fixtures/FIXTURES/`, name on the node).
    pub fn new(script: &str, flavor: &str, fixtures: &str, files: &[(&str, &str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let om = root.join("om");
        std::fs::write(&om, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&om, std::fs::Permissions::from_mode(0o755)).unwrap();
        for n in ["deb1", "deb2"] {
            std::fs::create_dir_all(root.join(n)).unwrap();
        }
        for (node, from, to) in files {
            std::fs::copy(
                fixture(&format!("{fixtures}/{from}")),
                root.join(node).join(to),
            )
            .unwrap();
        }
        let mut toml = String::from("[nodes]\n");
        for n in ["deb1", "deb2"] {
            toml.push_str(&format!("{n} = \"local:{}\"\n", root.join(n).display()));
        }
        for n in ["deb1", "deb2"] {
            toml.push_str(&format!(
                "[options.{n}]\nflavor = \"{flavor}\"\nbin = \"{}\"\nvar = \"{}\"\n",
                om.display(),
                root.join(n).join("var").display()
            ));
        }
        let map = NodeMap::parse(&toml).expect("nodes.toml");
        let nodes = root.join("nodes.toml");
        std::fs::write(&nodes, &toml).unwrap();
        Self {
            pool: Pool::new(map),
            root,
            nodes,
            _dir: dir,
        }
    }

    /// Makes `node`'s agent say that `rid` last synced to `peer` `age` ago (the agent's
    /// `last_sync_<peer>` file, its modification time).
    pub fn synced(&self, node: &str, rid: &str, peer: &str, age: std::time::Duration) {
        let dir = self.root.join(node).join("var/svc/demo").join(rid);
        std::fs::create_dir_all(&dir).unwrap();
        let file = std::fs::File::create(dir.join(format!("last_sync_{peer}"))).unwrap();
        file.set_modified(std::time::SystemTime::now() - age)
            .unwrap();
    }

    /// The commands `node`'s agent was given that changed something, in order.
    pub fn commands(&self, node: &str) -> Vec<String> {
        std::fs::read_to_string(self.root.join(node).join("commands"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}
