/** Fortio's -loglevel names, least to most severe. */
export const LOG_LEVELS = ['Debug', 'Verbose', 'Info', 'Warning', 'Error', 'Critical', 'Fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Case-insensitive, as Fortio's; undefined for an unknown name. */
export function parseLogLevel(text: string): LogLevel | undefined {
  return LOG_LEVELS.find((level) => level.toLowerCase() === text.trim().toLowerCase());
}

export function logsAt(current: LogLevel, message: LogLevel): boolean {
  return LOG_LEVELS.indexOf(message) >= LOG_LEVELS.indexOf(current);
}
