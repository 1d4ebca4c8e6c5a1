//! The seed's service on the testbed: `busybox.opensvc.com` configured as in the seed's final
//! config (btrfs volumes in place of the vg/dds pair), its subvolumes made on the production
//! node, the nodes map on every host, and a busybox image imported into its private docker.
//! The end-to-end tests and `drpilot lab --netns` deploy it the same way.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use color_eyre::eyre::{bail, eyre, Result};

use super::{Host, Testbed};
use crate::lab::busybox_image::{write_rootfs_tar, BUSYBOX};
use crate::protocol::verb::{Action, Group, SvcFlags};
use crate::transport::{client, run_child, CallOutput};

/// The service's name, as in the seed.
pub const SERVICE: &str = "busybox.opensvc.com";
/// The production node.
pub const PROD: &str = "deb1.opensvc.com";
/// The DRP node.
pub const DRP: &str = "deb2.opensvc.com";
/// The image the container runs.
pub const IMAGE: &str = "tb/busybox:1";
/// The subvolumes standing for the seed's two logical volumes.
pub const SUBVOLUMES: [&str; 2] = ["root", "appdata"];

const TEMPLATE: &str = include_str!("../../../assets/testbed/busybox.opensvc.com.env");

/// How long one deployment command may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// The service config for this testbed's devices and addresses.
pub fn config_text(tb: &Testbed) -> Result<String> {
    let dev = |node: &str| {
        tb.volumes_of(node)
            .map(|v| v.btrfs.device.to_string_lossy().into_owned())
            .ok_or_else(|| eyre!("the testbed has no host {node}"))
    };
    Ok(TEMPLATE
        .replace("{DEV1}", &dev(PROD)?)
        .replace("{DEV2}", &dev(DRP)?)
        .replace("{IP_PROD}", &tb.subnet.host(21).to_string())
        .replace("{IP_DRP}", &tb.subnet.host(22).to_string()))
}

/// Runs drpilot (`bin`) on a host, as the node's own root would, through nsenter.
pub fn drpilot_on(host: &Host, bin: &Path, args: &[String]) -> Result<CallOutput> {
    let mut cmd = host.command(&bin.to_string_lossy());
    cmd.args(args);
    clean_env(&mut cmd);
    run_child(cmd, None, Some(STEP_TIMEOUT))
}

/// A host's environment: nothing of the test process (no DRPILOT_ROOT), root's HOME.
pub fn clean_env(cmd: &mut Command) {
    cmd.env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8");
}

fn must(out: CallOutput, what: &str) -> Result<String> {
    if !out.success {
        bail!("{what}: {}\n{}", out.failure_reason(), out.stderr.trim());
    }
    Ok(out.stdout_text())
}

/// Deploys the service: `bin` installed in the testbed, config and nodes map on every host,
/// subvolumes on the production node's volume, the image imported there. Leaves the service
/// down everywhere.
pub fn deploy(tb: &Testbed, bin: &Path) -> Result<()> {
    let bin = &tb.install(bin)?;
    let config = config_text(tb)?;
    let nodes = tb.node_map(bin).to_toml();
    for h in &tb.hosts {
        let node = &h.record.name;
        tb.write_file(node, &format!("/etc/drpilot/{SERVICE}.env"), &config)?;
        tb.write_file(node, "/etc/drpilot/nodes.toml", &nodes)?;
    }
    let prod = tb.host(PROD).ok_or_else(|| eyre!("no host {PROD}"))?;
    let dev = tb
        .volumes_of(PROD)
        .map(|v| v.btrfs.device.to_string_lossy().into_owned())
        .ok_or_else(|| eyre!("no volumes on {PROD}"))?;
    let top = "/run/drpilot-testbed-setup";
    prod.run(&["mkdir", "-p", top])?;
    prod.run(&["mount", &dev, top])?;
    let made: Result<()> = SUBVOLUMES.iter().try_for_each(|s| {
        prod.run(&["btrfs", "subvolume", "create", &format!("{top}/{s}")])
            .map(|_| ())
    });
    prod.run(&["umount", top])?;
    made?;
    let tar = super::super::busybox_image::default_tar(&tb.dir);
    write_rootfs_tar(Path::new(BUSYBOX), &tar)?;
    let tar = tar.to_string_lossy().into_owned();
    let none = SvcFlags::default();
    must(
        drpilot_on(
            prod,
            bin,
            &client::svc(SERVICE, &Action::Start(Some(Group::Fs)), &none),
        )?,
        "startfs on deb1",
    )?;
    let imported = drpilot_on(
        prod,
        bin,
        &client::svc_docker(SERVICE, &["import", &tar, IMAGE]),
    );
    let stopped = drpilot_on(prod, bin, &client::svc(SERVICE, &Action::Stop(None), &none));
    must(imported?, "importing the busybox image on deb1")?;
    must(stopped?, "stopping the service on deb1 after the import")?;
    Ok(())
}
