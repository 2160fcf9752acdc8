/**
 * Config files at the sizes that held the event loop (issue 20 item 12), for tests and
 * bench/config-load.ts. Their Prometheus URLs refuse connections: discovery fails at once.
 */

/** prometheus-adapter external rules, each with its own series query and name pattern, up to `bytes`. */
export function rulesConfig(bytes: number): string {
  const lines = ['prometheus:', '  url: http://127.0.0.1:9', '  externalRules:'];
  let size = lines.join('\n').length;
  for (let i = 0; size < bytes; i++) {
    const rule = [
      `  - seriesQuery: '{__name__=~"^jobs_waiting_${i}$",queue!=""}'`,
      '    resources: { overrides: { namespace: { resource: namespace } } }',
      `    name: { matches: "^(.*)_${i}$", as: "q${i}_\${1}" }`,
      '    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)',
    ].join('\n');
    lines.push(rule);
    size += rule.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

/** `count` servers under prometheus.servers, and one external rule on each. */
export function serversConfig(count: number): string {
  const lines = ['prometheus:', '  servers:'];
  for (let i = 0; i < count; i++) lines.push(`  - name: s${i}`, `    url: http://127.0.0.1:9/${i}`);
  lines.push('  externalRules:');
  for (let i = 0; i < count; i++)
    lines.push(
      `  - seriesQuery: 'jobs_${i}'`,
      `    server: s${i}`,
      '    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>})',
    );
  return `${lines.join('\n')}\n`;
}
