/**
 * Keep the object layouts of the last runs alive, so that V8 keeps the code it optimized for them.
 *
 * V8 describes each object's layout with a hidden class (a "map"); optimized code checks for the maps it was
 * compiled against and holds them only weakly. A map with no live object is collected at the next major garbage
 * collection, and every piece of optimized code that referred to it is thrown away ("weak objects"
 * deoptimization). Between two runs nothing of the first run is alive — its machine, MMU, CPU state, VMM — so a
 * collection there drops the maps of all of them, and the next run starts over in V8's interpreter and warms up
 * again: the reference run of `sieve` took 25 ms or 150 ms on alternate runs of one process, depending on whether
 * a collection fell between them.
 *
 * Holding the objects of the previous run (per kind of root object) keeps their maps alive, so a new run
 * reuses both the maps and the optimized code. The price is the memory of one old run per kind; nothing reads it.
 */
const KEPT = 1;
const recent = new Map<string, object[]>();

/** Call from the constructor of a run's root object (a machine, a VMM): keeps the last few of each kind. */
export function keepLayouts(kind: string, root: object): void {
  let list = recent.get(kind);
  if (list === undefined) recent.set(kind, (list = []));
  list.push(root);
  if (list.length > KEPT + 1) list.shift();
}
