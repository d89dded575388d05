/** Library entry: the pieces other programs (and meshload's tests) embed. */
export { startEchoServer, type EchoServerOptions, type RunningEchoServer } from './server/echo-server';
export { runCli } from './cli/main';
export type { CliIo } from './cli/io';
