import os from 'node:os';
import type { NodeInfo } from '../../../comfy/protocol.js';
import type { HealthMonitor } from '../../../fleet/health/index.js';
import type { InstanceRegistry } from '../../../fleet/index.js';

/** The fleet as the drop-in routes read it: the registry and the monitor's cached figures. */
export interface FleetSource {
  registry: InstanceRegistry;
  monitor: HealthMonitor;
}

/** Instances whose capabilities count: healthy or degraded (answering). */
export function usableInstanceIds(fleet: FleetSource): string[] {
  return fleet.registry
    .list()
    .map((i) => i.id)
    .filter((id) => {
      const h = fleet.monitor.health(id).health;
      return h === 'healthy' || h === 'degraded';
    });
}

function unionList(a: unknown[], b: unknown[]): unknown[] {
  const out = [...a];
  const seen = new Set(a.map((v) => JSON.stringify(v)));
  for (const v of b) {
    const k = JSON.stringify(v);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(v);
    }
  }
  return out;
}

/** Merges a combo input spec: the option lists of both instances (a model on either is runnable). */
function mergeSpec(a: unknown, b: unknown): unknown {
  if (!Array.isArray(a) || !Array.isArray(b)) return a;
  const [ha, oa] = a as [unknown, unknown];
  const [hb, ob] = b as [unknown, unknown];
  if (Array.isArray(ha) && Array.isArray(hb)) return [unionList(ha, hb), ...a.slice(1)];
  if (ha === 'COMBO' && hb === 'COMBO' && isObject(oa) && isObject(ob)) {
    const la = Array.isArray(oa.options) ? oa.options : [];
    const lb = Array.isArray(ob.options) ? ob.options : [];
    return ['COMBO', { ...oa, options: unionList(la, lb) }, ...a.slice(2)];
  }
  return a;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function mergeNode(a: NodeInfo, b: NodeInfo): NodeInfo {
  const input = structuredClone(a.input);
  for (const section of ['required', 'optional'] as const) {
    const sa = input[section];
    const sb = b.input[section];
    if (!sa || !sb) continue;
    for (const [name, spec] of Object.entries(sb)) {
      const mine = sa[name];
      sa[name] = (mine === undefined ? spec : mergeSpec(mine, spec)) as typeof spec;
    }
  }
  return { ...a, input };
}

/**
 * What the fleet can run: the union of the usable instances' `/object_info` (combo lists merged,
 * so a model file on any instance validates). With `lastKnown`, when no usable instance has
 * known capabilities (the whole fleet down or flapping for a moment), the last known ones of the
 * enabled instances: a prompt is then validated as the fleet was, and waits in the gateway.
 *
 * @example
 * const info = mergedObjectInfo({ registry, monitor }); // { KSampler: {...}, ... }
 */
export function mergedObjectInfo(
  fleet: FleetSource,
  options: { lastKnown?: boolean } = {},
): Record<string, NodeInfo> {
  const usable = usableInstanceIds(fleet).filter((id) => fleet.monitor.capabilities(id));
  const ids =
    usable.length === 0 && options.lastKnown === true
      ? fleet.registry
          .list()
          .filter((i) => i.enabled !== false)
          .map((i) => i.id)
      : usable;
  const out: Record<string, NodeInfo> = {};
  for (const id of ids) {
    const caps = fleet.monitor.capabilities(id);
    if (!caps) continue;
    for (const [name, info] of Object.entries(caps.node_classes)) {
      const have = out[name];
      out[name] = have ? mergeNode(have, info) : info;
    }
  }
  return out;
}

/** Model folders of the usable instances, each a sorted union of file names. */
export function mergedModels(fleet: FleetSource): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const id of usableInstanceIds(fleet)) {
    const caps = fleet.monitor.capabilities(id);
    if (!caps) continue;
    for (const [folder, files] of Object.entries(caps.models)) {
      let set = out.get(folder);
      if (!set) {
        set = new Set();
        out.set(folder, set);
      }
      for (const f of files) set.add(f);
    }
  }
  return new Map([...out].map(([k, v]) => [k, [...v].sort()]));
}

/**
 * `/system_stats` for the whole fleet: the gateway's own system block and every usable
 * instance's devices, named `<instance name>: <device name>`.
 *
 * @example
 * systemStats(fleet, '0.1.0').devices.length; // one per GPU in the fleet
 */
export function systemStats(
  fleet: FleetSource,
  version: string,
): { system: Record<string, unknown>; devices: Array<Record<string, unknown>> } {
  const devices: Array<Record<string, unknown>> = [];
  let comfyVersion: string | null = null;
  let python: string | null = null;
  let pytorch: string | null = null;
  const names = new Map(fleet.registry.list().map((i) => [i.id, i.name]));
  for (const id of usableInstanceIds(fleet)) {
    const report = fleet.monitor.report(id);
    if (!report) continue;
    comfyVersion ??= report.comfyui_version ?? null;
    python ??= report.python_version;
    pytorch ??= report.pytorch_version;
    for (const d of report.devices) {
      devices.push({
        name: `${names.get(id) ?? id}: ${d.name}`,
        type: d.type,
        index: d.index,
        vram_total: d.vram_total,
        vram_free: d.vram_free,
        torch_vram_total: 0,
        torch_vram_free: 0,
      });
    }
  }
  return {
    system: {
      os: process.platform,
      ram_total: os.totalmem(),
      ram_free: os.freemem(),
      comfyui_version: comfyVersion ?? '0.8.0',
      required_frontend_version: null,
      installed_templates_version: null,
      required_templates_version: null,
      comfy_package_versions: [],
      python_version: python ?? '',
      pytorch_version: pytorch ?? '',
      embedded_python: false,
      deploy_environment: `comfy-cluster ${version}`,
      argv: ['comfy-cluster'],
    },
    devices,
  };
}
