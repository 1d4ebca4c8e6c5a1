//! Runs a verb on the selected services: the seed's start and stop orders, the split-brain guard,
//! standby resources, the syncs with their period, the lock, and a clear failure that stops the
//! action where it happened.

use std::time::Duration;

use color_eyre::eyre::{bail, eyre, Result};

use super::action::{start_rank, Action, Group};
use super::peer_answer::{GuardLine, PeerAnswer};
use super::plan::{Item, Plan};
use super::plan_run::{Direction, PlanRun};
use super::{lock, peer, probe, selector, Service};
use crate::action_log::{ActionLog, Format, ACTIONS_LOG};
use crate::config::parallel::Declared;
use crate::drivers::{sync_config, sync_state, Ctx, DataSync, Loaded, SyncMode};
use crate::paths::NodeEnv;
use crate::status::{group_of, render_json, render_text, Status};
use crate::text::clean_lines;
use crate::transport::{NodeMap, Pool, Transport};

/// How long an action other than a sync waits for the service lock when `--waitlock` is not
/// given (syncs fail at once then: a periodic sync skipped is taken at the next period).
pub const DEFAULT_WAITLOCK: Duration = Duration::from_secs(60);

/// Flags of `drpilot svc`.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--force`: outside the sync period, past the split-brain guard, standby resources too.
    pub force: bool,
    /// `--waitlock SECS`; `None` when not given: [`DEFAULT_WAITLOCK`], and no wait for syncs.
    pub waitlock: Option<Duration>,
    /// `--rid`: act on these resources only.
    pub rids: Vec<String>,
    /// `--format`.
    pub format: Format,
    /// `--target NODE`: data syncs go to this node of the service instead of their `target`
    /// (failback replicates from the DRP node back to production).
    pub target: Option<String>,
    /// `--declared-lost NODE`: nodes a disaster was declared on; their being unreachable does
    /// not block a start (any other answer of theirs still does).
    pub declared_lost: Vec<String>,
    /// Colours for `print status` (decided by the CLI: `--color`, tty and NO_COLOR).
    pub paint: fn(Status, &str) -> String,
}

/// Runs `action` on every service of `selector`. Returns whether all succeeded; failures have
/// been reported on stderr.
pub fn run(env: &NodeEnv, selector_text: &str, action: &Action, opts: &Options) -> Result<bool> {
    let peers = NodeMap::load(&env.nodes_map_path())?;
    let names = selector::expand(env, selector_text)?;
    let multi = selector::is_multi(selector_text);
    let mut ok = true;
    for name in names {
        let svc = match Service::load(env, &name) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{}", crate::text::error_lines(&e));
                ok = false;
                continue;
            }
        };
        if selector_text == "allupservices" {
            let st = probe::probe(env, &svc);
            if !st.avail.is_active() {
                continue;
            }
        }
        if !matches!(action, Action::PrintStatus) || !multi {
            svc.print_warnings();
        }
        if let Err(e) = run_one(env, &svc, &peers, action, opts) {
            eprintln!("{}", crate::text::error_lines(&e));
            ok = false;
        }
    }
    Ok(ok)
}

