//! Service selectors: a name, a comma list, `allservices`, or `allupservices` (the services whose
//! availability is up or warn on this node).

use color_eyre::eyre::{bail, Result, WrapErr};

use crate::paths::NodeEnv;

/// The names of the services configured on this node, sorted.
pub fn configured(env: &NodeEnv) -> Result<Vec<String>> {
    let dir = env.etc_dir();
    let mut names = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(e).wrap_err_with(|| format!("reading {}", dir.display())),
    };
    for e in entries {
        let name = e?.file_name().to_string_lossy().into_owned();
        if let Some(svc) = name.strip_suffix(".env") {
            if !svc.starts_with('.') {
                names.push(svc.to_string());
            }
        }
    }
    names.sort();
    Ok(names)
}

/// Whether a selector is one of the words that expand to many services.
pub fn is_multi(selector: &str) -> bool {
    matches!(selector, "allservices" | "allupservices") || selector.contains(',')
}

/// Expands a selector to service names (without the up filter of `allupservices`, which needs a
/// probe: the runner applies it).
pub fn expand(env: &NodeEnv, selector: &str) -> Result<Vec<String>> {
    match selector {
        "allservices" | "allupservices" => configured(env),
        s => {
            let names: Vec<String> = s
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect();
            if names.is_empty() {
                bail!("no service named in '{selector}'");
            }
            Ok(names)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_configured_services_and_expands_lists() {
        let d = tempfile::tempdir().unwrap();
        let env = NodeEnv::new(d.path(), "n1");
        std::fs::create_dir_all(env.etc_dir()).unwrap();
        for f in ["b.env", "a.env", "nodes.toml", ".hidden.env"] {
            std::fs::write(env.etc_dir().join(f), "").unwrap();
        }
        assert_eq!(expand(&env, "allservices").unwrap(), vec!["a", "b"]);
        assert_eq!(expand(&env, "x, y").unwrap(), vec!["x", "y"]);
        assert!(expand(&env, ",").is_err());
        assert!(is_multi("a,b") && is_multi("allupservices") && !is_multi("a"));
    }
}
