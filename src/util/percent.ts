/** "10%" or "99.9%" as a fraction (0.1, 0.999), or undefined when `text` is not a percentage. */
export function parsePercentage(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  return match === null ? undefined : Number(match[1]) / 100;
}
