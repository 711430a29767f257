/** `daqops platform`: the store, the agent hub, the run control and the HTTP API in one process. */
import { PrometheusSdFile } from './monitoring/prometheus-sd.js';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { envBrokerList, envString } from '../lib/env.js';
import { projectRoot } from '../lib/paths.js';
import { Metrics } from '../lib/metrics.js';
import { startTracing, stopTracing } from '../lib/tracing.js';
import { ErsReporter } from '../lib/ers.js';
import { formatErsLine } from '../lib/ers-logger.js';
import { KafkaClient } from '../lib/kafka.js';
import { KafkaWatch } from '../lib/kafka-watch.js';
import { ensureNamespaceTopics, survival } from '../lib/topics.js';
import { isDaqError } from '../protocol/errors.js';
import { topicNames } from '../protocol/topics.js';
import { errorMessage } from './audit.js';
import { AgentHub } from './agents/hub.js';
import { ControlBus } from './events/bus.js';
import { DataPath } from './dataflow/data-path.js';
import { MonitoringFeed } from './monitoring/feed.js';
import { loadRunbooks } from './runbooks/runbook.js';
import { TemplateLibrary } from './workflow/library.js';
import { RatesBook, scrape } from './monitoring/rates.js';
import { ErsFeed } from './incidents/ers-feed.js';
import { buildApi } from './api/server.js';
import { TokenStore } from './api/auth.js';
import { Platform } from './platform.js';
import { PlatformStore } from './store/store.js';

export interface PlatformCliOptions {
  readonly port: number;
  readonly host: string;
  readonly tokens?: string;
  readonly db?: string;
  readonly brokers?: string;
  /** Runbooks directory (default runbooks/ of the project). */
  readonly runbooks?: string;
  /** Template directories, searched in order for `<name>.yaml` (default deploy/templates/ of the project). */
  readonly templates?: readonly string[];
  readonly pageUrl?: string;
  readonly pageRoutingKey?: string;
  /** How long a recovered incident must stay quiet before it resolves itself (default 60 s). */
  readonly settleSeconds?: number;
  /** How close in time connected signals must be to join one incident (default 120 s). */
  readonly windowSeconds?: number;
  /** Keep this file_sd file of the agents' /metrics targets for Prometheus. */
  readonly prometheusSd?: string;
  /** Where Grafana serves the dashboards (links on the web page). */
  readonly grafanaUrl?: string;
}

/** How often the platform reads each deployed environment's <ns>.monitoring (monitoring/feed.ts). */
const FEED_EVERY_MS = 2000;
/** How often the platform reads the agents' /metrics for the web page's rates and occupancy. */
const RATES_EVERY_MS = 5000;

/** A first start writes a tokens file with fresh random tokens (mode 0600) and says where it is. */
export function ensureTokensFile(file: string): boolean {
  if (existsSync(file)) return false;
  mkdirSync(dirname(file), { recursive: true });
  const tok = (): string => randomBytes(18).toString('base64url');
  const doc = {
    joinToken: tok(),
    tokens: [
      { name: 'admin', role: 'admin', token: tok() },
      { name: 'expert', role: 'expert', token: tok() },
      { name: 'shifter', role: 'shifter', token: tok() },
      { name: 'viewer', role: 'viewer', token: tok() },
    ],
  };
  writeFileSync(file, `# daqops platform tokens (generated); keep private\n${stringify(doc)}`, {
    mode: 0o600,
  });
  return true;
}

