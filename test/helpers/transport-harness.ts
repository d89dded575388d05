/** What both transport test suites need: a request template and promise wrappers for send. */
import type { Connection, RequestTemplate } from '../../src/transport/transport';
import type { Outcome } from '../../src/model/outcome';

export function template(url: string, overrides: Partial<RequestTemplate> = {}): RequestTemplate {
  return { url: new URL(url), method: 'GET', headers: [], body: Buffer.alloc(0), timeoutMs: 5000, keepAlive: true, insecure: false, ...overrides };
}

export function send(connection: Connection): Promise<Outcome> {
  return new Promise((resolve) => connection.send(resolve));
}

/** Sends one after the other on the same connection. */
export async function sendMany(connection: Connection, count: number): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let i = 0; i < count; i++) outcomes.push(await send(connection));
  return outcomes;
}
