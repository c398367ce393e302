//! The engine task: rule evaluation, alert lifecycle, noise control.
//!
//! State lives in memory — per tenant its compiled configuration, and every
//! open (pending or firing) alert with its [`Tracker`] — and each change is
//! written through to the store in one transaction per batch of inputs
//! before anyone is notified, so a restart resumes from the store.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lxmon_alert::anomaly;
use lxmon_alert::eval::{Observation, Phase, Tracker, Transition};
use lxmon_alert::incoming::{ExternalAlert, ExternalStatus};
use lxmon_alert::matcher::matches_all;
use lxmon_alert::noise::{Maintenance, Routing, Silence};
use lxmon_alert::rule::{Condition, RuleDefinition, Severity, fingerprint};
use lxmon_alert::template::TemplateContext;
use lxmon_proto::Sample;
use lxmon_store::{
    Aggregation, Alert, AlertObject, AlertObjectKind, HostId, SeriesQuery, TenantId,
};
use tokio::sync::{mpsc, watch};

use super::Input;
use super::dispatch::{self, Channel, Outgoing};
use crate::http::events::LiveEvent;
use crate::state::AppState;

/// How often open alerts are swept for `for` promotion, repeats and
/// suppression changes.
const SWEEP: Duration = Duration::from_secs(1);
/// Anomaly baselines are reloaded from the store this often.
const BASELINE_TTL_MS: i64 = 3_600_000;
/// Recent values kept per anomaly series.
const RECENT_POINTS: usize = 64;
/// The configuration the engine evaluates with (incoming webhooks are
/// looked up by the API, not the engine).
const ENGINE_KINDS: [AlertObjectKind; 5] = [
    AlertObjectKind::Rule,
    AlertObjectKind::Channel,
    AlertObjectKind::Routing,
    AlertObjectKind::Silence,
    AlertObjectKind::Maintenance,
];
/// Inputs handled per batch before state is written.
const BATCH: usize = 4096;

type Key = (TenantId, String);

/// A rule ready to evaluate.
pub(crate) struct Rule {
    pub id: i64,
    pub def: RuleDefinition,
}

/// A tenant's alerting configuration, parsed.
#[derive(Default)]
pub(crate) struct TenantConfig {
    pub rules: Vec<Arc<Rule>>,
    pub channels: HashMap<i64, Arc<Channel>>,
    pub routing: Routing,
    pub silences: Vec<(i64, Silence)>,
    pub maintenance: Vec<(i64, Maintenance)>,
}

/// What the engine knows of a host.
#[derive(Clone)]
struct HostMeta {
    tenant: TenantId,
    hostname: String,
    /// The host's labels plus `host` (its hostname).
    labels: BTreeMap<String, String>,
    last_seen: Option<i64>,
}

struct OpenAlert {
    alert: Alert,
    /// `None` for external alerts, which change state when told.
    tracker: Option<Tracker>,
    /// Waiting in a notification group.
    queued: bool,
    /// From a host-offline rule: inhibits the host's other alerts.
    inhibits_host: bool,
    /// The threshold the rule compares against, for templates.
    threshold: Option<f64>,
    metric: Option<String>,
}

/// A series an absence or anomaly rule follows.
struct Followed {
    rule_id: i64,
    host: HostId,
    series_labels: BTreeMap<String, String>,
    last_ts: i64,
    interval_ms: i64,
    recent: std::collections::VecDeque<(i64, f64)>,
    baseline: Option<(i64, Vec<(i64, f64)>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    Firing,
    Repeat,
    Resolved,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Firing => "firing",
            NoticeKind::Repeat => "repeat",
            NoticeKind::Resolved => "resolved",
        }
    }
}

/// Alerts of one rule (or one external alert name of one webhook) waiting
/// to be sent together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    tenant: TenantId,
    source: &'static str,
    source_id: i64,
    name: String,
    kind: NoticeKind,
}

#[derive(Default)]
struct Group {
    due: Option<Instant>,
    next_allowed: Option<Instant>,
    alerts: Vec<Alert>,
    /// Report arrival of the earliest alert (latency figures).
    since: Option<Instant>,
}

enum Intent {
    Open(Key, NoticeKind, Option<Instant>),
    Closed(usize),
}

pub(crate) struct Engine {
    state: AppState,
    tenants: HashMap<TenantId, TenantConfig>,
    hosts: HashMap<HostId, HostMeta>,
    open: HashMap<Key, OpenAlert>,
    followed: HashMap<Key, Followed>,
    groups: HashMap<GroupKey, Group>,
    dirty: HashSet<Key>,
    closed: Vec<Alert>,
    discard: Vec<i64>,
    intents: Vec<Intent>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
}

/// Runs the engine until `shutdown` turns true.
pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let Some(mut rx) = state.alerts.take_receiver() else {
        tracing::error!("the alert engine was started twice");
        return;
    };
    let outgoing = dispatch::start(state.clone());
    let mut engine = Engine::new(state.clone(), outgoing);
    if let Err(e) = engine.load().await {
        tracing::error!(error = %e, "loading alerting state failed; alerts start empty");
    }
    let settings = state.config.alerts.clone();
    let mut evaluate = tokio::time::interval(settings.evaluation_interval);
    evaluate.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sweep = tokio::time::interval(SWEEP);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::with_capacity(64);
    loop {
        let next_group = engine.next_group_due();
        tokio::select! {
            n = rx.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    break;
                }
                for input in batch.drain(..) {
                    engine.handle(input).await;
                }
            }
            _ = evaluate.tick() => engine.evaluate().await,
            _ = sweep.tick() => engine.sweep(crate::now_ms()),
            _ = sleep_until(next_group) => {}
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    break;
                }
            }
        }
        // Failures are logged and retried with the next batch.
        let _ = engine.persist().await;
        engine.flush_groups(Instant::now());
        let _ = engine.persist().await;
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

