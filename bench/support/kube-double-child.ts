import { HPA_USER } from '../../test/support/cluster-harness.js';
import { hpaObject } from '../../test/support/hpa-objects.js';
import { startKubeApiserverDouble } from '../../test/support/kube-apiserver-double.js';
import { queueName } from '../hpa-clients.js';

/**
 * The kube-apiserver double of bench (j), in a process of its own (bench/support/kube-double-process.ts):
 * argv[2] HPAs, each with an External metric of its own queue (queueName), and the HPA
 * controller's user allowed to read external metrics. Prints one JSON line when it listens:
 * `msg` "serving …", its `port` and the adapters' `kubeconfigPath`; SIGTERM closes it.
 */
const hpas = Number(process.argv[2]);
const kube = await startKubeApiserverDouble();
kube.allowRules.push({ user: HPA_USER, verb: 'list', group: 'external.metrics.k8s.io' });
for (let i = 0; i < hpas; i++) {
  kube.objects.push(
    hpaObject('default', `hpa-${i}`, [{ type: 'External', name: 'queue_depth', matchLabels: { queue: queueName(i) } }]),
  );
}
process.once('SIGTERM', () => {
  void kube.close().then(() => process.exit(0));
});
process.stdout.write(
  `${JSON.stringify({ msg: 'serving kube-apiserver double', port: Number(new URL(kube.url).port), kubeconfigPath: kube.kubeconfigPath })}\n`,
);
