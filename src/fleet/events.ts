import type { InstanceStatus } from './instance.js';
import type { PublicInstance } from './redact.js';

/** An instance as the registry shows it: public fields plus runtime state. No secrets. */
export type InstanceView = PublicInstance & {
  status: InstanceStatus;
  /** Why the status is what it is (e.g. the supervisor's error), or null. */
  status_reason: string | null;
  /** True for the instance clients pinned to "active" use. */
  active: boolean;
  /** For env instances: the variable it came from (`COMFYUI_HOST_2`); null otherwise. */
  origin: string | null;
};

/** Events the fleet publishes on the bus. Payloads carry no secrets. */
export type FleetEvents = {
  'instance.added': { instance: InstanceView };
  /** `changes` lists the fields that changed (config fields; `status` has its own event). */
  'instance.changed': { instance: InstanceView; changes: string[] };
  'instance.removed': { id: string; name: string };
  'instance.status': {
    id: string;
    status: InstanceStatus;
    previous: InstanceStatus;
    reason: string | null;
  };
  'instance.active': { id: string | null; previous: string | null };
};
