/**
 * supervisor/: installing ComfyUI and custom nodes, GPU detection, the per-GPU instance plan,
 * spawning and restarting local instances, and the PM2 ecosystem export.
 */
export {
  type CustomNodeList,
  type CustomNodeSpec,
  CustomNodeSpecError,
  type CustomNodeSpecOptions,
  parseCustomNodeList,
  parseCustomNodeSpec,
} from './custom-node-spec.js';
export { emulatorCommand } from './emulator-command.js';
export { type ExitCleanupOptions, installExitCleanup, type Stoppable } from './exit-cleanup.js';
export {
  ForeignModelPathsError,
  MODEL_FOLDERS,
  renderExtraModelPaths,
  syncExtraModelPaths,
} from './extra-model-paths.js';
export { FleetBridge, type FleetBridgeOptions, type FleetStatusSink } from './fleet-bridge.js';
export { createInstanceDirs, fleetEntry, type PlannedFleetEntry } from './fleet-entry.js';
export {
  type DetectGpusOptions,
  detectGpus,
  type GpuDetection,
  type GpuInfo,
  type GpuSource,
  NVIDIA_SMI_ARGS,
  type NvidiaSmiParse,
  parseNvidiaSmiCsv,
} from './gpu-detect.js';
export { InstallLockedError, InstallStepError } from './install-error.js';
export {
  defaultInstallDir,
  type InstallFlags,
  InstallOptionsError,
  type ResolvedInstall,
  resolveInstallOptions,
  supervisorDataDir,
} from './install-options.js';
export type { InstallFailure, InstallState } from './install-state.js';
export {
  CPU_TORCH_INDEX,
  DEFAULT_COMFYUI_REPO,
  DEFAULT_TORCH_INDEX,
  type TorchChoice,
} from './install-steps.js';
export {
  assertInstalled,
  type CustomNodeStatus,
  type InstallationStatus,
  installationStatus,
  NotInstalledError,
} from './installation-status.js';
export {
  DATA_DIRS,
  finishInterruptedSwitch,
  type InstallOptions,
  type InstallProgress,
  type InstallReport,
  installComfyUI,
  previousDir,
  type StepStatus,
  stagingDir,
} from './installer.js';
export {
  connectHost,
  DEFAULT_LISTEN,
  DEFAULT_PORT_START,
  type InstanceDirs,
  type InstancePlan,
  type PlanDevices,
  PlanError,
  type PlannedInstance,
  type PlanSettings,
  planInstances,
  venvPython,
} from './instance-plan.js';
export {
  createLocalSupervisor,
  type LocalFleetOptions,
  type LocalFleetPlan,
  planLocalFleet,
} from './local-fleet.js';
export {
  type ManagedFleet,
  ManagedFleetError,
  type ManagedFleetOptions,
  type StallSource,
  startManagedFleet,
} from './managed-fleet.js';
export {
  type ExitInfo,
  ManagedProcess,
  ManagedProcessError,
  type ManagedProcessErrorCode,
  type ManagedProcessEvents,
  type ManagedProcessOptions,
  type ManagedProcessState,
  type ProcessStatus,
  type ReadinessCheck,
  type RestartPolicy,
  type StatusChange,
} from './managed-process.js';
export type { LeftoverCleanup, PidRecord } from './pid-file.js';
export {
  type Pm2App,
  type Pm2Ecosystem,
  type Pm2Export,
  type Pm2Options,
  pm2Ecosystem,
  renderEcosystemFile,
} from './pm2-ecosystem.js';
export { assertPortFree, findPortHolder, type PortHolder, PortInUseError } from './port-check.js';
export {
  type LogLine,
  type LogStream,
  RotatingLog,
  type RotatingLogOptions,
} from './rotating-log.js';
export {
  type StallDecision,
  StallEscalation,
  type StallEscalationOptions,
} from './stall-escalation.js';
export {
  type ManagedInstanceController,
  type ManagedInstanceState,
  type StartAllResult,
  Supervisor,
  type SupervisorBus,
  type SupervisorBusEvents,
  type SupervisorEvents,
  type SupervisorOptions,
} from './supervisor.js';
export {
  readSupervisorEnv,
  type SupervisorEnv,
  type SupervisorEnvResult,
} from './supervisor-env.js';