fn run_one(
    env: &NodeEnv,
    svc: &Service,
    peers: &NodeMap,
    action: &Action,
    opts: &Options,
) -> Result<()> {
    match action {
        Action::PrintStatus => {
            let st = probe::probe(env, svc);
            match opts.format {
                Format::Text => print!("{}", render_text(&st, &opts.paint)),
                Format::Json => println!("{}", render_json(&st)),
            }
            return Ok(());
        }
        Action::PrintConfig { node } => {
            let text = svc.cfg.print_config(
                node.as_deref().unwrap_or(&env.nodename),
                crate::drivers::catalogue(),
            );
            print!("{}", clean_lines(&text));
            return Ok(());
        }
        Action::Validate => {
            println!(
                "{}: config ok ({} resources)",
                svc.name,
                svc.resources.len()
            );
            return Ok(());
        }
        Action::BubbleStatus => {
            println!(
                "{}",
                serde_json::to_string(&super::bubble::status(env, svc))?
            );
            return Ok(());
        }
        Action::BubbleEnter => return super::bubble::enter(env, svc),
        Action::PrintDrift => return print_drift(env, svc, opts.format),
        _ => {}
    }
    check_rids(svc, &opts.rids)?;
    let log = ActionLog::new(
        &svc.name,
        opts.format,
        Some(&env.state_dir(&svc.name).join(ACTIONS_LOG)),
    );
    // Counted in the verb's counters when the log is dropped: a failure unless it succeeds.
    log.begin(&action.verb());
    let ctx = Ctx {
        env,
        cfg: &svc.cfg,
        svc: &svc.name,
        log: &log,
        force: opts.force,
        peers,
    };
    // Without --waitlock, syncs fail fast when another action holds the lock and the others
    // wait; with it, every verb waits that long (a runbook waiting for the sync a dead seat left
    // running).
    let is_sync = matches!(
        action,
        Action::SyncFull | Action::SyncUpdate | Action::SyncDrp | Action::SyncNodes
    );
    if super::bubble::inside(env) && (is_sync || action.is_bubble()) {
        bail!(
            "{}: not inside a test bubble: a bubble never replicates nor nests",
            action.verb()
        );
    }
    let wait = match opts.waitlock {
        Some(w) => w,
        None if is_sync => Duration::ZERO,
        None => DEFAULT_WAITLOCK,
    };
    let _lock = lock::acquire_logging(env, &svc.name, &action.verb(), wait, &mut |msg| {
        log.info("", msg)
    })?;
    let result = match action {
        Action::Start(group) => start(&ctx, svc, *group, opts),
        Action::Stop(group) => stop(&ctx, svc, *group, opts),
        Action::SyncFull | Action::SyncUpdate => {
            let mode = if matches!(action, Action::SyncFull) {
                SyncMode::Full
            } else {
                SyncMode::Update
            };
            syncs_here(&ctx, svc, mode, opts, &links(ctx.peers))
        }
        Action::StartStandby => start_standby(&ctx, svc, opts),
        Action::StopStandby => stop_standby(&ctx, svc, opts),
        Action::SyncNodes => {
            refuse_push_from_idle_drp_node(&ctx, svc)?;
            push_config(
                &ctx,
                &sync_config::targets(&svc.cfg, &env.nodename),
                &links(ctx.peers),
            )
        }
        Action::SyncDrp => sync_drp(&ctx, svc, opts),
        Action::PostSync => peer::postsync(&ctx, svc),
        Action::CutAccess => cut_access(&ctx, svc, opts, false),
        Action::RestoreAccess => cut_access(&ctx, svc, opts, true),
        Action::AppCheck => app_check(&ctx, svc),
        Action::BubbleClone | Action::BubbleStart | Action::BubbleCheck | Action::BubbleDown => {
            super::bubble::run(&ctx, svc, action)
        }
        _ => Ok(()),
    };
    match &result {
        Ok(()) => log.succeeded(),
        Err(e) => log.error("", &format!("{} failed: {e:#}", action.verb())),
    }
    result
}

/// Runs the `drp_cut_access` hook (a stop verb), or with `restore` its start verb: the way back
/// of a run stopped after it cut user access.
fn cut_access(ctx: &Ctx, svc: &Service, opts: &Options, restore: bool) -> Result<()> {
    let Some(hook) = svc.cfg.get("DEFAULT", "drp_cut_access", &ctx.env.nodename) else {
        let what = if restore { "restored" } else { "cut" };
        ctx.log.info(
            "",
            &format!("no drp_cut_access hook: user access is {what} by hand"),
        );
        return Ok(());
    };
    let verb = hook.value.trim();
    let action = if restore {
        super::action::restore_access_action(verb)
    } else {
        super::action::cut_access_action(verb)
    };
    let Some(action) = action else {
        bail!(
            "{}:{}: [DEFAULT] drp_cut_access: '{verb}' is not one of stop, stopapp, stopip, stopcontainer",
            svc.cfg.raw.path.display(),
            hook.line
        );
    };
    match action {
        Action::Stop(group) => {
            ctx.log.info("", &format!("cut user access: {verb}"));
            stop(ctx, svc, group, opts)
        }
        Action::Start(group) => {
            ctx.log
                .info("", &format!("restore user access: {}", action.verb()));
            start(ctx, svc, group, opts)
        }
        _ => Ok(()),
    }
}

