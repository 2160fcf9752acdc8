import { globToRegExp } from '../lib/glob.js';
import type { DefinitionBackend, DefinitionsPolicy, NamespaceRule } from './policy-config.js';

/**
 * The admin's `definitions:` section, compiled: which rule a namespace falls under, and whether a
 * name (queue, account, CloudWatch namespace, Prometheus server) is within that rule for it. Globs
 * with `${namespace}` are compiled per namespace on first use and kept.
 */
export class DefinitionsPolicyRules {
  private readonly compiled = new Map<string, RegExp>();

  constructor(readonly settings: DefinitionsPolicy) {}

  /** The first rule naming the namespace, or why there is none. */
  ruleFor(namespace: string): NamespaceRule | undefined {
    return this.settings.rules.find((rule) => this.anyMatches(rule.namespaces, namespace, namespace));
  }

  /** Why the backend is closed to the namespace, or undefined when it is open. */
  closedBecause(backend: DefinitionBackend, namespace: string): string | undefined {
    if (!this.settings.enabled) return 'definitions are turned off (definitions.enabled in the adapter config)';
    if (!this.settings.backends.includes(backend)) {
      return `the ${backend} backend is not among definitions.backends (${this.settings.backends.join(', ')})`;
    }
    const rule = this.ruleFor(namespace);
    if (!rule) return `no definitions.rules entry names namespace "${namespace}"`;
    if (!rule[backend]) return `the definitions.rules entry for namespace "${namespace}" opens no ${backend} access`;
    return undefined;
  }

  /** Whether `value` matches one of the globs, `${namespace}` read as `namespace`. */
  anyMatches(globs: readonly string[], value: string, namespace: string): boolean {
    return globs.some((glob) => this.compile(withNamespace(glob, namespace)).test(value));
  }

  /**
   * Whether every name starting with `prefix` matches one glob: a glob that is a literal start
   * followed by `*` (`team-a-*`) covers a prefix that begins with that start.
   */
  coversPrefix(globs: readonly string[], prefix: string, namespace: string): boolean {
    return globs.some((raw) => {
      const glob = withNamespace(raw, namespace);
      const start = glob.slice(0, -1);
      return glob.endsWith('*') && !start.includes('*') && !start.includes('?') && prefix.startsWith(start);
    });
  }

  private compile(glob: string): RegExp {
    let regexp = this.compiled.get(glob);
    if (!regexp) {
      regexp = globToRegExp(glob);
      // Per namespace: bounded by the rules' globs times the namespaces that have definitions.
      this.compiled.set(glob, regexp);
    }
    return regexp;
  }
}

/** The placeholder a pattern names the definition's namespace with. */
const NAMESPACE_PLACEHOLDER = '$' + '{namespace}';

function withNamespace(pattern: string, namespace: string): string {
  return pattern.replaceAll(NAMESPACE_PLACEHOLDER, namespace);
}
