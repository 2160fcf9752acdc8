import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_ALWAYS_ALLOW_PATHS, parseFlags } from '../../src/cli/flags.js';
import { parseDuration } from '../../src/lib/duration.js';
import { FlagError } from '../../src/schema/errors.js';

describe('command-line flags', () => {
  it('has the defaults generic apiservers and prometheus-adapter use', () => {
    const flags = parseFlags([]);
    assert.equal(flags.securePort, 6443);
    assert.equal(flags.config, undefined);
    assert.deepEqual(flags.requestheaderUsernameHeaders, ['X-Remote-User']);
    assert.deepEqual(flags.requestheaderGroupHeaders, ['X-Remote-Group']);
    assert.deepEqual(flags.requestheaderExtraHeadersPrefix, ['X-Remote-Extra-']);
    assert.deepEqual(flags.authorizationAlwaysAllowPaths, DEFAULT_ALWAYS_ALLOW_PATHS);
    assert.equal(flags.metricsRelistIntervalMs, 60_000);
    assert.equal(flags.shutdownGraceSeconds, 25);
    assert.deepEqual(flags.watchResources, ['*'], 'any resource a selector asks for may be watched');
  });

  it('--watch-resources names the resources whose metadata may be watched; empty watches none', () => {
    assert.deepEqual(parseFlags(['--watch-resources=pods, deployments.apps']).watchResources, [
      'pods',
      'deployments.apps',
    ]);
    assert.deepEqual(parseFlags(['--watch-resources=']).watchResources, []);
  });

  it('--watch-max-objects and --watch-max-label-bytes cap what one watched resource holds', () => {
    const defaults = parseFlags([]);
    assert.deepEqual([defaults.watchMaxObjects, defaults.watchMaxLabelBytes], [150_000, 32 * 1024 * 1024]);
    const set = parseFlags(['--watch-max-objects=5000', '--watch-max-label-bytes=8Mi']);
    assert.deepEqual([set.watchMaxObjects, set.watchMaxLabelBytes], [5000, 8 * 1024 * 1024]);
  });

  it('--hpa-refresh: all replicas refresh (the default), only the Lease holder (leader), or none (off)', () => {
    assert.equal(parseFlags([]).hpaRefresh, 'all');
    assert.equal(parseFlags(['--hpa-refresh=leader']).hpaRefresh, 'leader');
    assert.equal(parseFlags(['--hpa-refresh', 'off']).hpaRefresh, 'off');
  });

  it('accepts --flag=value and --flag value, and comma-separated lists', () => {
    const flags = parseFlags([
      '--secure-port=8443',
      '--config',
      '/etc/adapter/config.yaml',
      '--requestheader-allowed-names=front-proxy-client, aggregator',
      '--lister-kubeconfig=/kc',
      '--metrics-relist-interval=1m30s',
      '--prometheus-header=X-Scope-OrgID: team-a',
      '--prometheus-header',
      'X-Extra: 1',
      '--prometheus-verb=post',
    ]);
    assert.equal(flags.securePort, 8443);
    assert.equal(flags.config, '/etc/adapter/config.yaml');
    assert.deepEqual(flags.requestheaderAllowedNames, ['front-proxy-client', 'aggregator']);
    assert.equal(flags.kubeconfig, '/kc', "--lister-kubeconfig is prometheus-adapter's name for it");
    assert.equal(flags.metricsRelistIntervalMs, 90_000);
    assert.deepEqual(flags.prometheusHeaders, ['X-Scope-OrgID: team-a', 'X-Extra: 1']);
    assert.equal(flags.prometheusVerb, 'POST');
  });

  const bad: [string[], RegExp][] = [
    [['--secure-port=https'], /--secure-port: expected a non-negative integer, got "https"/],
    [['--secure-port=-1'], /--secure-port/],
    [['--metrics-relist-interval=soon'], /--metrics-relist-interval: expected a duration/],
    // Past 2^31-1 ms a Node timer fires after 1 ms: a 1000h relist interval relisted 500 times a second.
    [['--metrics-relist-interval=1000h'], /--metrics-relist-interval: expected a duration .*at most 596h.*got "1000h"/],
    [['--prometheus-verb=PUT'], /--prometheus-verb: expected GET or POST/],
    [['--watch-resources=Pods/x'], /--watch-resources: expected resources such as pods,deployments.apps/],
    [['--watch-max-objects=0'], /--watch-max-objects: expected a positive integer/],
    [['--watch-max-label-bytes=lots'], /--watch-max-label-bytes: expected a positive number of bytes/],
    [
      ['--hpa-refresh=holder'],
      /--hpa-refresh: expected all .*, leader \(only the Lease holder does.*\) or off, got "holder"/,
    ],
    [['--no-such-flag'], /no-such-flag/],
    [['positional'], /positional/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(' ')} with a message naming the flag`, () => {
      assert.throws(
        () => parseFlags(argv),
        (error: Error) => error instanceof FlagError && message.test(error.message),
      );
    });
  }

  it('parses Go durations', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('30'), undefined);
    assert.equal(parseDuration(''), undefined);
    assert.equal(parseDuration('596h'), 596 * 3_600_000, 'the longest a timer waits is 596h31m23.647s');
    assert.equal(parseDuration('597h'), undefined);
    assert.equal(parseDuration('596h31m24s'), undefined);
  });
});