fn app_check(ctx: &Ctx, svc: &Service) -> Result<()> {
    let Some(check) = svc.cfg.get("DEFAULT", "drp_app_check", &ctx.env.nodename) else {
        ctx.log.info(
            "",
            "no drp_app_check configured: the status tree is the only check",
        );
        return Ok(());
    };
    let argv = shell_words::split(check.value).map_err(|e| {
        eyre!(
            "{}:{}: [DEFAULT] drp_app_check: {e}",
            svc.cfg.raw.path.display(),
            check.line
        )
    })?;
    if argv.is_empty() {
        bail!(
            "{}:{}: [DEFAULT] drp_app_check is empty",
            svc.cfg.raw.path.display(),
            check.line
        );
    }
    crate::drivers::run_logged(ctx, "", &argv, Duration::from_secs(120))?;
    ctx.log.info("", "application check passed");
    Ok(())
}

/// `print drift`: production's ids against this DRP node's, for each production node.
fn print_drift(env: &NodeEnv, svc: &Service, format: Format) -> Result<()> {
    use crate::drivers::system_files::drift;
    if !svc.cfg.drpnodes.iter().any(|n| n == &env.nodename) {
        bail!(
            "{}: {} is not a DRP node of the service: print drift runs on a DRP node, where \
             production's users and groups are compared with the node's own",
            svc.name,
            env.nodename
        );
    }
    let mut drifts = Vec::new();
    for prod in svc.cfg.nodes.iter().filter(|n| **n != env.nodename) {
        let r = drift::report(env, &svc.name, prod)?;
        match format {
            Format::Text => print!("{}", clean_lines(&drift::render(&r))),
            Format::Json => println!("{}", serde_json::to_string(&r)?),
        }
        drifts.extend(r.drifts().map(|c| format!("{} on {prod}", c.what())));
    }
    if !drifts.is_empty() {
        bail!(
            "{} user or group id(s) of production are not the same here: {}",
            drifts.len(),
            drifts.join(", ")
        );
    }
    Ok(())
}

fn check_rids(svc: &Service, rids: &[String]) -> Result<()> {
    for rid in rids {
        let known = svc.resources.iter().any(|r| r.driver.rid() == rid) || rid == sync_config::RID;
        if !known {
            bail!("{}: no resource {rid} (see `print status`)", svc.name);
        }
    }
    Ok(())
}

/// The resources a start or stop acts on, in start order; disabled ones are never acted on
/// (nor planned: a disabled fs does not make the replicas live).
fn selected<'a>(svc: &'a Service, group: Option<Group>, rids: &[String]) -> Vec<&'a Loaded> {
    let mut v: Vec<&Loaded> = svc
        .resources
        .iter()
        .filter(|r| !r.common.disabled)
        .filter(|r| !matches!(group_of(r.driver.rid()), "sync" | "hb"))
        .filter(|r| group.is_none_or(|g| g.contains(r.driver.rid())))
        .filter(|r| rids.is_empty() || rids.iter().any(|x| x == r.driver.rid()))
        .collect();
    v.sort_by(|a, b| {
        let (ra, rb) = (a.driver.rid(), b.driver.rid());
        start_rank(ra)
            .cmp(&start_rank(rb))
            .then_with(|| natural_key(ra).cmp(&natural_key(rb)))
    });
    v
}

fn natural_key(rid: &str) -> (String, u64, String) {
    let (kind, id) = rid.split_once('#').unwrap_or((rid, ""));
    match id.parse::<u64>() {
        Ok(n) => (kind.to_string(), n, String::new()),
        Err(_) => (kind.to_string(), u64::MAX, id.to_string()),
    }
}

/// The split-brain guard (docs/safety.md): a start goes on only when every peer positively
/// answered that the service does not run there. A peer that runs it, errs, answers garbage,
/// stays silent or cannot be reached blocks the start; `--force` overrides that (and the log says
/// what each peer answered), `--declared-lost NODE` accepts only that node's being unreachable.
fn guard_peers(ctx: &Ctx, svc: &Service, opts: &Options) -> Result<()> {
    if super::bubble::inside(ctx.env) {
        ctx.log.info(
            "",
            "inside the test bubble: the other nodes are not asked (the bubble cannot reach \
             them, and production runs by design)",
        );
        return Ok(());
    }
    let pool = links(ctx.peers);
    let mut blockers = Vec::new();
    for node in sync_config::targets(&svc.cfg, &ctx.env.nodename) {
        let answer = PeerAnswer::ask(&pool, &node, &svc.name);
        match super::peer_answer::guard_line(&svc.name, &node, &answer, &opts.declared_lost) {
            GuardLine::Clear(l) => ctx.log.info("", &l),
            GuardLine::Lost(l) => ctx.log.warn("", &l),
            GuardLine::Blocks(b) => blockers.push(b),
        }
    }
    if blockers.is_empty() {
        return Ok(());
    }
    if ctx.force {
        for b in &blockers {
            ctx.log
                .warn("", &format!("--force overrides the split-brain guard: {b}"));
        }
        return Ok(());
    }
    bail!("{}", blockers.join("; "))
}

