/** The three sets and the verdicts of Popek and Goldberg's Theorems 1 and 3, from the per-instruction verdicts. */
import type { ClassificationSets, InsnClassification, TheoremVerdict } from './types.js';

export function setsOf(insns: readonly InsnClassification[]): ClassificationSets {
  const names = (f: (c: InsnClassification) => boolean) => insns.filter(f).map((c) => c.name);
  return {
    privileged: names((c) => c.privileged),
    trapping: names((c) => c.trapping),
    sensitive: names((c) => c.sensitive),
    sensitiveUnprivileged: names((c) => c.sensitive && !c.privileged),
    userSensitive: names((c) => c.userSensitive),
    innocuous: names((c) => c.empirical === 'innocuous'),
  };
}

const list = (xs: readonly string[]): string =>
  xs.length <= 1 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;

export function decideTheorems(sets: ClassificationSets): { theorem1: TheoremVerdict; theorem3: TheoremVerdict } {
  const priv = new Set(sets.privileged);
  const off1 = sets.sensitive.filter((n) => !priv.has(n));
  const off3 = sets.userSensitive.filter((n) => !priv.has(n));
  return {
    theorem1: {
      theorem: 1,
      statement: 'a trap-and-emulate VMM can be built if every sensitive instruction is privileged',
      condition: 'sensitive ⊆ privileged',
      holds: off1.length === 0,
      offending: off1,
      conclusion:
        off1.length === 0
          ? 'every sensitive instruction traps in user mode, so a VMM that runs the guest kernel deprivileged sees each one'
          : `${list(off1)} ${off1.length === 1 ? 'is' : 'are'} sensitive but not privileged — a deprivileged guest kernel executes ${off1.length === 1 ? 'it' : 'them'} and the VMM never sees it happen`,
    },
    theorem3: {
      theorem: 3,
      statement: 'a hybrid VMM (virtual supervisor code interpreted, virtual user code run directly) can be built if every user-sensitive instruction is privileged',
      condition: 'user-sensitive ⊆ privileged',
      holds: off3.length === 0,
      offending: off3,
      conclusion:
        off3.length === 0
          ? 'no instruction is sensitive when it runs in user mode without trapping, so virtual user code can run directly'
          : `${list(off3)} ${off3.length === 1 ? 'is' : 'are'} sensitive in user mode without trapping, so even virtual user code cannot run directly with full fidelity`,
    },
  };
}
