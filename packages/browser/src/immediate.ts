// setImmediate for browsers. The engine's scheduler and generate loop yield to the event loop
// with setImmediate between decode steps; browsers have none, and setTimeout(0) is clamped to
// 4 ms after a few nested calls (a visible tokens/s loss on a tiny model). A MessageChannel
// message runs as a macrotask with no clamp, so rendering and input still get their turn.

export function installSetImmediate(): void {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === "function") return;
  const queue: (() => void)[] = [];
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    const fn = queue.shift();
    if (fn) fn();
  };
  g.setImmediate = (fn: () => void) => {
    queue.push(fn);
    channel.port2.postMessage(0);
    return 0;
  };
}