fn start(ctx: &Ctx, svc: &Service, group: Option<Group>, opts: &Options) -> Result<()> {
    guard_peers(ctx, svc, opts)?;
    let resources = selected(svc, group, &opts.rids);
    let items = plan_items(ctx, &resources);
    // Replicas are made live only by a start that mounts the filesystems, never by a test
    // bubble's (its clones are its live data; the replicas are production's).
    let in_bubble = super::bubble::inside(ctx.env);
    let replicas = group.is_none_or(|g| g == Group::Fs) && !in_bubble;
    let plan = Plan::start(&items, &Declared::of(ctx.cfg, &ctx.env.nodename), replicas);
    let make_live = || prepare_replicas(ctx, svc);
    let what = format!("start of {}", svc.name);
    PlanRun::new(
        ctx,
        &resources,
        &items,
        &plan,
        Direction::Start,
        &make_live,
        what,
    )
    .run(&plan)
}

/// What the planner needs of the selected resources.
fn plan_items(ctx: &Ctx, resources: &[&Loaded]) -> Vec<Item> {
    resources
        .iter()
        .map(|r| Item {
            rid: r.driver.rid().to_string(),
            subset: ctx.get(r.driver.rid(), "subset"),
            has_prepare: r.driver.has_prepare(),
        })
        .collect()
}

/// Lets every data sync make its replica the live data before the filesystems mount.
fn prepare_replicas(ctx: &Ctx, svc: &Service) -> Result<()> {
    for r in &svc.resources {
        if r.common.disabled {
            continue;
        }
        if let Some(sync) = r.driver.as_sync() {
            sync.before_start(ctx)?;
        }
    }
    Ok(())
}

/// The resources that are standby on this node (`always_on`), in start order.
fn standby_resources<'a>(svc: &'a Service, opts: &Options) -> Vec<&'a Loaded> {
    selected(svc, None, &opts.rids)
        .into_iter()
        .filter(|r| r.common.standby && !r.common.disabled)
        .collect()
}

/// `startstandby`: brings up what this node keeps up for replication (the tutorial's
/// `vg#1 stdby up` on the DRP node). It never starts a resource that is not standby here, so it
/// needs no split-brain guard and runs while the service is up on a peer.
fn start_standby(ctx: &Ctx, svc: &Service, opts: &Options) -> Result<()> {
    let todo = standby_resources(svc, opts);
    if todo.is_empty() {
        ctx.log.info(
            "",
            &format!(
                "no standby resource on {} (see always_on)",
                ctx.env.nodename
            ),
        );
        return Ok(());
    }
    // In order, one after the other; a failure stops what this call brought up.
    let items = plan_items(ctx, &todo);
    let plan = Plan::start(&items, &Declared::default(), false);
    let nothing = || Ok(());
    let what = format!("startstandby of {}", svc.name);
    PlanRun::new(ctx, &todo, &items, &plan, Direction::Start, &nothing, what).run(&plan)
}

/// `stopstandby`: takes down the standby resources of this node, which `stop` leaves up.
/// Refused while the service runs here: its filesystems may sit on them.
fn stop_standby(ctx: &Ctx, svc: &Service, opts: &Options) -> Result<()> {
    let st = probe::probe(ctx.env, svc);
    if st.avail.is_active() && !ctx.force {
        bail!(
            "{} is {} on {}: stop the service before its standby resources (or use --force)",
            svc.name,
            st.avail,
            ctx.env.nodename
        );
    }
    let mut todo = standby_resources(svc, opts);
    todo.reverse();
    for r in todo {
        let rid = r.driver.rid();
        if let Err(e) = r.driver.stop(ctx) {
            ctx.log.error(rid, &format!("{e:#}"));
            return Err(e.wrap_err(format!("stopstandby of {} stopped at {rid}", svc.name)));
        }
    }
    Ok(())
}

