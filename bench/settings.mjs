// What the bench scripts read from the environment, read the same way in each.

/**
 * The positive integer in environment variable `name`, or `def` when it is
 * unset or empty. Anything else ends the script through `die` with a line
 * naming the variable.
 */
export function positiveInt(name, def, die) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) die(`${name} must be a positive integer, got "${raw}"`);
  return v;
}