impl Engine {
    fn new(state: AppState, outgoing: mpsc::UnboundedSender<Outgoing>) -> Engine {
        Engine {
            state,
            tenants: HashMap::new(),
            hosts: HashMap::new(),
            open: HashMap::new(),
            followed: HashMap::new(),
            groups: HashMap::new(),
            dirty: HashSet::new(),
            closed: Vec::new(),
            discard: Vec::new(),
            intents: Vec::new(),
            outgoing,
        }
    }

    async fn load(&mut self) -> Result<(), String> {
        let (objects, open, hosts) = self
            .state
            .blocking(|s| {
                let mut objects = Vec::new();
                for kind in ENGINE_KINDS {
                    objects.extend(s.alert_objects_all_tenants(kind)?);
                }
                Ok((objects, s.open_alerts()?, s.hosts_all_tenants()?))
            })
            .await
            .map_err(|e| e.message)?;
        let mut by_tenant: HashMap<TenantId, Vec<AlertObject>> = HashMap::new();
        for o in objects {
            by_tenant.entry(o.tenant_id).or_default().push(o);
        }
        for (tenant, objects) in by_tenant {
            self.install_config(tenant, objects);
        }
        for h in hosts {
            self.hosts.insert(h.id, host_meta(&h));
        }
        let now = crate::now_ms();
        for alert in open {
            let rule = self.rule(alert.tenant_id, alert.source_id);
            let tracker = (alert.source == "rule").then(|| {
                let phase = match (alert.state.as_str(), alert.fired_at) {
                    ("firing", Some(at)) => Phase::Firing { since: at },
                    _ => Phase::Pending {
                        since: alert.started_at,
                    },
                };
                Tracker::restored(phase, now)
            });
            let inhibits_host = rule
                .as_ref()
                .is_some_and(|r| matches!(r.def.condition, Condition::HostOffline { .. }));
            self.open.insert(
                (alert.tenant_id, alert.fingerprint.clone()),
                OpenAlert {
                    alert,
                    tracker,
                    queued: false,
                    inhibits_host,
                    threshold: None,
                    metric: None,
                },
            );
        }
        tracing::info!(
            tenants = self.tenants.len(),
            open_alerts = self.open.len(),
            "alert engine started"
        );
        Ok(())
    }

