/**
 * An environment's dataflow as the correlator sees it: each task with its stage (the template's roles are
 * listed upstream first: readout → processing → storage, and every task of one role feeds every task of
 * the next through Kafka), its node and its readout links. Kafka is upstream of every task (all data and
 * offsets pass through it), a node of everything on it; the environment itself is the least specific.
 */
import type { Component } from './types.js';

export interface TopologyTask {
  readonly name: string;
  readonly workload: string;
  readonly node: string;
  readonly stage: number;
  readonly links: readonly number[];
}

export class DataflowTopology {
  private readonly byName: ReadonlyMap<string, TopologyTask>;

  constructor(
    readonly environment: string,
    readonly tasks: readonly TopologyTask[],
  ) {
    this.byName = new Map(tasks.map((t) => [t.name, t]));
  }

  task(name: string): TopologyTask | undefined {
    return this.byName.get(name);
  }

  /** The tasks a component stands for. */
  tasksOf(c: Component): TopologyTask[] {
    switch (c.kind) {
      case 'task':
        return this.tasks.filter((t) => t.name === c.id);
      case 'link':
        return this.tasks.filter((t) => t.links.includes(Number(c.id)));
      case 'node':
        return this.tasks.filter((t) => t.node === c.id);
      case 'environment':
      case 'kafka':
        return [...this.tasks];
    }
  }

  /**
   * How far downstream: Kafka −2 (every stage reads and writes through it), a node −1 (it carries its
   * tasks), a task its stage, the environment last.
   */
  depth(c: Component): number {
    if (c.kind === 'kafka') return -2;
    if (c.kind === 'node') return -1;
    if (c.kind === 'environment') return Number.MAX_SAFE_INTEGER;
    const stages = this.tasksOf(c).map((t) => t.stage);
    return stages.length === 0 ? Number.MAX_SAFE_INTEGER - 1 : Math.min(...stages);
  }

  /**
   * Whether a fault of one could show as a symptom of the other: the same task, one upstream of the other
   * in the dataflow, two consumers of the same stage (one consumer group: a crash moves partitions to the
   * others), a node and a task on it, Kafka and anything, or the environment and anything in it. Two sources (readout links,
   * stage 0) are independent of each other.
   */
  connected(a: Component, b: Component): boolean {
    if (a.kind === 'environment' || b.kind === 'environment') return true;
    if (a.kind === 'kafka' || b.kind === 'kafka') return true;
    if (a.kind === 'node' || b.kind === 'node') {
      if (a.kind === 'node' && b.kind === 'node') return a.id === b.id;
      const [node, other] = a.kind === 'node' ? [a, b] : [b, a];
      return this.tasksOf(other).some((t) => t.node === node.id);
    }
    const ta = this.tasksOf(a);
    const tb = this.tasksOf(b);
    return ta.some((x) => tb.some((y) => x.name === y.name || x.stage !== y.stage || x.stage > 0));
  }
}
