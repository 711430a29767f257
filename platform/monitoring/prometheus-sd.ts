/**
 * Prometheus scrape targets from the platform's view of the agents (docs/alerts.md): every agent that
 * registered with a /metrics address, with its node as a label, so a new node is scraped without
 * editing files. An agent that was lost stays a target: Prometheus then sees `up == 0` and
 * DaqAgentDown fires, instead of the target silently disappearing.
 *
 * Served two ways: a file for `file_sd_configs` (written atomically, only when the set changes) and
 * the same JSON at `GET /api/v1/prometheus/targets` for `http_sd_configs`.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface TargetGroup {
  readonly targets: string[];
  readonly labels: Record<string, string>;
}

export interface ScrapeableAgent {
  readonly node: string;
  /** host:port of the node's /metrics; undefined when the agent serves none. */
  readonly metrics: string | undefined;
}

/** One group per node (its label), ordered by node: the same agents give the same bytes. */
export function prometheusTargets(agents: Iterable<ScrapeableAgent>): TargetGroup[] {
  return [...agents]
    .filter((a): a is ScrapeableAgent & { metrics: string } => a.metrics !== undefined)
    .sort((a, b) => a.node.localeCompare(b.node))
    .map((a) => ({ targets: [a.metrics], labels: { node: a.node } }));
}

/** Keeps a file_sd file in step with the agents; a write is skipped when nothing changed. */
export class PrometheusSdFile {
  private last: string | undefined;

  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }

  update(agents: Iterable<ScrapeableAgent>): boolean {
    const text = `${JSON.stringify(prometheusTargets(agents), null, 2)}\n`;
    if (text === this.last) return false;
    // Prometheus re-reads the file when it changes: it must never see half of it.
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, this.file);
    this.last = text;
    return true;
  }
}
