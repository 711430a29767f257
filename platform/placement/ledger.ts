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

/** Where each advertised link ends: the node and device, and the device's NUMA node. */
type LinkHomes = Map<number, { node: string; device: string; numaNode: number | undefined }[]>;

interface NumaState {
  readonly id: number;
  readonly cpus: readonly number[];
  readonly memoryMiB: number;
  /** cpu → owner key "env/task" */
  readonly owner: Map<number, string>;
  usedMemoryMiB: number;
}

interface NodeState {
  readonly topology: NodeTopology;
  readonly numa: Map<number, NumaState>;
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
    return [...new Set((this.linkHomes().get(link) ?? []).map((h) => h.node))];
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
    const homes = this.linkHomes();
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
    const p = this.placeOne(env, request, this.linkHomes(), roles, avoid);
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

  /** Every link the registered nodes' devices carry, and where. */
  private linkHomes(): LinkHomes {
    const homes: LinkHomes = new Map();
    for (const [node, st] of this.nodes)
      for (const d of st.topology.devices)
        for (const l of d.links) {
          let at = homes.get(l);
          if (at === undefined) homes.set(l, (at = []));
          at.push({ node, device: d.name, numaNode: d.numaNode });
        }
    return homes;
  }

  /**
   * Where a request may go before fit is counted: the (node, NUMA node) pairs its links, `near` and
   * `numa` allow, and what fixed them; or why none can.
   */
  private candidatesOf(
    r: PlacementRequest,
    homes: LinkHomes,
    avoid: string | undefined,
  ): { candidates: { node: string; numa: NumaState }[]; why: string[]; fixed: boolean } | string {
    const why: string[] = [];
    const links = r.links ?? [];
    const wired = links.filter((l) => homes.has(l));
    const unwired = links.filter((l) => !homes.has(l));
    // node → the NUMA nodes its boards put the links on (undefined: any)
    let allowed: Map<string, Set<number> | undefined> | undefined;
    if (wired.length > 0) {
      if (unwired.length > 0)
        return `link(s) ${unwired.join(', ')} on no node's board while link(s) ${wired.join(', ')} are wired (${describeHomes(wired, homes)})`;
      allowed = new Map();
      const [first, ...rest] = wired;
      for (const h of homes.get(first!)!) {
        if (h.node === avoid) continue;
        if (!rest.every((l) => homes.get(l)!.some((x) => x.node === h.node))) continue;
        const numas = wired.flatMap((l) =>
          homes
            .get(l)!
            .filter((x) => x.node === h.node)
            .map((x) => x.numaNode),
        );
        allowed.set(h.node, numas.some((n) => n === undefined) ? undefined : new Set(numas as number[]));
      }
      if (allowed.size === 0)
        return homes.get(first!)!.every((h) => h.node === avoid)
          ? `link(s) ${wired.join(', ')} are wired only to node ${avoid}, which it is leaving`
          : `link(s) ${wired.join(', ')} are on boards of different nodes (${describeHomes(wired, homes)})`;
      why.push(describeHomes(wired, homes, (n) => allowed!.has(n)));
    } else if (unwired.length > 0) {
      why.push(`link(s) ${unwired.join(', ')} on no registered node's board (emulated)`);
    }
    if (r.near !== undefined) {
      const near = new Map<string, Set<number> | undefined>();
      for (const [node, st] of this.nodes) {
        if (node === avoid) continue;
        const dev = st.topology.devices.find((d) => d.name === r.near);
        if (dev !== undefined)
          near.set(node, dev.numaNode === undefined ? undefined : new Set([dev.numaNode]));
      }
      if (near.size === 0) return `no node has device ${r.near}`;
      if (allowed !== undefined) {
        for (const node of [...allowed.keys()]) if (!near.has(node)) allowed.delete(node);
        if (allowed.size === 0) return `near ${r.near} contradicts its links: ${describeHomes(wired, homes)}`;
      } else {
        allowed = near;
        why.push(`near ${r.near}`);
      }
    }
    const candidates: { node: string; numa: NumaState }[] = [];
    for (const [node, st] of this.nodes) {
      if (node === avoid || this.cordoned.has(node)) continue;
      const numas = allowed === undefined ? undefined : allowed.get(node);
      if (allowed !== undefined && !allowed.has(node)) continue;
      for (const n of st.numa.values()) {
        if (numas !== undefined && !numas.has(n.id)) continue;
        if (r.numa !== undefined && n.id !== r.numa) continue;
        candidates.push({ node, numa: n });
      }
    }
    if (candidates.length === 0) {
      const drained = [...(allowed?.keys() ?? this.nodes.keys())].filter((n) => this.cordoned.has(n));
      if (drained.length > 0 && drained.length === (allowed?.size ?? this.nodes.size))
        return `every node it may go to is drained (${drained.join(', ')})`;
      if (r.numa !== undefined && allowed !== undefined)
        return `NUMA node ${r.numa} contradicts where it must go (${why.join('; ')})`;
      if (r.numa !== undefined) return `no node has NUMA node ${r.numa}`;
      return 'no node is registered';
    }
    if (r.numa !== undefined) why.push(`NUMA ${r.numa} as asked`);
    return { candidates, why, fixed: allowed !== undefined || r.numa !== undefined };
  }

  private placeOne(
    env: string,
    r: PlacementRequest,
    homes: LinkHomes,
    roles: RoleCounts,
    avoid?: string,
  ): Placed | string {
    const c = this.candidatesOf(r, homes, avoid);
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

/** Tasks of each role per node, as an environment is placed. */
class RoleCounts {
  private readonly counts = new Map<string, Map<string, number>>();

  add(role: string | undefined, node: string): void {
    if (role === undefined) return;
    let m = this.counts.get(role);
    if (m === undefined) this.counts.set(role, (m = new Map<string, number>()));
    m.set(node, (m.get(node) ?? 0) + 1);
  }

  count(role: string | undefined, node: string): number {
    return role === undefined ? 0 : (this.counts.get(role)?.get(node) ?? 0);
  }
}

/**
 * The candidate to take: the fewest tasks of the role on its node first when spreading, then the best fit
 * (fewest free cores that still fit), then by name for a stable answer. One pass, no sort: a control-plane
 * bench places 10,000 tasks over 100 nodes.
 */
function pickBest<T extends { node: string; numa: NumaState }>(
  fitting: readonly T[],
  free: (x: T) => number,
  roleCount: (node: string) => number,
): T | undefined {
  const counts = new Map<string, number>();
  const countOf = (node: string): number => {
    let c = counts.get(node);
    if (c === undefined) counts.set(node, (c = roleCount(node)));
    return c;
  };
  const before = (a: T, b: T): boolean =>
    (countOf(a.node) - countOf(b.node) ||
      free(a) - free(b) ||
      a.node.localeCompare(b.node) ||
      a.numa.id - b.numa.id) < 0;
  let best: T | undefined;
  for (const x of fitting) if (best === undefined || before(x, best)) best = x;
  return best;
}

/** "link 1 → board-b on node-b (NUMA 0)", for each link, on the nodes `keep` allows. */
function describeHomes(
  links: readonly number[],
  homes: LinkHomes,
  keep: (node: string) => boolean = () => true,
): string {
  return links
    .map((l) =>
      (homes.get(l) ?? [])
        .filter((h) => keep(h.node))
        .map(
          (h) =>
            `link ${l} → ${h.device} on ${h.node}${h.numaNode === undefined ? '' : ` (NUMA ${h.numaNode})`}`,
        )
        .join(', '),
    )
    .join(', ');
}
