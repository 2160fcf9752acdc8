import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { explain } from '../support/explain.js';
import { STATIC_HPA_METRICS_CONFIG } from '../support/hpa-fixtures.js';

/** `explain hpa --hpa-file`: an HPA manifest checked against the config's own backends, no cluster. */

const CONFIG = STATIC_HPA_METRICS_CONFIG;

const HPA = `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: worker, namespace: batch }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: worker }
  minReplicas: 0
  maxReplicas: 20
  metrics:
    - type: External
      external:
        metric: { name: queue-depth, selector: { matchLabels: { queue: jobs } } }
        target: { type: AverageValue, averageValue: 2 }
    - type: Object
      object:
        describedObject: { apiVersion: v1, kind: Service, name: jobs }
        metric: { name: backlog }
        target: { type: Value, value: "3" }
`;

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'explain-hpa-file-'));
  await writeFile(join(dir, 'config.yaml'), CONFIG);
  await writeFile(join(dir, 'hpa.yaml'), HPA);
  await writeFile(join(dir, 'missing.yaml'), HPA.replaceAll('queue-depth', 'no-such-metric'));
  await writeFile(join(dir, 'v1.yaml'), HPA.replace('autoscaling/v2', 'autoscaling/v1'));
});
after(() => rm(dir, { recursive: true, force: true }));

function explainHpa(...argv: string[]): Promise<{ code: number; text: string }> {
  return explain('hpa', ...argv, '--config', join(dir, 'config.yaml'));
}

describe('explain hpa --hpa-file', () => {
  it('asks our backends what the controller would ask and gives the count it would set', async () => {
    const { code, text } = await explainHpa('--hpa-file', join(dir, 'hpa.yaml'), '--replicas', '2');
    assert.equal(code, 0, text);
    assert.match(
      text,
      /request: GET \/apis\/external\.metrics\.k8s\.io\/v1beta1\/namespaces\/batch\/queue-depth\?labelSelector=queue%3Djobs\n {2}answer: 200, 1 item\n {2}value: 7\n {2}proposal: 4 replicas \(total ÷ target per pod\)/,
    );
    // 12 / 3 = 4 × 2 ready replicas.
    assert.match(
      text,
      /services\/jobs\/backlog\n[^\n]*\n[^\n]*\n {2}proposal: 8 replicas \(usage ratio × ready pods\)/,
    );
    assert.match(
      text,
      /^result: 4 replicas \(ScaleUpLimit: [^)]*\), decided by metric 2 \(Object backlog of Service\/jobs\)$/m,
    );
  });

  it('from zero replicas only Object and External metrics count: ceil(usage ratio) each', async () => {
    const { code, text } = await explainHpa('--hpa-file', join(dir, 'hpa.yaml'), '--replicas', '0');
    assert.equal(code, 0, text);
    assert.match(text, /metric 2:[\s\S]*?proposal: 4 replicas \(from zero replicas: ceil\(usage ratio\)\)/);
    assert.match(text, /^result: 4 replicas \(DesiredWithinRange/m);
  });

  it('says a metric our config does not serve is <unknown> (404) and warns that the pool then stays at zero', async () => {
    const { code, text } = await explainHpa('--hpa-file', join(dir, 'missing.yaml'), '--replicas', '3');
    assert.equal(code, 1, text);
    assert.match(text, /metric 1:[\s\S]*?proposal: <unknown>: 404 not served: external metric "no-such-metric"/);
    assert.match(text, /^warning: minReplicas is 0 and metric 1 \(no-such-metric\{queue=jobs\}\) is <unknown> now/m);
  });

  it('refuses a manifest that is not an autoscaling/v2 HPA, naming the field (exit 2)', async () => {
    const { code, text } = await explainHpa('--hpa-file', join(dir, 'v1.yaml'));
    assert.equal(code, 2);
    assert.match(
      text,
      /^explain hpa: --hpa-file [^:]*v1\.yaml: not a valid HPA: apiVersion: explain hpa reads autoscaling\/v2/m,
    );
  });
});
