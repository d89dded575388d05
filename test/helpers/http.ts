/** A small HTTP client for tests, on undici (meshload's own client library). */
import { Agent, request, type Dispatcher } from 'undici';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

export interface Ask {
  method?: Dispatcher.HttpMethod;
  headers?: Record<string, string>;
  body?: string | Buffer | NodeJS.ReadableStream;
  dispatcher?: Dispatcher;
}

export async function fetchReply(url: string, ask: Ask = {}): Promise<Reply> {
  const response = await request(url, {
    method: ask.method ?? 'GET',
    ...(ask.headers !== undefined ? { headers: ask.headers } : {}),
    ...(ask.body !== undefined ? { body: ask.body as string } : {}),
    ...(ask.dispatcher !== undefined ? { dispatcher: ask.dispatcher } : {}),
  });
  const body = Buffer.from(await response.body.arrayBuffer());
  return { status: response.statusCode, headers: response.headers, body, text: body.toString('utf8') };
}

/** Sends `total` requests with at most `concurrency` in flight; returns status counts. */
export async function fanOut(url: string, total: number, concurrency: number, dispatcher: Dispatcher): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      const response = await request(url, { dispatcher });
      await response.body.dump();
      counts.set(response.statusCode, (counts.get(response.statusCode) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return counts;
}

/** An agent with keep-alive that tests close in afterEach. */
export function keepAliveAgent(connections = 16): Agent {
  return new Agent({ connections, pipelining: 1 });
}

/** Reads one sample from Prometheus text: `name{labels} value`. */
export function metricValue(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
