// stdout may be a pipe whose reader has gone (`llamats inspect X --json | head`,
// `llamats chat ... | head -1`): every later write then fails with EPIPE, which Node reports
// as an 'error' event that crashes the process when nobody listens. The CLI treats it as
// "nobody reads any more": further writes are dropped quietly, and long-running commands
// (generate, chat) subscribe to stop their work.

let installed = false;
let closed = false;
const listeners = new Set<() => void>();

function onError(err: NodeJS.ErrnoException): void {
  if (err.code !== "EPIPE" && err.code !== "ERR_STREAM_DESTROYED") throw err;
  if (closed) return;
  closed = true;
  for (const l of [...listeners]) l();
}

/** Install the EPIPE guard on process.stdout (once per process). */
export function guardStdout(): void {
  if (installed) return;
  installed = true;
  process.stdout.on("error", onError);
}

/** Whether stdout's reader has gone. */
export function stdoutClosed(): boolean {
  return closed;
}

/** Call `fn` once when stdout's reader goes (at once if it already has); returns an unsubscribe. */
export function onStdoutClosed(fn: () => void): () => void {
  guardStdout();
  if (closed) {
    fn();
    return () => {};
  }
  listeners.add(fn);
  return () => listeners.delete(fn);
}
