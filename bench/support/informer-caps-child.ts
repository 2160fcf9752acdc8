import { Registry } from 'prom-client';
import { createObjectInformers } from '../../src/kube/index.js';
import { silentLogger } from '../../src/observability/logger.js';
import { loopbackKubeConfig } from '../../test/support/kube-config.js';

/** The child of bench/informer-caps.ts: object informers with their default caps, asked for app=web every 500 ms. */
const informers = createObjectInformers(loopbackKubeConfig(Number(process.argv[2])), {
  logger: silentLogger(),
  registry: new Registry(),
  watchResources: ['*'],
});
const PODS = { group: '', version: 'v1', resource: 'pods' };
let peakRss = 0;
let answer: string[] = [];
const errors = new Set<string>();
const started = Date.now();
const seconds = Number(process.argv[3] ?? 40);
while (Date.now() - started < seconds * 1000) {
  try {
    answer = (await informers.listObjects(PODS, 'default', 'app=web')).map((o) => o.name);
  } catch (error) {
    errors.add((error as Error).message.slice(0, 200));
  }
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  await new Promise((resolve) => setTimeout(resolve, 500));
}
console.log(
  JSON.stringify({
    alive: true,
    peakRssMiB: Math.round(peakRss / 2 ** 20),
    answer,
    health: informers.informer(PODS)?.health(),
    held: informers.informer(PODS)?.index.size,
    errors: [...errors],
  }),
);
await informers.close();
process.exit(0);
