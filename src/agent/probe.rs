//! Probing a service: every driver looks at the system, standby and disable are applied, the
//! config sync is judged with the service's availability, and the tree is aggregated.

use chrono::Utc;

use super::Service;
use crate::action_log::ActionLog;
use crate::drivers::{sync_config, Ctx};
use crate::paths::NodeEnv;
use crate::status::{aggregate, group_of, Flags, ResourceStatus, ServiceStatus, Status, SyncInfo};
use crate::transport::NodeMap;

/// A resource status that is neither up nor simply stopped, without a reason, would leave the
/// operator guessing.
fn with_reason(mut comments: Vec<String>, status: Status) -> Vec<String> {
    let plain = matches!(
        status,
        Status::Up | Status::StdbyUp | Status::Down | Status::StdbyDown
    );
    if comments.is_empty() && !plain {
        comments.push("no reason given by the driver".to_string());
    }
    comments
}

/// Runs `f` with a context of `svc` that looks at this node only: a silent log and an empty
/// node map, so nothing it does reaches a peer (probes, the daemon's checks, `svc docker`).
pub fn with_local_ctx<T>(
    env: &NodeEnv,
    svc: &Service,
    force: bool,
    f: impl FnOnce(&Ctx) -> T,
) -> T {
    let log = ActionLog::silent(&svc.name);
    let peers = NodeMap::default();
    f(&Ctx {
        env,
        cfg: &svc.cfg,
        svc: &svc.name,
        log: &log,
        force,
        peers: &peers,
    })
}

/// The status of `svc` on this node. Probes only look at this node: they never reach a peer,
/// so they get an empty node map.
pub fn probe(env: &NodeEnv, svc: &Service) -> ServiceStatus {
    with_local_ctx(env, svc, false, |ctx| probe_with(svc, ctx))
}

fn probe_with(svc: &Service, ctx: &Ctx) -> ServiceStatus {
    let env = ctx.env;
    let mut rows = Vec::new();
    let mut syncs = Vec::new();
    // Apps and the system files last: their status depends on how the rest of the instance is.
    let (late, others): (Vec<_>, Vec<_>) = svc
        .resources
        .iter()
        .partition(|r| r.driver.judged_after_instance());
    let mut instance = Status::Undef;
    let mut instance_len = 0;
    for r in others.into_iter().chain(late) {
        let is_late = r.driver.judged_after_instance();
        let instance_up = instance_len == 0
            || matches!(
                instance.displayed(),
                Status::Up | Status::NotApplicable | Status::Undef
            );
        let p = if is_late && !instance_up {
            r.driver.probe_instance_down(ctx)
        } else {
            r.driver.probe(ctx)
        };
        let (status, comments) = r.common.effective(p.status, p.comments);
        if !matches!(group_of(r.driver.rid()), "app" | "sync" | "hb") {
            instance = instance.merge(status);
            instance_len += 1;
        }
        rows.push(ResourceStatus {
            provisioned: None,
            rid: r.driver.rid().to_string(),
            type_name: r.driver.type_name(),
            label: p.label.unwrap_or_else(|| r.driver.label(ctx)),
            status,
            flags: r.common.flags(),
            standby: r.common.standby,
            comments: with_reason(comments, status),
        });
        // The replicas' ages, whose oldest is the RPO: the service's data only.
        if let Some(s) = r.driver.as_sync().filter(|s| s.is_service_data()) {
            syncs.push(SyncInfo {
                rid: r.driver.rid().to_string(),
                last_sync: s
                    .last_sync(ctx)
                    .map(|st| st.when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                max_delay_s: s.max_delay(ctx).as_secs(),
            });
        }
    }
    let avail = rows
        .iter()
        .filter(|r| !matches!(group_of(&r.rid), "sync" | "hb"))
        .fold(Status::Undef, |acc, r| acc.merge(r.status));
    if !sync_config::targets(&svc.cfg, &env.nodename).is_empty() {
        let p = sync_config::probe(ctx, avail.is_up_like());
        rows.push(ResourceStatus {
            provisioned: None,
            rid: sync_config::RID.to_string(),
            type_name: "sync.config".to_string(),
            label: sync_config::LABEL.to_string(),
            status: p.status,
            flags: Flags::default(),
            standby: false,
            comments: with_reason(p.comments, p.status),
        });
    }
    aggregate(
        &svc.name,
        &env.nodename,
        Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        rows,
        syncs,
    )
}
