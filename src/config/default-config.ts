/**
 * What `npm start` serves with no --config: two static metrics so that discovery, kubectl and
 * a first HPA have something to show before any backend is configured.
 */
export const DEFAULT_CONFIG_YAML = `
static:
  external:
    - metric: demo-queue-depth
      series:
        - labels: { queue: jobs }
          value: 42
        - labels: { queue: emails }
          value: 7
  custom:
    - metric: demo_requests_per_second
      resource: pods
      objects:
        - { namespace: default, name: demo-1, labels: { app: demo }, value: 10 }
        - { namespace: default, name: demo-2, labels: { app: demo }, value: 1.5 }
`;
