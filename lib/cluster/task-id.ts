// Tornado's task_id(): the slot of this process, set by the worker (or by
// processes: 1) and read by taskId() anywhere in the app.

// On globalThis so a second copy of this module (lib/ and dist/) agrees.
const TASK_ID = Symbol.for('fastify-deploy-kit.taskId')
const slotHolder = globalThis as { [TASK_ID]?: number }

/** This process's slot, or null outside launch(). */
export function currentTaskId (): number | null {
  return slotHolder[TASK_ID] ?? null
}

/** Called when this process becomes the worker of `slot` (or the single process, slot 0). */
export function setTaskId (slot: number): void {
  slotHolder[TASK_ID] = slot
}

/** Called when this process did not become a worker after all. */
export function clearTaskId (): void {
  delete slotHolder[TASK_ID]
}
