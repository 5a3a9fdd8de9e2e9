/**
 * Shapes of the gateway's REST API as the dashboard reads them: the SDK's wire types
 * (src/client/types.ts) are their one home; this file re-exports them under the dashboard's names.
 */
export type * from '../../../src/client/types.js';
export {
  INSTANCE_HEALTH_STATES,
  INSTANCE_STATUSES,
  JOB_STATUSES,
} from '../../../src/client/types.js';
