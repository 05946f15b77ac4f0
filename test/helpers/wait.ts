// Bounded waits for the process tests. A wait that never ends is a test that
// hangs until tap's kill and says nothing; every wait here has a bound and,
// when it runs out, fails with what it last saw (the child's log tail).

/** How long a test waits for something a healthy process does in well under a second. */
export const WAIT_MS = 30_000

/** The last `count` lines of a log, for an error message. */
export function tail (text: string, count = 30): string {
  return text.trimEnd().split('\n').slice(-count).join('\n')
}

/**
 * Polls `ready` every `everyMs` until it returns true, at most `ms`; then
 * throws "<what> did not happen within Ns", followed by `last()`.
 */
export async function until (what: string, ready: () => boolean | Promise<boolean>, { ms = WAIT_MS, everyMs = 50, last = () => '' }: { ms?: number, everyMs?: number, last?: () => string } = {}): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms / 1000} s; last seen:\n${last()}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/** `promise`, or a rejection naming `what` and `last()` once `ms` has passed. */
export async function within<T> (what: string, promise: Promise<T>, { ms = WAIT_MS, last = () => '' }: { ms?: number, last?: () => string } = {}): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms / 1000} s; last seen:\n${last()}`)), ms)
  })
  try {
    return await Promise.race([promise, expired])
  } finally {
    clearTimeout(timer)
  }
}
