// The action's entry with its one run repeated: bench/phases.mjs builds the
// same image several times in one process with it, to tell what running the
// code for the first time costs from what the build itself costs.

/**
 * The bundle's entry (dist/index.js) with its single `await run();` (the
 * statement before the final resumeCommands(), see src/index.ts) done `times`
 * times. Throws when that statement is not found exactly once, so a changed
 * entry fails here instead of measuring something else.
 */
export function repeatEntry(source, times) {
  if (!Number.isInteger(times) || times < 1) throw new RangeError(`times must be a positive integer, got ${times}`);
  const once = /await run\(\);(?=[\w$]+\.resumeCommands\(\))/g;
  const found = source.match(once)?.length ?? 0;
  if (found !== 1) throw new Error(`expected the entry's "await run();" once, found it ${found} times`);
  return source.replace(once, `for(let r=0;r<${times};r++)await run();`);
}
