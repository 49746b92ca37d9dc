/**
 * A periodic background task (sweepers): never two runs at once, failures logged, the timer
 * unref'd so it never keeps the process alive. stop() clears it and waits for a run under way.
 */
export interface Periodic { stop(): Promise<void> }

/** Runs `task` every `ms` milliseconds, never two at once; errors go to `onError`. */
export function every(ms: number, task: () => Promise<unknown>, onError: (err: unknown) => void): Periodic {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= task().then(() => undefined, onError).finally(() => { running = undefined; });
  }, ms);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
