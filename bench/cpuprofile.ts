/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self and inclusive time by function and by
 * area (a package under node_modules, a folder of this repository, Node's internals, GC, idle).
 * `node dist/bench/cpuprofile.js FILE [top]` prints the tables; `bench/profile.ts` uses it too.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const profileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
      children: z.array(z.number()).optional(),
    }),
  ),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

export interface ProfileRow {
  readonly name: string;
  readonly selfMs: number;
  readonly totalMs: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly byFunction: ProfileRow[];
  readonly byArea: ProfileRow[];
  /**
   * Self time charged to the nearest caller outside Node itself (a package or a folder of this
   * repository): what each part of the stack costs including the Node work it asks for (socket
   * writes, crypto, buffers). GC and the event loop's own work stay separate.
   */
  readonly byOwner: ProfileRow[];
}

/** Which part of the process a script URL belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const internal = /^node:(?:internal\/)?([^/]+)/.exec(url);
  if (internal) return `node:${internal[1]!}`;
  const repo = /\/dist\/((?:dev|shared)\/[^/]+|functions|bench)\//.exec(url);
  if (repo) return repo[1]!;
  return url.replace(/^file:\/\//, '');
}

export function summariseProfile(file: string): ProfileSummary {
  const profile = profileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  const parent = new Map<number, number>();
  const byId = new Map<number, (typeof profile.nodes)[number]>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const functionKey = (id: number): string => {
    const frame = byId.get(id)!.callFrame;
    const short = frame.url.replace(/^.*\/(node_modules|dist)\//, '$1/').replace(/^file:\/\//, '');
    return `${frame.functionName || '(anonymous)'} ${short}:${frame.lineNumber + 1}`;
  };
  const areaKey = (id: number): string => {
    const frame = byId.get(id)!.callFrame;
    return areaOf(frame.url, frame.functionName);
  };

  const self = { fn: new Map<string, number>(), area: new Map<string, number>(), owner: new Map<string, number>() };
  const isNodeArea = (area: string) => area.startsWith('node:') || area === '(native)';
  const ownerOf = (id: number): string => {
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const area = areaKey(node);
      if (!isNodeArea(area) && area !== '(root)') return area;
    }
    return `node (${areaKey(id)})`;
  };
  const total = { fn: new Map<string, number>(), area: new Map<string, number>() };
  const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
  let totalMs = 0;
  let idleMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += ms;
    const leaf = byId.get(id);
    if (!leaf) return;
    if (leaf.callFrame.functionName === '(idle)') {
      idleMs += ms;
      return;
    }
    add(self.fn, functionKey(id), ms);
    add(self.area, areaKey(id), ms);
    add(self.owner, ownerOf(id), ms);
    // Inclusive: every distinct function and area on the stack once (recursion counted once).
    const seenFn = new Set<string>();
    const seenArea = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const fn = functionKey(node);
      const area = areaKey(node);
      if (!seenFn.has(fn)) {
        seenFn.add(fn);
        add(total.fn, fn, ms);
      }
      if (!seenArea.has(area)) {
        seenArea.add(area);
        add(total.area, area, ms);
      }
    }
  });
  const rows = (selfMap: Map<string, number>, totalMap: Map<string, number>): ProfileRow[] =>
    [...totalMap.keys()]
      .map((name) => ({ name, selfMs: selfMap.get(name) ?? 0, totalMs: totalMap.get(name) ?? 0 }))
      .sort((a, b) => b.selfMs - a.selfMs);
  return {
    totalMs,
    idleMs,
    byFunction: rows(self.fn, total.fn),
    byArea: rows(self.area, total.area),
    byOwner: [...self.owner].map(([name, ms]) => ({ name, selfMs: ms, totalMs: ms })).sort((a, b) => b.selfMs - a.selfMs),
  };
}

export function formatSummary(summary: ProfileSummary, top = 40): string {
  const busy = summary.totalMs - summary.idleMs;
  const pct = (ms: number) => `${((ms / busy) * 100).toFixed(1).padStart(5)}%`;
  const lines = [`profile ${summary.totalMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms, busy ${busy.toFixed(0)} ms (percentages of busy)`];
  lines.push('', 'by owner (nearest caller outside Node)');
  for (const row of summary.byOwner.slice(0, 25)) lines.push(`${pct(row.selfMs)}  ${row.name}`);
  lines.push('', 'by area: self / inclusive');
  for (const row of summary.byArea.slice(0, 30)) lines.push(`${pct(row.selfMs)} ${pct(row.totalMs)}  ${row.name}`);
  lines.push('', 'by function: self / inclusive');
  for (const row of summary.byFunction.slice(0, top)) lines.push(`${pct(row.selfMs)} ${pct(row.totalMs)}  ${row.name}`);
  lines.push('', 'by function, inclusive');
  for (const row of [...summary.byFunction].sort((a, b) => b.totalMs - a.totalMs).slice(0, top)) {
    lines.push(`${pct(row.selfMs)} ${pct(row.totalMs)}  ${row.name}`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node dist/bench/cpuprofile.js FILE.cpuprofile [top]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatSummary(summariseProfile(file), top ? Number(top) : 40)}\n`);
}
