/** TanStack Query keys, in one place so live events and views agree. */
export const keys = {
  instances: ['instances'] as const,
  health: ['health'] as const,
  healthHistory: (id: string) => ['health-history', id] as const,
  warnings: ['config-warnings'] as const,
  jobsAll: ['jobs'] as const,
  jobs: (filter: string) => ['jobs', filter] as const,
  job: (id: string) => ['job', id] as const,
  jobEvents: (id: string) => ['job-events', id] as const,
  templates: ['templates'] as const,
  overview: ['overview'] as const,
};