export async function runPlatformCli(o: PlatformCliOptions): Promise<void> {
  const home = envString('DAQOPS_HOME') ?? join(projectRoot(), '.daqops');
  const tokensFile = o.tokens ?? join(home, 'tokens.yaml');
  if (ensureTokensFile(tokensFile)) console.error(`platform: wrote new tokens to ${tokensFile}`);
  const tokens = TokenStore.load(tokensFile);
  const dbFile = o.db ?? join(home, 'platform.db');
  mkdirSync(dirname(dbFile), { recursive: true });
  await startTracing('daqops-platform');
  const store = new PlatformStore(dbFile);
  const brokers = o.brokers?.split(',') ?? envBrokerList('DAQOPS_KAFKA_BROKERS') ?? [];
  const metrics = new Metrics({ task: 'platform' });
  // Platform ERS issues: to the console, and to the environment's `<ns>.ers` where they concern one.
  const ers: ErsReporter = new ErsReporter({
    application: 'daqops-platform',
    sink: (issue) => {
      process.stderr.write(`${formatErsLine(issue)}\n`);
      const envId = issue.parameters['environment'];
      const ns = typeof envId === 'string' ? platform.namespaceOf(envId) : undefined;
      if (ns !== undefined) bus?.ers(ns, issue);
    },
  });
  const kafka = brokers.length === 0 ? undefined : new KafkaClient({ brokers, clientId: 'daqops-platform' });
  // The one reader of the environments' <ns>.monitoring: balances for STOP, the registry, the testbed's
  // live line, the CLI and the page; aggregates for the detector view.
  const feed = kafka === undefined ? undefined : new MonitoringFeed({ client: kafka, store, metrics, ers });
  const dataPath = feed === undefined ? undefined : new DataPath({ feed, ers });
  const bus =
    kafka === undefined
      ? undefined
      : new ControlBus({
          client: kafka,
          metrics,
          onOutage: (err) =>
            ers.raise(
              'daqops.platform.ControlPublishFailed',
              `control events and ERS issues cannot reach Kafka ${brokers.join(',')}; the store keeps the state`,
              {},
              { cause: err },
            ),
        });
  const ersFeed =
    kafka === undefined
      ? undefined
      : new ErsFeed(
          kafka,
          (i) => platform.ersIssue(i),
          (env, err) =>
            ers.raise(
              'daqops.platform.ErsFeedFailed',
              `environment ${env}: cannot read its ERS issues from Kafka; incidents see only run-control signals`,
              { environment: env },
              { cause: err },
            ),
        );
  // What agents say is handled in the background; a failure there is an ERS issue, never a platform crash.
  const guard = (what: string, p: Promise<unknown>): void =>
    void p.catch((err: unknown) =>
      ers.raise(
        'daqops.platform.InternalError',
        `${what}: ${err instanceof Error ? err.message : String(err)}`,
        {},
        { cause: err },
      ),
    );
  // Prometheus finds the agents through the platform (file_sd), rewritten as agents come and go.
  const sd = o.prometheusSd === undefined ? undefined : new PrometheusSdFile(o.prometheusSd);
  const updateSd = (): void => {
    try {
      sd?.update(hub.agents.values());
    } catch (err) {
      ers.raise(
        'daqops.platform.InternalError',
        `cannot write ${o.prometheusSd}: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
  };
  sd?.update([]);
  const hub = new AgentHub({
    joinToken: tokens.joinToken,
    onRegister: (a) => {
      updateSd();
      platform.agentChanged(a.node);
      guard(`agent ${a.node} registering`, platform.agentRegistered(a.topology, a.tasks));
    },
    onTaskReports: (node, reports) => guard(`task reports of ${node}`, platform.taskReports(node, reports)),
    onAgentLost: (a) => {
      platform.agentChanged(a.node);
      guard(`agent ${a.node} lost`, platform.agentLost(a.node));
    },
    onTaskEvent: (node, r, event) => platform.taskEvent(node, r, event),
  });
  const runbooksDir = o.runbooks ?? join(projectRoot(), 'runbooks');
  const runbooks = loadRunbooks(runbooksDir);
  const templateDirs =
    o.templates === undefined || o.templates.length === 0
      ? [join(projectRoot(), 'deploy', 'templates')]
      : o.templates;
  const templates = new TemplateLibrary(templateDirs);
  // The platform's own view of rates and occupancy: each connected agent's /metrics every few seconds.
  const rates = new RatesBook();
  const ratesTimer = setInterval(() => {
    // Only while a page shows rates or occupancy (asked within the last minute): no load otherwise.
    if (!rates.wanted()) return;
    for (const a of hub.agents.values()) {
      if (!a.connected || a.metrics === undefined) continue;
      const node = a.node;
      scrape(a.metrics)
        .then((text) => rates.sample(node, text))
        .catch(() => undefined); // an agent that does not answer has no fresh rates; it stays on the page as such
    }
  }, RATES_EVERY_MS);
  ratesTimer.unref();
  const pageUrl = o.pageUrl ?? envString('DAQOPS_PAGE_URL');
  const platform: Platform = new Platform({
    store,
    driver: hub,
    brokers,
    metrics,
    ers,
    runbooks,
    templates,
    rates,
    ...(feed === undefined ? {} : { feed }),
    page: pageUrl === undefined ? undefined : { url: pageUrl, routingKey: o.pageRoutingKey ?? 'daqops' },
    incidentTiming: {
      settleMs: (o.settleSeconds ?? 60) * 1000,
      ...(o.windowSeconds === undefined ? {} : { windowMs: o.windowSeconds * 1000 }),
    },
    onControlEvent: (e) => {
      const ns = platform.namespaceOf(e.environment);
      if (ns !== undefined) bus?.control(ns, e);
      // The environment's ERS issues feed the incidents from DEPLOY to EXIT.
      if (ns !== undefined && e.kind === 'environment' && e.step === 'after' && e.status === 'DONE_OK') {
        if (e.transition === 'DEPLOY') ersFeed?.watch(e.environment, ns);
        if (e.transition === 'EXIT') void ersFeed?.unwatch(e.environment);
      }
    },
    ...(dataPath === undefined ? {} : { drain: (env, stopped) => dataPath.drain(env, stopped) }),
    ...(kafka === undefined ? {} : { prepareTopics: (env) => prepareTopics(kafka, ers, env) }),
    actions: {
      // Built-in hook action: the run's data-path balance into the run registry (testbed.yaml calls it
      // after STOP_ACTIVITY, when STOP has drained the data path role by role).
      reconcile: async (_args, ctx) => {
        const namespace = platform.namespaceOf(ctx.environment);
        if (ctx.run === undefined || dataPath === undefined || namespace === undefined) return;
        store.runReconciliation(ctx.run, await dataPath.balance(namespace, ctx.run));
      },
    },
  });
  // Kafka away is weather for the data path but an incident for the on-call: one per live environment.
  const kafkaWatch =
    kafka === undefined
      ? undefined
      : new KafkaWatch({
          ping: () => kafka.ping(2000),
          onChange: (reachable, detail) => {
            metrics.gauge('daq_platform_kafka_up').set(reachable ? 1 : 0);
            if (!reachable)
              ers.raise(
                'daqops.kafka.BrokerUnreachable',
                `no Kafka broker answers at ${brokers.join(',')}: ${detail}`,
                {
                  brokers: brokers.join(','),
                },
              );
            platform.kafkaReachability(brokers, reachable, detail);
          },
        });
  if (kafka !== undefined) metrics.gauge('daq_platform_kafka_up').set(1);
  const restored = platform.restore();
  kafkaWatch?.start();
  const ticker = setInterval(() => platform.tick(), 1000);
  for (const env of platform.listEnvironments())
    if (env.state !== 'STANDBY' && env.state !== 'DONE') ersFeed?.watch(env.id, env.namespace);
  if (restored.environments > 0)
    console.error(
      `platform: restored ${restored.environments} environment(s) from ${dbFile}, ${restored.holdingResources} holding resources${restored.interrupted.length > 0 ? `; cut mid-transition, now ERROR: ${restored.interrupted.join(', ')}` : ''}`,
    );
  const app = buildApi(platform, tokens, {
    agents: () =>
      [...hub.agents.values()].map((a) => ({
        node: a.node,
        connected: a.connected,
        lost: a.lost,
        tasks: a.tasks.length,
        cores: a.topology.numa.reduce((n, x) => n + x.cpus.length, 0),
        lastSeenMs: a.lastSeenMs,
        metrics: a.metrics,
      })),
    metricsText: () => {
      platform.updateGauges();
      metrics.gauge('daq_platform_agents_connected').set(hub.connectedCount);
      return metrics.text();
    },
    grafanaUrl: o.grafanaUrl ?? envString('DAQOPS_GRAFANA_URL'),
    onInternalError: (err, req) =>
      ers.raise(
        'daqops.platform.InternalError',
        `${req.method} ${req.url.slice(0, 200)}: ${err instanceof Error ? err.message : String(err)}`,
        {},
        { cause: err },
      ),
  });
  // Each deployed environment's <ns>.monitoring read every FEED_EVERY_MS: every read is short (what came
  // since the last), and the detector view and the balances are never far behind.
  let feeding: Promise<unknown> = Promise.resolve();
  const feedTimer = setInterval(() => {
    if (feed === undefined) return;
    const namespaces = platform
      .listEnvironments()
      .filter((e) => e.state !== 'STANDBY')
      .map((e) => e.namespace);
    feeding = Promise.allSettled(namespaces.map((ns) => feed.catchUp(ns)));
  }, FEED_EVERY_MS);
  feedTimer.unref();
  hub.attach(app.server);
  await app.listen({ port: o.port, host: o.host });
  console.error(
    `platform: http://${o.host}:${o.port} (API /api/v1, OpenAPI /openapi.json), agents join at ws://${o.host}:${o.port}/api/v1/agents/ws, state in ${dbFile}, ${runbooks.length} runbooks from ${runbooksDir}, templates ${templates.names().join(', ') || 'none'} from ${templateDirs.join(', ')}${pageUrl === undefined ? ', no pager' : `, pages to ${pageUrl}`}`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  clearInterval(ticker);
  clearInterval(ratesTimer);
  clearInterval(feedTimer);
  await feeding;
  kafkaWatch?.stop();
  await hub.close();
  await app.close();
  await ersFeed?.close();
  await bus?.close();
  await kafka?.close();
  store.close();
  await stopTracing();
}

/**
 * DEPLOY's check of the environment's topics (docs/data-path.md "Topics on a cluster"): made with the
 * replication the cluster can honour, and what they survive said as an ERS issue. A replication the cluster
 * cannot honour fails DEPLOY (INVALID_CONFIG); Kafka away does not (the workloads make the topics later).
 */
async function prepareTopics(
  kafka: KafkaClient,
  ers: ErsReporter,
  env: { readonly id: string; readonly namespace: string },
): Promise<void> {
  const params = { environment: env.id, namespace: env.namespace };
  try {
    const r = await ensureNamespaceTopics(kafka, env.namespace);
    const d = await kafka.describeCluster(Object.values(topicNames(env.namespace)));
    const s = survival(d);
    const said = `environment ${env.id}: topics ${env.namespace}.* on ${d.brokers.length} broker(s), replication ${r.replication}, min ISR ${r.minInsync}: ${s.text}`;
    const unprotected = s.brokersMayBeLost < 0 || (d.brokers.length > 1 && s.brokersMayBeLost < 1);
    ers.raise(unprotected ? 'daqops.platform.TopicsUnprotected' : 'daqops.platform.TopicsReplicated', said, {
      ...params,
      replication: r.replication,
      minInsync: r.minInsync,
      brokersMayBeLost: s.brokersMayBeLost,
    });
  } catch (err) {
    if (isDaqError(err, 'INVALID_CONFIG')) throw err;
    ers.raise(
      'daqops.platform.TopicsUnchecked',
      `environment ${env.id}: topics ${env.namespace}.* not made or checked at DEPLOY: ${errorMessage(err)}`,
      params,
    );
  }
}