    async fn reload(&mut self, tenant: TenantId) {
        let objects = self
            .state
            .blocking(move |s| {
                let mut objects = Vec::new();
                for kind in ENGINE_KINDS {
                    objects.extend(s.alert_objects(tenant, kind)?);
                }
                Ok(objects)
            })
            .await;
        match objects {
            Ok(objects) => self.install_config(tenant, objects),
            Err(e) => {
                tracing::warn!(tenant, error = %e.message, "reloading alert configuration failed")
            }
        }
        // Alerts of rules that are gone or disabled end without a message.
        let live: HashSet<i64> = self
            .tenants
            .get(&tenant)
            .map(|c| c.rules.iter().map(|r| r.id).collect())
            .unwrap_or_default();
        let now = crate::now_ms();
        let ended: Vec<Key> = self
            .open
            .iter()
            .filter(|((t, _), o)| {
                *t == tenant && o.alert.source == "rule" && !live.contains(&o.alert.source_id)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in ended {
            self.end(&key, now);
        }
        self.followed
            .retain(|(t, _), f| *t != tenant || live.contains(&f.rule_id));
    }

    /// Parses a tenant's objects; a stored object that no longer parses is
    /// skipped with a warning rather than stopping every other rule.
    fn install_config(&mut self, tenant: TenantId, objects: Vec<AlertObject>) {
        let mut config = TenantConfig::default();
        for o in objects {
            let parsed = match o.kind {
                AlertObjectKind::Rule => {
                    serde_json::from_value::<RuleDefinition>(o.body).map(|def| {
                        if def.enabled {
                            config.rules.push(Arc::new(Rule { id: o.id, def }));
                        }
                    })
                }
                AlertObjectKind::Channel => serde_json::from_value::<dispatch::ChannelBody>(o.body)
                    .map(|body| {
                        config.channels.insert(
                            o.id,
                            Arc::new(Channel {
                                id: o.id,
                                name: o.name,
                                body,
                            }),
                        );
                    }),
                AlertObjectKind::Routing => {
                    serde_json::from_value::<Routing>(o.body).map(|r| config.routing = r)
                }
                AlertObjectKind::Silence => serde_json::from_value::<Silence>(o.body)
                    .map(|s| config.silences.push((o.id, s))),
                AlertObjectKind::Maintenance => serde_json::from_value::<Maintenance>(o.body)
                    .map(|m| config.maintenance.push((o.id, m))),
                AlertObjectKind::Webhook => Ok(()),
            };
            if let Err(e) = parsed {
                tracing::warn!(tenant, id = o.id, kind = o.kind.as_str(), error = %e, "skipping an unreadable alerting object");
            }
        }
        let mut names = HashSet::new();
        for r in &config.rules {
            match &r.def.condition {
                Condition::Threshold { metric, .. }
                | Condition::Anomaly { metric, .. }
                | Condition::MetricMissing { metric, .. } => {
                    names.insert(metric.clone());
                }
                Condition::Ratio {
                    numerator,
                    denominator,
                    ..
                } => {
                    names.insert(numerator.metric.clone());
                    names.insert(denominator.metric.clone());
                }
                Condition::HostOffline { .. } | Condition::CheckDown { .. } => {}
            }
        }
        self.state.alerts.set_interest(tenant, names);
        self.tenants.insert(tenant, config);
    }

    fn rule(&self, tenant: TenantId, id: i64) -> Option<Arc<Rule>> {
        self.tenants
            .get(&tenant)?
            .rules
            .iter()
            .find(|r| r.id == id)
            .cloned()
    }

    pub(crate) async fn handle(&mut self, input: Input) {
        match input {
            Input::Samples {
                tenant,
                host,
                ts,
                interval_s,
                samples,
                received,
            } => {
                if !self.hosts.contains_key(&host)
                    && let Ok(Some(h)) = self.state.blocking(move |s| s.host(tenant, host)).await
                {
                    self.hosts.insert(host, host_meta(&h));
                }
                if let Some(meta) = self.hosts.get_mut(&host) {
                    meta.last_seen = Some(meta.last_seen.unwrap_or(0).max(ts));
                }
                self.samples(tenant, host, ts, interval_s, &samples, received);
            }
            Input::CheckStatus { tenant, check_id } => {
                let checks = self
                    .state
                    .blocking(move |s| Ok(s.check(tenant, check_id)?.into_iter().collect()))
                    .await
                    .unwrap_or_default();
                self.checks(tenant, checks, Some(check_id));
            }
            Input::ConfigChanged { tenant } => self.reload(tenant).await,
            Input::Acked { tenant, id, ack } => {
                if let Some(o) = self
                    .open
                    .values_mut()
                    .find(|o| o.alert.tenant_id == tenant && o.alert.id == id)
                {
                    o.alert.ack = ack;
                }
            }
            Input::External {
                tenant,
                webhook_id,
                webhook_name,
                alerts,
                reply,
            } => {
                let n = alerts.len();
                self.external(tenant, webhook_id, &webhook_name, alerts);
                let saved = self.persist().await;
                let _ = reply.send(saved.map(|_| n));
            }
        }
    }

    fn samples(
        &mut self,
        tenant: TenantId,
        host: HostId,
        ts: i64,
        interval_s: u32,
        samples: &[Sample],
        received: Instant,
    ) {
        let Some(meta) = self.hosts.get(&host).cloned() else {
            return;
        };
        let Some(config) = self.tenants.get(&tenant) else {
            return;
        };
        let rules: Vec<Arc<Rule>> = config
            .rules
            .iter()
            .filter(|r| r.def.scope.contains(host, &meta.labels))
            .cloned()
            .collect();
        let now = crate::now_ms();
        let series: Vec<lxmon_alert::rule::SeriesValue<'_>> = samples
            .iter()
            .map(|s| (s.name.as_str(), &s.labels, s.value))
            .collect();
        for rule in rules {
            match &rule.def.condition {
                Condition::Threshold { .. } | Condition::Ratio { .. } => {
                    let threshold = rule.def.condition.threshold();
                    for (labels, obs) in rule.def.condition.observe(&series) {
                        let metric = threshold.map(|(m, v)| (m.to_string(), v));
                        self.observe(
                            &rule,
                            &meta,
                            host,
                            labels,
                            obs,
                            now,
                            metric.as_ref().map(|(m, v)| (m, *v)),
                            Some(received),
                        );
                    }
                }
                Condition::MetricMissing { metric, labels, .. }
                | Condition::Anomaly { metric, labels, .. } => {
                    let anomaly = matches!(rule.def.condition, Condition::Anomaly { .. });
                    for s in samples
                        .iter()
                        .filter(|s| &s.name == metric && matches_all(labels, &s.labels))
                    {
                        let alert_labels = alert_labels(&rule.def, Some(&meta), &s.labels);
                        let fp = fingerprint("rule", rule.id, &alert_labels);
                        let f = self
                            .followed
                            .entry((tenant, fp))
                            .or_insert_with(|| Followed {
                                rule_id: rule.id,
                                host,
                                series_labels: s.labels.clone(),
                                last_ts: ts,
                                interval_ms: i64::from(interval_s.max(1)) * 1000,
                                recent: Default::default(),
                                baseline: None,
                            });
                        f.last_ts = f.last_ts.max(ts);
                        f.interval_ms = i64::from(interval_s.max(1)) * 1000;
                        if anomaly {
                            if f.recent.len() == RECENT_POINTS {
                                f.recent.pop_front();
                            }
                            f.recent.push_back((ts, s.value));
                        } else {
                            // The metric is back: a missing alert resolves now.
                            self.observe(
                                &rule,
                                &meta,
                                host,
                                &s.labels,
                                Observation::flag(false),
                                now,
                                Some((metric, 0.0)),
                                None,
                            );
                        }
                    }
                }
                Condition::HostOffline { .. } => {
                    // The host reported: an offline alert resolves now.
                    self.observe(
                        &rule,
                        &meta,
                        host,
                        &BTreeMap::new(),
                        Observation::flag(false),
                        now,
                        None,
                        None,
                    );
                }
                Condition::CheckDown { .. } => {}
            }
        }
    }

    /// Feeds one observation of one series to its tracker.
    #[allow(clippy::too_many_arguments)]
    fn observe(
        &mut self,
        rule: &Rule,
        meta: &HostMeta,
        host: HostId,
        series_labels: &BTreeMap<String, String>,
        obs: Observation,
        now: i64,
        metric: Option<(&String, f64)>,
        received: Option<Instant>,
    ) {
        let labels = alert_labels(&rule.def, Some(meta), series_labels);
        self.observe_labels(
            rule,
            meta.tenant,
            Some(host),
            labels,
            obs,
            now,
            metric,
            received,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn observe_labels(
        &mut self,
        rule: &Rule,
        tenant: TenantId,
        host: Option<HostId>,
        labels: BTreeMap<String, String>,
        obs: Observation,
        now: i64,
        metric: Option<(&String, f64)>,
        received: Option<Instant>,
    ) {
        let fp = fingerprint("rule", rule.id, &labels);
        let key = (tenant, fp);
        let for_ms = rule.def.for_ms();
        let transition = match self.open.get_mut(&key) {
            Some(o) => {
                if obs.value.is_some() {
                    o.alert.value = obs.value;
                }
                o.tracker
                    .get_or_insert_with(Tracker::default)
                    .observe(now, obs, for_ms)
            }
            None if !obs.breaching => return,
            None => {
                let mut tracker = Tracker::default();
                let t = tracker.observe(now, obs, for_ms);
                let alert = Alert {
                    id: 0,
                    tenant_id: tenant,
                    fingerprint: key.1.clone(),
                    source: "rule".into(),
                    source_id: rule.id,
                    name: rule.def.name.clone(),
                    severity: rule.def.severity.as_str().into(),
                    state: "pending".into(),
                    host_id: host,
                    labels,
                    annotations: BTreeMap::new(),
                    summary: String::new(),
                    value: obs.value,
                    started_at: now,
                    fired_at: None,
                    resolved_at: None,
                    updated_at: now,
                    last_notified_at: None,
                    notify_count: 0,
                    suppressed: None,
                    ack: None,
                    assignee: None,
                };
                self.open.insert(
                    key.clone(),
                    OpenAlert {
                        alert,
                        tracker: Some(tracker),
                        queued: false,
                        inhibits_host: matches!(rule.def.condition, Condition::HostOffline { .. }),
                        threshold: metric.map(|m| m.1),
                        metric: metric.map(|m| m.0.clone()),
                    },
                );
                t
            }
        };
        if let Some(o) = self.open.get_mut(&key) {
            if let Some((m, threshold)) = metric {
                o.threshold = Some(threshold);
                o.metric = Some(m.clone());
            }
            render(&mut o.alert, &rule.def, o.threshold, o.metric.as_deref());
        }
        if let Some(t) = transition {
            self.transition(&key, t, now, received);
        }
    }

    /// Applies a tracker's transition to the stored alert.
    fn transition(&mut self, key: &Key, t: Transition, now: i64, received: Option<Instant>) {
        match t {
            Transition::Pending => {
                if let Some(o) = self.open.get_mut(key) {
                    o.alert.state = "pending".into();
                    o.alert.updated_at = now;
                    self.dirty.insert(key.clone());
                }
            }
            Transition::Firing => {
                if let Some(o) = self.open.get_mut(key) {
                    o.alert.state = "firing".into();
                    o.alert.fired_at = Some(now);
                    o.alert.updated_at = now;
                    self.dirty.insert(key.clone());
                    tracing::info!(alert = %o.alert.name, host = ?o.alert.host_id, fingerprint = %key.1, "alert firing");
                }
                self.consider(key, now, received);
            }
            Transition::Resolved => self.close(key, now, true),
            Transition::Cancelled => {
                if let Some(o) = self.open.remove(key) {
                    self.dirty.remove(key);
                    if o.alert.id != 0 {
                        self.discard.push(o.alert.id);
                    }
                }
            }
        }
    }

    /// Resolves an open alert; with `notify`, sends the resolve message to
    /// whoever heard it fire.
    fn close(&mut self, key: &Key, now: i64, notify: bool) {
        let Some(mut o) = self.open.remove(key) else {
            return;
        };
        self.dirty.remove(key);
        if o.alert.state == "pending" {
            if o.alert.id != 0 {
                self.discard.push(o.alert.id);
            }
            return;
        }
        o.alert.state = "resolved".into();
        o.alert.resolved_at = Some(now);
        o.alert.updated_at = now;
        tracing::info!(alert = %o.alert.name, host = ?o.alert.host_id, fingerprint = %key.1, "alert resolved");
        let tell = notify && o.alert.notify_count > 0 && !self.muted(&o.alert, now);
        self.closed.push(o.alert);
        if tell {
            self.intents.push(Intent::Closed(self.closed.len() - 1));
        }
    }

    /// Ends an alert whose condition can no longer be observed.
    fn end(&mut self, key: &Key, now: i64) {
        if let Some(t) = self
            .open
            .get_mut(key)
            .and_then(|o| o.tracker.as_mut().and_then(Tracker::end))
        {
            match t {
                Transition::Cancelled => self.transition(key, t, now, None),
                _ => self.close(key, now, false),
            }
        } else {
            self.close(key, now, false);
        }
    }

    /// Why an alert is not to be notified now: a silence, a maintenance
    /// window, or its host being offline.
    fn suppression(
        &self,
        alert: &Alert,
        inhibited_hosts: &HashSet<HostId>,
        now: i64,
    ) -> Option<String> {
        let config = self.tenants.get(&alert.tenant_id)?;
        if let Some((id, _)) = config
            .silences
            .iter()
            .find(|(_, s)| s.mutes(now, &alert.labels))
        {
            return Some(format!("silence {id}"));
        }
        if let Some((id, m)) = config
            .maintenance
            .iter()
            .find(|(_, m)| m.mutes(now, &alert.labels))
        {
            return Some(format!("maintenance {id} ({})", m.name));
        }
        if alert.host_id.is_some_and(|h| inhibited_hosts.contains(&h)) {
            return Some("inhibited: host offline".into());
        }
        None
    }

    /// Silenced or in maintenance (resolve messages ignore inhibition).
    fn muted(&self, alert: &Alert, now: i64) -> bool {
        self.suppression(alert, &HashSet::new(), now).is_some()
    }

    fn inhibited_hosts(&self) -> HashSet<HostId> {
        self.open
            .values()
            .filter(|o| o.inhibits_host && o.alert.state == "firing")
            .filter_map(|o| o.alert.host_id)
            .collect()
    }

    /// Queues a firing alert's notification when one is due: never sent
    /// yet, or the repeat interval has passed and nobody acknowledged it.
    fn consider(&mut self, key: &Key, now: i64, received: Option<Instant>) {
        let inhibited = self.inhibited_hosts();
        self.consider_with(key, now, received, &inhibited);
    }

    fn consider_with(
        &mut self,
        key: &Key,
        now: i64,
        received: Option<Instant>,
        inhibited: &HashSet<HostId>,
    ) {
        let Some(o) = self.open.get(key) else {
            return;
        };
        if o.alert.state != "firing" || o.queued {
            return;
        }
        let reason = if o.inhibits_host {
            self.suppression(&o.alert, &HashSet::new(), now)
        } else {
            self.suppression(&o.alert, inhibited, now)
        };
        let repeat_ms = match o.alert.source.as_str() {
            "rule" => self
                .rule(o.alert.tenant_id, o.alert.source_id)
                .map(|r| r.def.repeat_interval_ms())
                .unwrap_or(lxmon_alert::rule::DEFAULT_REPEAT_INTERVAL_S as i64 * 1000),
            _ => lxmon_alert::rule::DEFAULT_REPEAT_INTERVAL_S as i64 * 1000,
        };
        // Someone acknowledged it: they know, whether or not it was sent.
        let kind = match o.alert.last_notified_at {
            _ if reason.is_some() || o.alert.ack.is_some() => None,
            None => Some(NoticeKind::Firing),
            Some(last) if now - last >= repeat_ms => Some(NoticeKind::Repeat),
            Some(_) => None,
        };
        let o = self.open.get_mut(key).expect("looked up above");
        if o.alert.suppressed != reason {
            o.alert.suppressed = reason;
            self.dirty.insert(key.clone());
        }
        if let Some(kind) = kind {
            o.queued = true;
            self.intents.push(Intent::Open(key.clone(), kind, received));
        }
    }

    /// Every second: `for` promotion between reports, repeats, silences
    /// that started or ended.
    pub(crate) fn sweep(&mut self, now: i64) {
        let keys: Vec<Key> = self.open.keys().cloned().collect();
        for key in &keys {
            let Some((tenant, rule_id)) = self
                .open
                .get(key)
                .filter(|o| o.tracker.is_some())
                .map(|o| (o.alert.tenant_id, o.alert.source_id))
            else {
                continue;
            };
            let Some(for_ms) = self.rule(tenant, rule_id).map(|r| r.def.for_ms()) else {
                continue;
            };
            if let Some(t) = self
                .open
                .get_mut(key)
                .and_then(|o| o.tracker.as_mut())
                .and_then(|tr| tr.tick(now, for_ms))
            {
                self.transition(key, t, now, None);
            }
        }
        let inhibited = self.inhibited_hosts();
        for key in &keys {
            self.consider_with(key, now, None, &inhibited);
        }
    }

    /// The periodic evaluation: host offline, metrics missing, anomalies,
    /// checks down.
    pub(crate) async fn evaluate(&mut self) {
        let now = crate::now_ms();
        if let Ok(hosts) = self.state.blocking(|s| s.hosts_all_tenants()).await {
            let ids: HashSet<HostId> = hosts.iter().map(|h| h.id).collect();
            self.hosts = hosts.iter().map(|h| (h.id, host_meta(h))).collect();
            // Alerts of deleted hosts end.
            let gone: Vec<Key> = self
                .open
                .iter()
                .filter(|(_, o)| o.alert.host_id.is_some_and(|h| !ids.contains(&h)))
                .map(|(k, _)| k.clone())
                .collect();
            for key in gone {
                self.end(&key, now);
            }
            self.followed.retain(|_, f| ids.contains(&f.host));
        }
        let offline_after = self.state.config.offline_after.as_millis() as i64;
        let tenants: Vec<TenantId> = self.tenants.keys().copied().collect();
        for tenant in tenants {
            let rules: Vec<Arc<Rule>> = self.tenants[&tenant].rules.clone();
            let mut want_checks = false;
            for rule in rules {
                match &rule.def.condition {
                    Condition::HostOffline { after_s } => {
                        let after = after_s.map_or(offline_after, |s| i64::from(s) * 1000);
                        let hosts: Vec<(HostId, HostMeta)> = self
                            .hosts
                            .iter()
                            .filter(|(id, m)| {
                                m.tenant == tenant && rule.def.scope.contains(**id, &m.labels)
                            })
                            .map(|(id, m)| (*id, m.clone()))
                            .collect();
                        for (id, meta) in hosts {
                            let Some(seen) = meta.last_seen else { continue };
                            let offline = now - seen > after;
                            self.observe(
                                &rule,
                                &meta,
                                id,
                                &BTreeMap::new(),
                                Observation::flag(offline),
                                now,
                                None,
                                None,
                            );
                        }
                    }
                    Condition::MetricMissing { intervals, .. } => {
                        let followed: Vec<(HostId, BTreeMap<String, String>, bool)> = self
                            .followed
                            .iter()
                            .filter(|((t, _), f)| *t == tenant && f.rule_id == rule.id)
                            .map(|(_, f)| {
                                let missing =
                                    now - f.last_ts > i64::from(*intervals) * f.interval_ms;
                                (f.host, f.series_labels.clone(), missing)
                            })
                            .collect();
                        for (host, labels, missing) in followed {
                            if let Some(meta) = self.hosts.get(&host).cloned() {
                                self.observe(
                                    &rule,
                                    &meta,
                                    host,
                                    &labels,
                                    Observation::flag(missing),
                                    now,
                                    None,
                                    None,
                                );
                            }
                        }
                    }
                    Condition::Anomaly { metric, mode, .. } => {
                        self.evaluate_anomaly(tenant, &rule, metric, mode, now)
                            .await;
                    }
                    Condition::CheckDown { .. } => want_checks = true,
                    Condition::Threshold { .. } | Condition::Ratio { .. } => {}
                }
            }
            if want_checks && let Ok(checks) = self.state.blocking(move |s| s.checks(tenant)).await
            {
                self.checks(tenant, checks, None);
            }
        }
    }

    async fn evaluate_anomaly(
        &mut self,
        tenant: TenantId,
        rule: &Arc<Rule>,
        metric: &str,
        mode: &anomaly::AnomalyMode,
        now: i64,
    ) {
        let keys: Vec<Key> = self
            .followed
            .iter()
            .filter(|((t, _), f)| *t == tenant && f.rule_id == rule.id)
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            let (host, labels, stale) = {
                let f = &self.followed[&key];
                let stale = f
                    .baseline
                    .as_ref()
                    .is_none_or(|(at, _)| now - at > BASELINE_TTL_MS);
                (f.host, f.series_labels.clone(), stale)
            };
            if stale {
                let name = metric.to_string();
                let series_labels = labels.clone();
                let history = self
                    .state
                    .blocking(move |s| {
                        let q = SeriesQuery {
                            names: vec![name],
                            from_ms: now - 14 * 86_400_000,
                            to_ms: now,
                            step_s: Some(300),
                            aggregation: Aggregation::Avg,
                            now_ms: now,
                        };
                        let r = s.query(tenant, host, &q)?;
                        let series = r.series.into_iter().find(|s| s.labels == series_labels);
                        Ok(series
                            .map(|s| {
                                r.timestamps
                                    .iter()
                                    .zip(s.values)
                                    .filter_map(|(t, v)| v.map(|v| (*t, v)))
                                    .collect::<Vec<_>>()
                            })
                            .unwrap_or_default())
                    })
                    .await
                    .unwrap_or_default();
                if let Some(f) = self.followed.get_mut(&key) {
                    f.baseline = Some((now, history));
                }
            }
            let Some(f) = self.followed.get(&key) else {
                continue;
            };
            let window = rule.def.for_ms().max(3 * f.interval_ms);
            let recent: Vec<(i64, f64)> = f
                .recent
                .iter()
                .copied()
                .filter(|(t, _)| now - t <= window)
                .collect();
            let history: &[(i64, f64)] = f.baseline.as_ref().map_or(&[], |(_, h)| h.as_slice());
            // Baseline points overlapping the recent window would let a
            // level shift learn itself.
            let cutoff = recent.first().map_or(now, |p| p.0);
            let history: Vec<(i64, f64)> =
                history.iter().copied().filter(|p| p.0 < cutoff).collect();
            let verdict = anomaly::evaluate(mode, &history, &recent);
            let (anomalous, value) = match verdict {
                anomaly::Verdict::Anomalous { .. } => (true, recent.last().map(|p| p.1)),
                anomaly::Verdict::Normal { .. } => (false, recent.last().map(|p| p.1)),
                anomaly::Verdict::InsufficientData => continue,
            };
            let Some(meta) = self.hosts.get(&host).cloned() else {
                continue;
            };
            let obs = Observation {
                breaching: anomalous,
                cleared: !anomalous,
                value,
            };
            // `for` is already applied through the recent window.
            let metric = metric.to_string();
            self.observe(
                &rule.clone(),
                &meta,
                host,
                &labels,
                obs,
                now,
                Some((&metric, 0.0)),
                None,
            );
        }
    }

    /// Check-down rules over the given checks (`only`: a state change of one).
    fn checks(&mut self, tenant: TenantId, checks: Vec<lxmon_store::Check>, only: Option<i64>) {
        let Some(config) = self.tenants.get(&tenant) else {
            return;
        };
        let rules: Vec<Arc<Rule>> = config
            .rules
            .iter()
            .filter(|r| matches!(r.def.condition, Condition::CheckDown { .. }))
            .cloned()
            .collect();
        let now = crate::now_ms();
        for check in checks.iter().filter(|c| only.is_none_or(|id| id == c.id)) {
            for rule in &rules {
                let Condition::CheckDown { check_id } = rule.def.condition else {
                    continue;
                };
                if check_id.is_some_and(|id| id != check.id) {
                    continue;
                }
                let mut labels = rule.def.labels.clone();
                labels.insert("alertname".into(), rule.def.name.clone());
                labels.insert("severity".into(), rule.def.severity.as_str().into());
                labels.insert("check".into(), check.name.clone());
                labels.insert("check_id".into(), check.id.to_string());
                if let Some(host) = check.run_on_host.and_then(|h| self.hosts.get(&h)) {
                    labels.insert("host".into(), host.hostname.clone());
                }
                let down = check.enabled && check.status == "down";
                let obs = Observation {
                    breaching: down,
                    cleared: !down,
                    value: check.last_latency_ms,
                };
                self.observe_labels(rule, tenant, None, labels.clone(), obs, now, None, None);
                let key = (tenant, fingerprint("rule", rule.id, &labels));
                if let Some(o) = self.open.get_mut(&key)
                    && let Some(err) = &check.last_error
                {
                    o.alert.annotations.insert("error".into(), err.clone());
                    if !rule.def.annotations.contains_key("summary") {
                        o.alert.summary = format!("check {} is down: {err}", check.name);
                    }
                }
            }
        }
    }

    fn external(
        &mut self,
        tenant: TenantId,
        webhook_id: i64,
        webhook: &str,
        alerts: Vec<ExternalAlert>,
    ) {
        let now = crate::now_ms();
        for ext in alerts {
            let mut labels = ext.labels.clone();
            labels.insert("alertname".into(), ext.name.clone());
            labels.insert("severity".into(), ext.severity.clone());
            labels.insert("source".into(), webhook.to_string());
            let fp = match &ext.fingerprint {
                Some(f) => {
                    let mut id = BTreeMap::new();
                    id.insert("fingerprint".to_string(), f.clone());
                    fingerprint("webhook", webhook_id, &id)
                }
                None => fingerprint("webhook", webhook_id, &labels),
            };
            let key = (tenant, fp);
            match ext.status {
                ExternalStatus::Firing => {
                    let host_id = labels.get("host").and_then(|h| {
                        self.hosts
                            .iter()
                            .find(|(_, m)| m.tenant == tenant && &m.hostname == h)
                            .map(|(id, _)| *id)
                    });
                    let summary = if ext.summary.is_empty() {
                        ext.name.clone()
                    } else {
                        ext.summary.clone()
                    };
                    if let Some(o) = self.open.get_mut(&key) {
                        o.alert.summary = summary;
                        o.alert.annotations = ext.annotations.clone();
                        o.alert.updated_at = now;
                        self.dirty.insert(key.clone());
                        continue;
                    }
                    let alert = Alert {
                        id: 0,
                        tenant_id: tenant,
                        fingerprint: key.1.clone(),
                        source: "webhook".into(),
                        source_id: webhook_id,
                        name: ext.name.clone(),
                        severity: ext.severity.clone(),
                        state: "firing".into(),
                        host_id,
                        labels,
                        annotations: ext.annotations.clone(),
                        summary,
                        value: None,
                        started_at: ext.starts_at_ms.unwrap_or(now),
                        fired_at: Some(now),
                        resolved_at: None,
                        updated_at: now,
                        last_notified_at: None,
                        notify_count: 0,
                        suppressed: None,
                        ack: None,
                        assignee: None,
                    };
                    self.open.insert(
                        key.clone(),
                        OpenAlert {
                            alert,
                            tracker: None,
                            queued: false,
                            inhibits_host: false,
                            threshold: None,
                            metric: None,
                        },
                    );
                    self.dirty.insert(key.clone());
                    self.consider(&key, now, None);
                }
                ExternalStatus::Resolved => {
                    let at = ext.ends_at_ms.unwrap_or(now);
                    self.close(&key, at, true);
                }
            }
        }
    }

    /// Writes what changed, then turns queued intents into notification
    /// groups (they need the stored ids).
    pub(crate) async fn persist(&mut self) -> Result<(), String> {
        if self.dirty.is_empty() && self.closed.is_empty() && self.discard.is_empty() {
            self.route_intents();
            return Ok(());
        }
        let keys: Vec<Key> = self.dirty.drain().collect();
        let mut save: Vec<Alert> = keys
            .iter()
            .filter_map(|k| self.open.get(k).map(|o| o.alert.clone()))
            .collect();
        let open_count = save.len();
        save.append(&mut self.closed);
        let discard = std::mem::take(&mut self.discard);
        let result = self
            .state
            .blocking(move |s| {
                s.save_alerts(&mut save, &discard)?;
                Ok(save)
            })
            .await;
        let saved = match result {
            Ok(saved) => saved,
            Err(e) => {
                // Not retried in a loop (a row the store refuses would be
                // refused forever); an open alert is written again with its
                // next change. Notifications of open alerts still go out.
                tracing::error!(error = %e.message, alerts = keys.len(), "storing alerts failed");
                self.intents.retain(|i| matches!(i, Intent::Open(..)));
                self.route_intents();
                return Err(e.message);
            }
        };
        for (k, a) in keys.iter().zip(&saved[..open_count]) {
            if let Some(o) = self.open.get_mut(k) {
                o.alert.id = a.id;
            }
        }
        self.closed = saved[open_count..].to_vec();
        for a in saved.iter() {
            self.state.events.publish(
                a.tenant_id,
                LiveEvent::Alert {
                    alert_id: a.id,
                    state: a.state.clone(),
                    severity: a.severity.clone(),
                    name: a.name.clone(),
                },
            );
        }
        self.route_intents();
        self.closed.clear();
        Ok(())
    }

    fn route_intents(&mut self) {
        let wait = self.state.config.alerts.group_wait;
        let now = Instant::now();
        for intent in std::mem::take(&mut self.intents) {
            let (alert, kind, received) = match intent {
                Intent::Open(key, kind, received) => match self.open.get(&key) {
                    Some(o) => (o.alert.clone(), kind, received),
                    None => continue,
                },
                Intent::Closed(i) => match self.closed.get(i) {
                    Some(a) => (a.clone(), NoticeKind::Resolved, None),
                    None => continue,
                },
            };
            let gk = GroupKey {
                tenant: alert.tenant_id,
                source: if alert.source == "rule" {
                    "rule"
                } else {
                    "webhook"
                },
                source_id: alert.source_id,
                name: alert.name.clone(),
                kind,
            };
            let group = self.groups.entry(gk).or_default();
            if group.due.is_none() {
                let earliest = now + wait;
                group.due = Some(group.next_allowed.map_or(earliest, |n| n.max(earliest)));
            }
            group.since = match (group.since, received) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            group.alerts.push(alert);
        }
    }

    fn next_group_due(&self) -> Option<Instant> {
        self.groups.values().filter_map(|g| g.due).min()
    }

    /// Sends every group whose time has come.
    pub(crate) fn flush_groups(&mut self, now: Instant) {
        let interval = self.state.config.alerts.group_interval;
        let due: Vec<GroupKey> = self
            .groups
            .iter()
            .filter(|(_, g)| g.due.is_some_and(|d| d <= now))
            .map(|(k, _)| k.clone())
            .collect();
        let now_wall = crate::now_ms();
        for gk in due {
            let Some(group) = self.groups.get_mut(&gk) else {
                continue;
            };
            group.due = None;
            group.next_allowed = Some(now + interval);
            let since = group.since.take();
            let mut alerts = std::mem::take(&mut group.alerts);
            if gk.kind != NoticeKind::Resolved {
                // Only what is still firing and still due to be told.
                alerts.retain_mut(|a| {
                    let key = (a.tenant_id, a.fingerprint.clone());
                    match self.open.get_mut(&key) {
                        Some(o) if o.alert.state == "firing" => {
                            o.queued = false;
                            if o.alert.suppressed.is_some() {
                                return false;
                            }
                            o.alert.last_notified_at = Some(now_wall);
                            o.alert.notify_count += 1;
                            *a = o.alert.clone();
                            self.dirty.insert(key);
                            true
                        }
                        Some(o) => {
                            o.queued = false;
                            false
                        }
                        None => false,
                    }
                });
            }
            if alerts.is_empty() {
                continue;
            }
            let Some(config) = self.tenants.get(&gk.tenant) else {
                continue;
            };
            let mut per_channel: BTreeMap<i64, Vec<Alert>> = BTreeMap::new();
            for a in &alerts {
                let severity = match a.severity.as_str() {
                    "critical" => Severity::Critical,
                    "info" => Severity::Info,
                    _ => Severity::Warning,
                };
                for c in config.routing.channels_for(severity, &a.labels) {
                    per_channel.entry(c).or_default().push(a.clone());
                }
            }
            for (channel_id, alerts) in per_channel {
                let Some(channel) = config.channels.get(&channel_id).cloned() else {
                    tracing::warn!(
                        tenant = gk.tenant,
                        channel_id,
                        "routing names a channel that does not exist"
                    );
                    continue;
                };
                if gk.kind == NoticeKind::Resolved && !channel.body.send_resolved {
                    continue;
                }
                let _ = self.outgoing.send(Outgoing {
                    tenant: gk.tenant,
                    channel,
                    kind: gk.kind,
                    alerts,
                    since,
                });
            }
        }
        self.groups
            .retain(|_, g| g.due.is_some() || g.next_allowed.is_some_and(|n| n > now));
    }
}

fn host_meta(h: &lxmon_store::Host) -> HostMeta {
    let mut labels: BTreeMap<String, String> = h
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    labels.insert("host".into(), h.hostname.clone());
    HostMeta {
        tenant: h.tenant_id,
        hostname: h.hostname.clone(),
        labels,
        last_seen: h.last_seen,
    }
}

/// An alert's labels: the rule's, the series', the host and the rule name.
fn alert_labels(
    def: &RuleDefinition,
    host: Option<&HostMeta>,
    series: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut labels = def.labels.clone();
    for (k, v) in series {
        labels.insert(k.clone(), v.clone());
    }
    if let Some(h) = host {
        labels.insert("host".into(), h.hostname.clone());
    }
    labels.insert("alertname".into(), def.name.clone());
    labels.insert("severity".into(), def.severity.as_str().into());
    labels
}

/// Renders the rule's annotation templates into the alert; `summary` falls
/// back to a sentence about the condition.
fn render(alert: &mut Alert, def: &RuleDefinition, threshold: Option<f64>, metric: Option<&str>) {
    let ctx = TemplateContext {
        host: alert.labels.get("host").map(String::as_str),
        value: alert.value,
        threshold,
        rule: &def.name,
        severity: def.severity.as_str(),
        metric,
        labels: &alert.labels,
    };
    let annotations: BTreeMap<String, String> = def
        .annotations
        .iter()
        .map(|(k, t)| (k.clone(), t.render(&ctx)))
        .collect();
    let summary = annotations
        .get("summary")
        .cloned()
        .unwrap_or_else(|| default_summary(alert, def, threshold));
    alert.annotations = annotations;
    alert.summary = summary;
}

fn default_summary(alert: &Alert, def: &RuleDefinition, threshold: Option<f64>) -> String {
    let host = alert.labels.get("host").map_or("", String::as_str);
    let value = alert
        .value
        .map(|v| format!("{}", (v * 100.0).round() / 100.0))
        .unwrap_or_default();
    match &def.condition {
        Condition::Threshold { metric, op, .. } => format!(
            "{host}: {metric} = {value} ({} {})",
            serde_json::to_value(op)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            threshold.map(|t| t.to_string()).unwrap_or_default()
        ),
        Condition::Ratio {
            numerator,
            denominator,
            ..
        } => format!(
            "{host}: {} / {} = {value}",
            numerator.metric, denominator.metric
        ),
        Condition::Anomaly { metric, .. } => {
            format!("{host}: {metric} = {value} is far from its baseline")
        }
        Condition::HostOffline { .. } => format!("{host} is offline"),
        Condition::MetricMissing { metric, .. } => format!("{host}: {metric} is missing"),
        Condition::CheckDown { .. } => format!(
            "check {} is down",
            alert.labels.get("check").map_or("", String::as_str)
        ),
    }
}