/// A DRP node where the service does not run holds a copy of the config, not the reference:
/// pushing it would overwrite production's (OpenSVC never syncs from such a node either).
fn refuse_push_from_idle_drp_node(ctx: &Ctx, svc: &Service) -> Result<()> {
    if svc.cfg.role(&ctx.env.nodename) != crate::config::Role::Drp {
        return Ok(());
    }
    let st = probe::probe(ctx.env, svc);
    if st.avail.is_active() {
        return Ok(());
    }
    let prod = svc.cfg.nodes.join(", ");
    bail!(
        "{} is {} on {}, a DRP node of {}: its config is pushed from the node that runs the \
         service, not from here; run `drpilot svc {} syncnodes` on {prod} (after a failover, \
         the DRP node that runs the service pushes)",
        svc.name,
        st.avail,
        ctx.env.nodename,
        svc.name,
        svc.name
    )
}

fn stop(ctx: &Ctx, svc: &Service, group: Option<Group>, opts: &Options) -> Result<()> {
    let resources = selected(svc, group, &opts.rids);
    let items = plan_items(ctx, &resources);
    let plan = Plan::start(&items, &Declared::of(ctx.cfg, &ctx.env.nodename), false).reversed();
    let nothing = || Ok(());
    let what = format!("stop of {}", svc.name);
    PlanRun::new(
        ctx,
        &resources,
        &items,
        &plan,
        Direction::Stop,
        &nothing,
        what,
    )
    .run(&plan)
}

/// Expands `target` words to node names other than this one.
fn target_nodes(ctx: &Ctx, words: &[String]) -> Vec<String> {
    ctx.cfg
        .all_nodes()
        .into_iter()
        .filter(|n| n != &ctx.env.nodename && ctx.cfg.list_includes(words, n))
        .collect()
}

fn require_up_here(ctx: &Ctx, svc: &Service) -> Result<()> {
    let st = probe::probe(ctx.env, svc);
    if st.avail == Status::Warn {
        // Partly up (its app stopped to cut user access, say): the data is here, so it syncs.
        ctx.log.warn(
            "",
            &format!(
                "{} is warn on {}: syncing the data it has",
                svc.name, ctx.env.nodename
            ),
        );
    } else if !st.avail.is_up_like() {
        bail!(
            "{} is {} on {}: syncs run from the node where the service is up",
            svc.name,
            st.avail,
            ctx.env.nodename
        );
    }
    Ok(())
}

/// The sessions of one action, each node connected once (a syncdrp talks to a DRP node for
/// the config push, every data sync and the postsync: one SSH session, not one per call).
fn links(peers: &NodeMap) -> Pool {
    Pool::new(peers.clone())
}

/// The syncs an action runs: enabled, and among `--rid` when given.
fn selected_syncs<'a>(
    svc: &'a Service,
    opts: &'a Options,
) -> impl Iterator<Item = (&'a str, &'a dyn DataSync)> {
    svc.resources.iter().filter_map(|r| {
        let sync = r.driver.as_sync()?;
        let rid = r.driver.rid();
        let chosen = opts.rids.is_empty() || opts.rids.iter().any(|x| x == rid);
        (!r.common.disabled && chosen).then_some((rid, sync))
    })
}

/// Runs the syncs from this node: all of them where the service is up; elsewhere see
/// [`syncs_while_down`].
fn syncs_here(
    ctx: &Ctx,
    svc: &Service,
    mode: SyncMode,
    opts: &Options,
    links: &Pool,
) -> Result<()> {
    match require_up_here(ctx, svc) {
        Ok(()) => data_syncs(ctx, svc, mode, None, opts, links, false),
        Err(refusal) => syncs_while_down(ctx, svc, mode, None, opts, links, refusal),
    }
}

/// Where the service is not up: runs the syncs that run whatever the state (the system files),
/// then refuses the data syncs with `refusal`, when any is selected.
fn syncs_while_down(
    ctx: &Ctx,
    svc: &Service,
    mode: SyncMode,
    only: Option<&[String]>,
    opts: &Options,
    links: &Pool,
    refusal: color_eyre::Report,
) -> Result<()> {
    let whatever: Vec<&str> = selected_syncs(svc, opts)
        .filter(|(_, s)| !s.is_service_data())
        .map(|(rid, _)| rid)
        .collect();
    if whatever.is_empty() {
        return Err(refusal);
    }
    ctx.log.info(
        "",
        &format!(
            "{} runs whatever the service's state: syncing it",
            whatever.join(", ")
        ),
    );
    data_syncs(ctx, svc, mode, only, opts, links, true)?;
    if selected_syncs(svc, opts).any(|(_, s)| s.is_service_data()) {
        return Err(refusal);
    }
    Ok(())
}

