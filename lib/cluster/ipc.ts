// Messages from the primary to a worker.
import type { Worker } from 'node:cluster'

/**
 * Sends `message` to `worker` if its channel is open, and drops it if the
 * write fails. A worker can die between the primary's last look at it and
 * the write: its channel reads as connected until the primary's event loop
 * sees it close, and the write then fails with EPIPE. Without a callback Node
 * emits that as an 'error' event on the worker, and with no listener the
 * primary crashes (status 1), taking every other worker with it. Dropping the
 * message loses nothing: the worker's 'exit' event, which always follows,
 * does what its death needs.
 */
export function tell (worker: Pick<Worker, 'isConnected' | 'send'>, message: object): void {
  if (worker.isConnected()) worker.send(message, undefined, () => {})
}
