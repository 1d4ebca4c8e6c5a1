//! Whole-config tests: the seed's final config, and one case per validation rule.

use std::path::Path;

use super::{ConfigError, Loaded, Scope, ServiceConfig};

const SEED: &str = include_str!("../../assets/examples/busybox.opensvc.com.env");
const D1: &str = "deb1.opensvc.com";
const D2: &str = "deb2.opensvc.com";

fn parse(text: &str) -> Result<Loaded, ConfigError> {
    ServiceConfig::parse(
        "svc",
        Path::new("svc.env"),
        text,
        crate::drivers::catalogue(),
    )
}

fn errors(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(loaded) => panic!("accepted; warnings: {:?}", loaded.warnings),
        Err(e) => e
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(ToString::to_string)
            .collect(),
    }
}

fn warnings(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(loaded) => loaded.warnings.iter().map(ToString::to_string).collect(),
        Err(e) => panic!("refused: {e}"),
    }
}

const HEAD: &str = "[DEFAULT]\nnodes = n1\ndrpnodes = d1\n";

#[test]
fn seed_config_parses_with_only_the_mnt_opts_warning() {
    let loaded = ServiceConfig::parse(
        "busybox.opensvc.com",
        Path::new("b.env"),
        SEED,
        crate::drivers::catalogue(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        ["b.env:33: [fs#2] mnt_opts: unknown keyword, did you mean mnt_opt?"]
    );
    let c = &loaded.config;
    let v = |section: &str, key: &str, node: &str| c.get(section, key, node).map(|r| r.value);
    assert_eq!(v("ip#1", "ipname", D1), Some("busybox.opensvc.com"));
    assert_eq!(v("ip#1", "ipname", D2), Some("busybox-drp.opensvc.com"));
    assert_eq!(v("vg#1", "vgname", D1), Some("vglocaldeb1"));
    assert_eq!(v("vg#1", "vgname", D2), Some("vglocaldeb2"));
    assert_eq!(
        v("container#1", "docker_daemon_args", D2),
        Some("--ip 37.59.71.24")
    );
    assert_eq!(
        v("container#1", "docker_daemon_args", D1),
        Some("--ip 37.59.71.25")
    );
    let always_on = c.get_list("vg#1", "always_on", D1);
    assert!(c.list_includes(&always_on, D2));
    assert!(!c.list_includes(&always_on, D1));
    assert_eq!(c.all_nodes(), [D1, D2]);
    let drp_view = c.print_config(D2, crate::drivers::catalogue());
    assert!(
        drp_view.contains("ipname = busybox-drp.opensvc.com    # @deb2.opensvc.com\n"),
        "{drp_view}"
    );
    assert!(
        drp_view.contains("# from [DEFAULT] @drpnodes"),
        "{drp_view}"
    );
}

#[test]
fn required_keyword_must_resolve_on_every_node() {
    let e = errors(&format!("{HEAD}[ip#1]\nipdev = eth0\nipname@n1 = a\n"));
    assert_eq!(
        e,
        ["svc.env:6: [ip#1] ipname: ipname has no value for node d1 (only scoped for n1)"]
    );
    let e = errors(&format!("{HEAD}[ip#1]\nipdev = eth0\n"));
    assert_eq!(
        e,
        ["svc.env:4: [ip#1] ipname: missing required keyword ipname"]
    );
    let e = errors(&format!("{HEAD}[vg#1]\nvgname =\n"));
    assert_eq!(
        e,
        ["svc.env:5: [vg#1] vgname: required keyword vgname is empty for n1, d1"]
    );
    // @nodes plus @drpnodes covers everyone; DEFAULT fallback counts.
    assert!(warnings(&format!(
        "{HEAD}ipdev = eth0\n[ip#1]\nipname@nodes = a\nipname@drpnodes = b\n"
    ))
    .iter()
    .all(|w| w.contains("ipdev")));
}

#[test]
fn nodes_is_required_and_read_plain() {
    let e = errors("[DEFAULT]\napp = x\n");
    assert_eq!(
        e,
        ["svc.env:1: [DEFAULT] nodes: missing required keyword nodes"]
    );
    let e = errors("[DEFAULT]\nnodes = n1\nnodes@n1 = n2\n");
    assert!(e[0].contains("nodes@n1: nodes cannot be scoped"), "{e:?}");
    let e = errors("[DEFAULT]\nnodes = n1\ndrpnodes = n1\n");
    assert!(
        e[0].contains("node n1 is in both nodes and drpnodes"),
        "{e:?}"
    );
    let e = errors("");
    assert!(e[0].contains("missing [DEFAULT]"), "{e:?}");
}

#[test]
fn rids_and_types_are_checked() {
    let e = errors(&format!("{HEAD}[disk#1]\n[ip]\n[fs#a-b]\n[sync#i0]\n"));
    assert_eq!(e.len(), 4, "{e:?}");
    assert!(
        e[0].starts_with("svc.env:4: [disk#1] unknown resource type 'disk'"),
        "{e:?}"
    );
    assert!(e[1].contains("rid ip has no '#<id>'"), "{e:?}");
    assert!(e[2].contains("invalid rid fs#a-b"), "{e:?}");
    assert!(e[3].contains("reserved"), "{e:?}");
    let e = errors(&format!(
        "{HEAD}[fs#1]\ntype = ext5\ndev = /dev/x\nmnt = /m\n"
    ));
    assert_eq!(
        e,
        ["svc.env:5: [fs#1] type: unknown fs type 'ext5': use one of ext2, ext3, ext4, xfs, btrfs, directory"]
    );
    let e = errors(&format!("{HEAD}[container#1]\nrun_image = x\n"));
    assert_eq!(
        e,
        ["svc.env:4: [container#1] type: missing required keyword type"]
    );
}

#[test]
fn keyword_and_scope_warnings() {
    let w = warnings(&format!(
        "{HEAD}sync_perod = 1\n[ip#1]\ntype = x\nipdev = eth0\nipname = a\nipname@n3 = b\nalways_on = n3\nfoo = 1\n[sync#1]\ntype = dds\nsrc = /dev/vg/a\ndst = /dev/vg/b\ntarget = drpnodes\nsnap_dir = /s\n"
    ));
    let expect = [
        "svc.env:4: [DEFAULT] sync_perod: unknown keyword, did you mean sync_period?",
        "svc.env:6: [ip#1] type: ip resources have no type keyword",
        "svc.env:9: [ip#1] ipname@n3: scope @n3 names a node in neither nodes nor drpnodes: this value never applies",
        "svc.env:10: [ip#1] always_on: n3 is in neither nodes nor drpnodes: it never matches",
        "svc.env:11: [ip#1] foo: unknown keyword",
        "svc.env:17: [sync#1] snap_dir: snap_dir only applies to sync type btrfs: ignored here",
    ];
    assert_eq!(w, expect);
}

#[test]
fn syntax_and_semantic_errors_are_all_reported() {
    let e = errors("bare\n[DEFAULT]\nnodes = n1\n[ip#1]\nipdev: eth0\n");
    assert!(e.iter().any(|d| d.starts_with("svc.env:1: ")), "{e:?}");
    assert!(
        e.iter().any(|d| d.starts_with("svc.env:5: [ip#1] ':'")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|d| d.contains("missing required keyword ipdev")),
        "{e:?}"
    );
}

#[test]
fn scope_display_matches_resolution() {
    let c = parse(SEED)
        .map(|l| l.config)
        .unwrap_or_else(|e| panic!("{e}"));
    let r = c.get("fs#1", "dev", D2).map(|r| r.scope);
    assert_eq!(r, Some(Scope::Node(D2.to_string())));
}

#[test]
fn invalid_service_name_is_an_error_on_line_zero() {
    let e = ServiceConfig::parse(
        "bad name",
        Path::new("x.env"),
        SEED,
        crate::drivers::catalogue(),
    )
    .expect_err("bad name");
    assert_eq!(
        e.diagnostics[0].to_string(),
        "x.env:0: invalid service name 'bad name': use letters, digits, '.', '_' and '-'"
    );
}

/// The fixtures `tests/config_errors.rs` runs through the binary, checked here at the library
/// level so they stay right even before the CLI exists: (file, line of the error, fragment).
#[test]
fn malformed_fixtures_are_refused_at_the_right_line() {
    let cases = [
        ("bare_line.env", 7, "[ip#1] line has no '='"),
        (
            "indented_continuation.env",
            5,
            "[DEFAULT] indented continuation",
        ),
        ("colon_separator.env", 6, "[vg#1] ':' is not a separator"),
        (
            "bad_section_header.env",
            5,
            "malformed section header [fs#1: missing ']'",
        ),
        (
            "unknown_resource_type.env",
            5,
            "[disk#1] unknown resource type 'disk'",
        ),
        (
            "unknown_type_value.env",
            6,
            "[fs#1] type: unknown fs type 'ext5'",
        ),
        (
            "missing_required_keyword.env",
            7,
            "[ip#1] ipname: ipname has no value for node d1",
        ),
        (
            "missing_required_keyword.env",
            9,
            "[vg#1] vgname: missing required keyword vgname",
        ),
        (
            "duplicate_rid.env",
            8,
            "[vg#1] duplicate rid vg#1 (first at line 5)",
        ),
        (
            "duplicate_key.env",
            8,
            "[vg#1] vgname@n1: duplicate key (first at line 6)",
        ),
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config");
    for (file, line, fragment) in cases {
        let path = dir.join(file);
        let e = ServiceConfig::load(&path, crate::drivers::catalogue())
            .expect_err(file)
            .to_string();
        let prefix = format!("error: {}:{line}: ", path.display());
        assert!(
            e.lines()
                .any(|l| l.starts_with(&prefix) && l.contains(fragment)),
            "{file}: want {prefix}...{fragment} in\n{e}"
        );
    }
    let loaded = ServiceConfig::load(&dir.join("warnings.env"), crate::drivers::catalogue())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
}

/// A config of `n` resource sections of every kind that needs lookups while validating:
/// required keywords, typed keywords, node scopes.
pub(crate) fn many_sections(n: usize) -> String {
    let mut text = String::from("[DEFAULT]\nnodes = n1\ndrpnodes = d1\n");
    for i in 0..n {
        let section = match i % 3 {
            0 => format!("[fs#{i}]\ntype = directory\ndev = /srv/d{i}\nmnt = /opt/m{i}\n"),
            1 => format!("[app#{i}]\nstart = /bin/true {i}\nstop@n1 = /bin/true\n"),
            _ => format!("[sync#{i}]\ntype = btrfs\nsrc = /dev/vdb:s{i}\ndst = /dev/vdc:d{i}\ntarget = drpnodes\nsnap_dir = /x\n"),
        };
        text.push_str(&section);
    }
    text
}

#[test]
fn config_parsing_is_linear_in_the_number_of_sections() {
    // Quadratic parsing took minutes at this size (check-config: 10,000 sections 0.8 s,
    // 20,000 2.6 s). The figures are in benches/config_parse.rs; this proves the size works.
    const N: usize = 50_000;
    let loaded = parse(&many_sections(N)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.resource_sections().count(), N);
    assert!(loaded.warnings.is_empty(), "{:?}", &loaded.warnings[..3]);
    let last = format!("app#{}", N - 1);
    assert_eq!(
        loaded.config.get(&last, "stop", "n1").map(|r| r.value),
        Some("/bin/true")
    );
}

#[test]
fn system_files_must_be_absolute_paths_without_dot_dot() {
    let e = errors(&format!(
        "{HEAD}system_files_add = /srv/appusers etc/app.conf\nsystem_files@d1 = /../x\n"
    ));
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(
        e.iter().any(
            |m| m.contains("svc.env:4") && m.contains("'etc/app.conf' is not an absolute path")
        ),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|m| m.contains("svc.env:5") && m.contains("'..'")),
        "{e:?}"
    );
    assert!(warnings(&format!("{HEAD}system_files_add = /srv/appusers\n")).is_empty());
}
