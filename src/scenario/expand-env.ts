/** `${NAME}` and `${NAME:-default}` in scenario files, from the environment, as envsubst and
 * docker compose do: one file serves CI and laptops (ports, hosts, config paths). Expanded in the
 * text before parsing, which keeps every line where it was, so errors still point at lines. */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function expandEnv(text: string, env: Record<string, string | undefined>): { text: string; missing: string[] } {
  const missing = new Set<string>();
  const expanded = text.replace(REFERENCE, (_, name: string, fallback: string | undefined) => {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    missing.add(name);
    return '';
  });
  return { text: expanded, missing: [...missing] };
}
