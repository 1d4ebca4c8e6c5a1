//! Parsing of node addresses: `ssh://[user@]host[:port]` or `local:<root>`.

use std::fmt;
use std::path::PathBuf;

use color_eyre::eyre::{bail, Result};

/// Where a node is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeAddress {
    /// A node living under a directory of this machine (the lab): this same binary is run with
    /// `DRPILOT_ROOT` set to `root`.
    Local { root: PathBuf },
    /// A node reached over SSH.
    Ssh {
        user: Option<String>,
        host: String,
        port: Option<u16>,
    },
}

impl NodeAddress {
    /// Parses an address as written in nodes.toml.
    pub fn parse(text: &str) -> Result<Self> {
        if let Some(root) = text.strip_prefix("local:") {
            if root.is_empty() {
                bail!("'{text}': local: needs a directory, as in local:/srv/lab/deb1");
            }
            return Ok(Self::Local { root: root.into() });
        }
        if let Some(rest) = text.strip_prefix("ssh://") {
            let (user, hostport) = match rest.split_once('@') {
                Some((u, h)) => (Some(u.to_string()), h),
                None => (None, rest),
            };
            let (host, port) = match hostport.rsplit_once(':') {
                Some((h, p)) => match p.parse::<u16>() {
                    Ok(p) => (h, Some(p)),
                    Err(_) => bail!("'{text}': port '{p}' is not a number"),
                },
                None => (hostport, None),
            };
            if host.is_empty() || user.as_deref() == Some("") {
                bail!("'{text}': expected ssh://[user@]host[:port]");
            }
            return Ok(Self::Ssh {
                user,
                host: host.to_string(),
                port,
            });
        }
        bail!("'{text}': a node address starts with ssh:// or local:")
    }
}

impl fmt::Display for NodeAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local { root } => write!(f, "local:{}", root.display()),
            Self::Ssh { user, host, port } => {
                write!(f, "ssh://")?;
                if let Some(u) = user {
                    write!(f, "{u}@")?;
                }
                write!(f, "{host}")?;
                if let Some(p) = port {
                    write!(f, ":{p}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        assert_eq!(
            NodeAddress::parse("local:/lab/deb1").ok(),
            Some(NodeAddress::Local {
                root: "/lab/deb1".into()
            })
        );
        let ssh = NodeAddress::parse("ssh://root@deb1.example.org:2222").ok();
        assert_eq!(
            ssh,
            Some(NodeAddress::Ssh {
                user: Some("root".into()),
                host: "deb1.example.org".into(),
                port: Some(2222)
            })
        );
        assert_eq!(
            ssh.map(|a| a.to_string()).as_deref(),
            Some("ssh://root@deb1.example.org:2222")
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(NodeAddress::parse("deb1").is_err());
        assert!(NodeAddress::parse("ssh://@h").is_err());
        assert!(NodeAddress::parse("ssh://h:port").is_err());
        assert!(NodeAddress::parse("local:").is_err());
    }
}
