import { LRUCache } from 'lru-cache';
import type { ResourceAttributes } from '../../kube/types.js';
import type { UserInfo } from './types.js';

/** An identity as it was when its key was made: copies, so a caller changing its UserInfo later never matches it. */
interface KnownIdentity {
  uid: string | undefined;
  groups: readonly string[];
  extra: readonly (readonly [string, readonly string[]])[];
  key: string;
}

/**
 * The keys of the SubjectAccessReview decision cache: one key per user, uid, groups, extra and
 * resource attributes, equal only when a review would be asked the same question. Groups and
 * extra values are sorted, so a proxy sending them in another order shares the decision.
 *
 * The identity's part is serialised once per distinct identity, not per request: the last
 * identity seen for each user name is kept (at most `maxNames` names) and a request whose user
 * has exactly the same uid, groups and extra, in the same order, reuses its part. Anything else
 * makes the part again. The HPA controller is one identity asking every 15 s per metric.
 */
export class DecisionKeys {
  private readonly identities: LRUCache<string, KnownIdentity>;

  constructor(maxNames: number) {
    this.identities = new LRUCache<string, KnownIdentity>({ max: maxNames });
  }

  keyOf(user: UserInfo, attributes: ResourceAttributes): string {
    // The identity is a JSON array, whose end is unambiguous: what follows it cannot be mistaken for it.
    return this.identityKey(user) + attributesKey(attributes);
  }

  private identityKey(user: UserInfo): string {
    const known = this.identities.get(user.name);
    if (known !== undefined && sameIdentity(user, known)) return known.key;
    const groups = [...user.groups];
    const extra = Object.entries(user.extra).map(([name, values]) => [name, [...values]] as const);
    const sortedExtra = extra
      .map(([name, values]) => [name, [...values].sort()] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const key = JSON.stringify([user.name, user.uid ?? '', [...groups].sort(), sortedExtra]);
    this.identities.set(user.name, { uid: user.uid, groups, extra, key });
    return key;
  }
}

/**
 * Each attribute with its length before it: unambiguous whatever characters a decoded path
 * segment holds, and a fraction of JSON.stringify's cost. Absent and empty are one value, as
 * reviewSpec sends neither.
 */
function attributesKey(r: ResourceAttributes): string {
  const sub = r.subresource ?? '';
  const name = r.name ?? '';
  const ns = r.namespace ?? '';
  return `${r.verb} ${r.group.length}:${r.group}${r.version.length}:${r.version}${r.resource.length}:${r.resource}${sub.length}:${sub}${name.length}:${name}${ns.length}:${ns}`;
}

function sameIdentity(user: UserInfo, known: KnownIdentity): boolean {
  if (user.uid !== known.uid || !sameStrings(user.groups, known.groups)) return false;
  const keys = Object.keys(user.extra);
  if (keys.length !== known.extra.length) return false;
  for (let i = 0; i < keys.length; i++) {
    const [knownKey, knownValues] = known.extra[i] as readonly [string, readonly string[]];
    const key = keys[i] as string;
    if (key !== knownKey || !sameStrings(user.extra[key] as readonly string[], knownValues)) return false;
  }
  return true;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
