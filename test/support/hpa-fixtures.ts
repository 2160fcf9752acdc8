/**
 * The static metrics the explain hpa tests ask about: an external queue depth of 7, two worker
 * pods at 30 and 10 requests per second, and a backlog of 12 on Service batch/jobs.
 */
export const STATIC_HPA_METRICS_CONFIG = `
static:
  external:
    - metric: queue-depth
      series: [{ labels: { queue: jobs }, value: 7 }]
  custom:
    - metric: requests-per-second
      resource: pods
      objects:
        - { namespace: batch, name: worker-0, labels: { app: worker }, value: 30 }
        - { namespace: batch, name: worker-1, labels: { app: worker }, value: 10 }
    - metric: backlog
      resource: services
      objects: [{ namespace: batch, name: jobs, value: 12 }]
`;
