// The launcher's own logger when the options name none: pino, loaded by the
// primary and by processes: 1 (workers log with their app's logger).
import pino from 'pino'
import type { Logger } from './types.js'

export function defaultLogger (): Logger {
  return pino({ name: 'deploy-kit' })
}
