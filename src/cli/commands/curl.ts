import type { Command } from 'commander';
import type { CommandContext } from '../command-context';
import { EXIT } from '../exit-codes';
import { addRequestFlags, requestFromFlags, type RequestFlags } from '../request-flags';

/** `meshload curl URL`: one request, Fortio-style (status line and headers to stderr, body to
 * stdout, exit 1 unless 200), plus one line on whether the answer crossed an Envoy sidecar. */
export function registerCurl(program: Command, ctx: CommandContext): void {
  const command = program
    .command('curl')
    .description('send one request: headers to stderr, body to stdout, exit 1 unless 200')
    .argument('<url>', 'target URL, http:// or https://');
  addRequestFlags(command).action(async (urlText: string, flags: RequestFlags) => {
    const parts = requestFromFlags(urlText, flags, 'curl');
    const { Agent, request } = await import('undici'); // loaded when used: --version stays fast
    let response;
    try {
      response = await request(parts.url, {
        method: parts.method as 'GET',
        headers: Object.fromEntries(parts.headers),
        ...(parts.payload.length > 0 || parts.method === 'POST' ? { body: parts.payload } : {}),
        headersTimeout: parts.timeoutMs || undefined,
        bodyTimeout: parts.timeoutMs || undefined,
        ...(parts.insecure ? { dispatcher: new Agent({ connect: { rejectUnauthorized: false } }) } : {}),
      } as Parameters<typeof request>[1]);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      ctx.io.stderr.write(`meshload: ${parts.method} ${parts.url.href} failed: ${(error as Error).message}${code !== '' ? ` (${code})` : ''}\n`);
      ctx.exitCode = EXIT.FAILED;
      return;
    }
    const body = Buffer.from(await response.body.arrayBuffer());
    const lines = [`HTTP/1.1 ${response.statusCode}`];
    for (const [name, value] of Object.entries(response.headers)) {
      for (const v of Array.isArray(value) ? value : [value]) if (v !== undefined) lines.push(`${name}: ${v}`);
    }
    ctx.io.stderr.write(lines.join('\n') + '\n\n');
    ctx.io.stdout.write(body.toString('utf8'));
    ctx.io.stderr.write(`${sidecarEvidence(response.headers)}\n`);
    ctx.exitCode = response.statusCode === 200 ? EXIT.OK : EXIT.FAILED;
  });
}

/** What the response headers say about an Envoy sidecar on the way (MESH-FACTS: `server:
 * envoy` from the client sidecar, `istio-envoy` from an inbound one, and
 * x-envoy-upstream-service-time on answers that came from upstream). */
export function sidecarEvidence(headers: Record<string, string | string[] | undefined>): string {
  const server = String(headers.server ?? '');
  const upstreamTime = headers['x-envoy-upstream-service-time'];
  const signs: string[] = [];
  if (/^(istio-)?envoy$/i.test(server)) signs.push(`server: ${server}`);
  if (upstreamTime !== undefined) signs.push(`x-envoy-upstream-service-time: ${String(upstreamTime)}`);
  if (signs.length > 0) return `meshload: the response crossed an Envoy sidecar (${signs.join(', ')})`;
  return 'meshload: no sign of an Envoy sidecar (no server: envoy, no x-envoy-upstream-service-time); a mesh can strip these headers, so this is a hint, not proof';
}
