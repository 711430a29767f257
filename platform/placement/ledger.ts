/**
 * Placement with resource locks: which node, NUMA node and cores each task of an environment gets, and
 * why (docs/platform.md "Placement").
 *
 * - A task's cores come from one NUMA node, and its memory request from that node's memory (locality).
 * - `links: [N]` puts a task on the node whose device (a readout board) carries link N, on that device's
 *   NUMA node: a readout lands where its fibre ends. A link no registered node's device carries (an
 *   emulated link, the single-machine testbed) leaves the task free, and its reason says so. Links on
 *   boards of different nodes, or a `near`/`numa` that contradicts the board, fail with the reason.
 * - `near: <device>` puts it on the node holding the device, on the device's NUMA node; `numa: N` on
 *   NUMA node N of any node.
 * - Among the nodes that fit, tasks of one role spread: the node with the fewest tasks of that role of
 *   the environment first (a role may ask `placement: pack` instead), so one node's loss never takes a
 *   whole consumer group; then the best fit (the NUMA node with the fewest free cores that still fit),
 *   so large requests later still find room.
 * - `cores: 0` asks for no cores of its own: a light task that shares its NUMA node's cores (memory is
 *   still counted and bound there). Dedicated cores are never given twice (docs/decisions.md).
 * - All or nothing: an environment is placed whole or not at all, with a reason per task that did not
 *   fit. No core is ever locked by two tasks; locks are released on RESET/EXIT or when a node is lost.
 */
import { DaqError } from '../../protocol/errors.js';
import type { NodeTopology } from '../../protocol/agent-link.js';
import {
  candidatesOf,
  linkHomes,
  pickBest,
  RoleCounts,
  type LinkHomes,
  type NodeState,
  type NumaState,
} from './candidates.js';

export interface PlacementRequest {
  readonly task: string;
  readonly cores: number;
  readonly numa?: number | undefined;
  readonly near?: string | undefined;
  readonly memoryMiB: number;
  /** Readout links the task reads: it goes where the board carrying them is. */
  readonly links?: readonly number[] | undefined;
  /** Its role in the template: tasks of one role spread across nodes unless `spread` is false. */
  readonly role?: string | undefined;
  readonly spread?: boolean | undefined;
}

export interface Placed {
  readonly task: string;
  readonly node: string;
  readonly numa: number;
  readonly cpus: readonly number[];
  readonly memoryMiB: number;
  readonly role?: string | undefined;
  /** Why there, for the operator: "link 1 → board-b on node-b, NUMA 0", "spread: …", "best fit". */
  readonly reason?: string | undefined;
}

export class ResourceLedger {
  private readonly nodes = new Map<string, NodeState>();
  private readonly byEnv = new Map<string, Placed[]>();
  /** Drained nodes: their tasks keep their locks, and no new task is placed there. */
  private readonly cordoned = new Set<string>();

  /** A drained node takes no new task (`false`: uncordoned, it takes tasks again). */
  cordon(node: string, on = true): void {
    if (on) this.cordoned.add(node);
    else this.cordoned.delete(node);
  }

  isCordoned(node: string): boolean {
    return this.cordoned.has(node);
  }

  /** Which nodes a link is wired to (their boards), for what cannot leave a node. */
  linkNodes(link: number): string[] {
    return [...new Set((linkHomes(this.nodes).get(link) ?? []).map((h) => h.node))];
  }

  /**
   * Adds or refreshes a node's resources (an agent registered). The locks on it are rebuilt from the
   * environments' placements, so a node that comes back — or registers with a platform that reloaded its
   * placements from the store — has exactly the cores and memory of the tasks placed there locked.
   */
  addNode(t: NodeTopology): void {
    const numa = new Map<number, NumaState>();
    for (const n of t.numa)
      numa.set(n.id, {
        id: n.id,
        cpus: n.cpus,
        memoryMiB: Math.floor(n.memoryBytes / 1024 ** 2),
        owner: new Map<number, string>(),
        usedMemoryMiB: 0,
      });
    this.nodes.set(t.node, { topology: t, numa });
    for (const [env, placed] of this.byEnv) for (const p of placed) if (p.node === t.node) this.lock(env, p);
  }

  /**
   * Takes back an environment's placement as the store recorded it (platform restart). Its cores and
   * memory are locked on the nodes known now and on the others as they register.
   */
  restore(env: string, placed: readonly Placed[]): void {
    this.release(env);
    this.byEnv.set(env, [...placed]);
    for (const p of placed) this.lock(env, p);
  }

  /** Forgets a node (lost agent); returns the environments that had tasks there (their locks are gone). */
  removeNode(node: string): string[] {
    this.nodes.delete(node);
    const hit: string[] = [];
    for (const [env, placed] of this.byEnv) {
      const keep = placed.filter((p) => p.node !== node);
      if (keep.length !== placed.length) {
        hit.push(env);
        this.byEnv.set(env, keep);
      }
    }
    return hit;
  }

  placement(env: string): readonly Placed[] {
    return this.byEnv.get(env) ?? [];
  }