/// Runs the syncs (the caller has checked that the service is up here, or asks with
/// `state_free_only` for those that run whatever the state).
fn data_syncs(
    ctx: &Ctx,
    svc: &Service,
    mode: SyncMode,
    only: Option<&[String]>,
    opts: &Options,
    links: &Pool,
    state_free_only: bool,
) -> Result<()> {
    let mut any = false;
    for (rid, sync) in selected_syncs(svc, opts) {
        if state_free_only && sync.is_service_data() {
            continue;
        }
        any = true;
        if mode == SyncMode::Full && !sync.is_service_data() {
            ctx.log.info(
                rid,
                "skip: it syncs with syncupdate and syncdrp, not syncfullsync",
            );
            continue;
        }
        // A full sync is an operator's explicit request (the seed runs it outside the period
        // without --force); the period only holds back the scheduled incremental ones.
        let (inside, period) = sync_state::in_period(ctx, rid)?;
        if !inside && !ctx.force && mode != SyncMode::Full {
            ctx.log.info(
                rid,
                &format!("skip: outside sync_period {period} (use --force)"),
            );
            continue;
        }
        let mut nodes = match &opts.target {
            Some(t) if t == &ctx.env.nodename => {
                bail!("--target {t}: this is the node the sync runs from")
            }
            // A data sync goes where it is told (the failback's reverse sync to production);
            // the system files go to their own targets only.
            Some(t) if ctx.cfg.all_nodes().contains(t) && sync.is_service_data() => {
                vec![t.clone()]
            }
            Some(t) if ctx.cfg.all_nodes().contains(t) => {
                let mut own = target_nodes(ctx, &sync.target_words(ctx));
                own.retain(|n| n == t);
                own
            }
            Some(t) => bail!("--target {t}: not a node of {}", svc.name),
            None => target_nodes(ctx, &sync.target_words(ctx)),
        };
        if let Some(only) = only {
            nodes.retain(|n| only.contains(n));
        }
        if nodes.is_empty() {
            ctx.log.info(rid, "no destination nodes");
        }
        for node in nodes {
            links.with(&node, |t| sync.sync_to(ctx, mode, t))?;
        }
    }
    if !any {
        ctx.log.info("", "no data sync resource to run");
    }
    Ok(())
}

fn push_config(ctx: &Ctx, nodes: &[String], links: &Pool) -> Result<()> {
    for node in nodes {
        links.with(node, |t| sync_config::push(ctx, t))?;
    }
    Ok(())
}

fn sync_drp(ctx: &Ctx, svc: &Service, opts: &Options) -> Result<()> {
    let drp = svc.cfg.drpnodes.clone();
    if drp.is_empty() {
        bail!("{}: no drpnodes configured", svc.name);
    }
    let links = links(ctx.peers);
    if let Err(refusal) = require_up_here(ctx, svc) {
        // The config push and the postsync go with the data, from where the service runs.
        return syncs_while_down(
            ctx,
            svc,
            SyncMode::Update,
            Some(&drp),
            opts,
            &links,
            refusal,
        );
    }
    push_config(ctx, &drp, &links)?;
    data_syncs(ctx, svc, SyncMode::Update, Some(&drp), opts, &links, false)?;
    for node in &drp {
        links.with(node, |t| remote_postsync(ctx, svc, t))?;
    }
    Ok(())
}

fn remote_postsync(ctx: &Ctx, svc: &Service, t: &dyn Transport) -> Result<()> {
    let flags = crate::protocol::verb::SvcFlags {
        waitlock: Some(3600),
        ..Default::default()
    };
    let args = crate::transport::client::svc(&svc.name, &Action::PostSync, &flags);
    ctx.log.info(
        "",
        &format!(
            "exec 'drpilot {}' on node {}",
            shell_words::join(&args),
            t.node()
        ),
    );
    let out = t.call(&args, None, Some(Duration::from_secs(3700)))?;
    ctx.log.output("", &out.stdout_text());
    if !out.success {
        bail!("postsync on {} failed: {}", t.node(), out.failure_reason());
    }
    Ok(())
}
