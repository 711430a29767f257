/**
 * An environment's dataflow as a graph for the shift crew's page: its tasks in their template's role order
 * (stages), the Kafka topics between them, and the rate on each edge from the task's own
 * `daq_dataflow_bytes_total` counters. A readout's edge is its links' — the links its template names
 * (`resources.links`), never read from its name.
 */
import type { DataflowRates } from '../monitoring/rates.js';
import type { WorkflowTemplate } from '../workflow/template.js';

export interface GraphNode {
  readonly id: string;
  readonly kind: 'task' | 'topic';
  /** Where it is drawn, left to right: tasks at even columns by stage, topics between. */
  readonly column: number;
  readonly workload?: string;
  readonly links?: readonly number[];
}

export interface GraphEdge {
  readonly source: string;
  readonly target: string;
  readonly bytesPerSecond: number;
}

/** What each workload kind reads and writes, and the counter (`source>target`) its edge is read from. */
const IO: Readonly<
  Record<
    string,
    {
      readonly reads?: readonly [topic: string, counter: string];
      readonly writes?: readonly [topic: string, counter: string];
    }
  >
> = {
  readout: { writes: ['raw-hits', 'link>raw-hits'] },
  processor: { reads: ['raw-hits', 'raw-hits>processors'], writes: ['events', 'processors>events'] },
  writer: { reads: ['events', 'events>writer'] },
};

export function dataflowGraph(
  template: WorkflowTemplate,
  rates: Pick<DataflowRates, 'taskEdges'>,
): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const roles = [...new Set(template.tasks.map((t) => t.role))];
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const topics = new Map<string, number>();
  const rate = (task: string, counter: string, links: readonly number[]): number => {
    const [source, target] = counter.split('>') as [string, string];
    return rates.taskEdges
      .filter(
        (e) =>
          e.task === task &&
          e.target === target &&
          (source === 'link' ? links.some((l) => e.source === `link-${l}`) : e.source === source),
      )
      .reduce((n, e) => n + e.bytesPerSecond, 0);
  };
  for (const t of template.tasks) {
    const stage = roles.indexOf(t.role);
    const links = t.resources.links;
    nodes.push({ id: t.name, kind: 'task', column: 2 * stage, workload: t.workload, links });
    const io = IO[t.workload] ?? {};
    if (io.writes !== undefined) {
      const [topic, counter] = io.writes;
      topics.set(topic, Math.min(topics.get(topic) ?? Infinity, 2 * stage + 1));
      edges.push({ source: t.name, target: topic, bytesPerSecond: rate(t.name, counter, links) });
    }
    if (io.reads !== undefined) {
      const [topic, counter] = io.reads;
      if (!topics.has(topic)) topics.set(topic, 2 * stage - 1);
      edges.push({ source: topic, target: t.name, bytesPerSecond: rate(t.name, counter, links) });
    }
  }
  for (const [topic, column] of topics) nodes.push({ id: topic, kind: 'topic', column });
  return { nodes, edges };
}