  /** Places every request of an environment or none; throws PLACEMENT_FAILED with a reason per task. */
  allocate(env: string, requests: readonly PlacementRequest[]): Placed[] {
    if (this.byEnv.has(env))
      throw new DaqError(
        'PLACEMENT_FAILED',
        `environment ${env} already holds resources; release them first`,
        { field: 'environment' },
      );
    // Most constrained first: pinned to a device, then to a NUMA node, then by size.
    const order = [...requests].sort(
      (a, b) => rank(a) - rank(b) || b.cores - a.cores || a.task.localeCompare(b.task),
    );
    const placed: Placed[] = [];
    const problems: string[] = [];
    const homes = linkHomes(this.nodes);
    const roles = new RoleCounts();
    for (const r of order) {
      const p = this.placeOne(env, r, homes, roles);
      if (typeof p === 'string') problems.push(`${r.task}: ${p}`);
      else {
        placed.push(p);
        roles.add(r.role, p.node);
      }
    }
    if (problems.length > 0) {
      for (const p of placed) this.unlock(env, p);
      throw new DaqError(
        'PLACEMENT_FAILED',
        `environment ${env} cannot be placed:\n  ${problems.join('\n  ')}`,
        { field: 'resources' },
      );
    }
    const byTask = new Map(placed.map((p) => [p.task, p]));
    const inOrder = requests.map((r) => byTask.get(r.task)!);
    this.byEnv.set(env, inOrder);
    return inOrder;
  }

  /**
   * Places one task of an environment again, away from `avoid` (a lost node): the same request, a new
   * place; its old locks are released. Throws PLACEMENT_FAILED (keeping the old place) when nothing fits.
   */
  move(env: string, task: string, avoid: string, request: PlacementRequest): Placed {
    const placed = this.byEnv.get(env) ?? [];
    const old = placed.find((p) => p.task === task);
    if (old !== undefined) this.unlock(env, old);
    const roles = new RoleCounts();
    for (const x of placed) if (x.task !== task) roles.add(x.role, x.node);
    const p = this.placeOne(env, request, linkHomes(this.nodes), roles, avoid);
    if (typeof p === 'string') {
      if (old !== undefined) this.lock(env, old);
      throw new DaqError('PLACEMENT_FAILED', `task ${task} of ${env} cannot be moved off ${avoid}: ${p}`, {
        field: 'resources',
      });
    }
    this.byEnv.set(env, [...placed.filter((x) => x.task !== task), p]);
    return p;
  }

  /** Releases everything an environment holds. */
  release(env: string): void {
    for (const p of this.byEnv.get(env) ?? []) this.unlock(env, p);
    this.byEnv.delete(env);
  }

  /** Free cores per node and NUMA node, for status views. */
  free(): { node: string; numa: number; freeCores: number; freeMemoryMiB: number }[] {
    const out: { node: string; numa: number; freeCores: number; freeMemoryMiB: number }[] = [];
    for (const [node, s] of this.nodes) {
      for (const n of s.numa.values())
        out.push({
          node,
          numa: n.id,
          freeCores: n.cpus.length - n.owner.size,
          freeMemoryMiB: n.memoryMiB - n.usedMemoryMiB,
        });
    }
    return out;
  }

  private placeOne(
    env: string,
    r: PlacementRequest,
    homes: LinkHomes,
    roles: RoleCounts,
    avoid?: string,
  ): Placed | string {
    const c = candidatesOf(this.nodes, this.cordoned, r, homes, avoid);
    if (typeof c === 'string') return c;
    const { candidates, why } = c;
    const spread = r.spread !== false && r.role !== undefined;
    const free = (x: { numa: NumaState }): number => x.numa.cpus.length - x.numa.owner.size;
    const fitting = candidates.filter(
      (x) => free(x) >= r.cores && x.numa.memoryMiB - x.numa.usedMemoryMiB >= r.memoryMiB,
    );
    const best = pickBest(fitting, free, spread ? (node) => roles.count(r.role, node) : () => 0);
    if (best === undefined) {
      const most = Math.max(...candidates.map(free));
      const where =
        why.length > 0 ? ` (${why.join('; ')})` : r.numa !== undefined ? ` on NUMA node ${r.numa}` : '';
      return `needs ${r.cores} core(s) and ${r.memoryMiB} MiB${where}; at most ${most} free core(s) in one NUMA node`;
    }
    const nodesThatFit = new Set(fitting.map((x) => x.node)).size;
    if (nodesThatFit > 1) {
      if (spread)
        why.push(
          `spread: ${roles.count(r.role, best.node)} other ${r.role} task(s) on ${best.node}, the fewest of the ${nodesThatFit} nodes that fit`,
        );
      else why.push(`packed: best fit of ${nodesThatFit} nodes`);
    } else if (!c.fixed) why.push('the only node that fits');
    const cpus = best.numa.cpus.filter((x) => !best.numa.owner.has(x)).slice(0, r.cores);
    const placed: Placed = {
      task: r.task,
      node: best.node,
      numa: best.numa.id,
      cpus,
      memoryMiB: r.memoryMiB,
      role: r.role,
      reason: `${best.node}, NUMA ${best.numa.id}: ${why.join('; ')}`,
    };
    this.lock(env, placed);
    return placed;
  }

  private lock(env: string, p: Placed): void {
    const n = this.nodes.get(p.node)?.numa.get(p.numa);
    if (n === undefined) return;
    for (const c of p.cpus) n.owner.set(c, `${env}/${p.task}`);
    n.usedMemoryMiB += p.memoryMiB;
  }

  private unlock(env: string, p: Placed): void {
    const n = this.nodes.get(p.node)?.numa.get(p.numa);
    if (n === undefined) return;
    for (const c of p.cpus) if (n.owner.get(c) === `${env}/${p.task}`) n.owner.delete(c);
    n.usedMemoryMiB = Math.max(0, n.usedMemoryMiB - p.memoryMiB);
  }
}

function rank(r: PlacementRequest): number {
  return (r.links?.length ?? 0) > 0 || r.near !== undefined ? 0 : r.numa !== undefined ? 1 : 2;
}
