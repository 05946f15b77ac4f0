// launch()'s own options, declared once: their names (unknown-option
// rejection), the defaults normalizeClusterOptions() reads and the rows of
// docs/cluster.md's options table (lib/shared/declarations.ts). The watching
// options are declared beside their normaliser (watch-options.ts).
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from './server.js'
import { CLIENT_LIMIT_DEFAULTS } from './client-limits.js'

export const LAUNCH_OPTIONS = {
  port: { default: 8888, tornado: '`listen(port)`', doc: 'port; in `\'ports\'` mode the first of `processes` consecutive ports' },
  host: { shown: 'Fastify\'s (`localhost`)', tornado: '`address`', doc: 'address to listen on' },
  processes: { default: 1, tornado: '`start(n)` / `fork_processes(n)`', doc: 'workers; `0` = one per available CPU (`os.availableParallelism()`, which respects CPU affinity, unlike Tornado\'s count); `1` = in-process, no fork' },
  mode: { default: 'shared', tornado: '—', doc: '`\'shared\'`: every worker on `port`; `\'ports\'`: worker *i* on `port + i`' },
  maxRestarts: { default: 100, tornado: '`max_restarts`', doc: 'crash restarts allowed within 15 minutes before the primary gives up' },
  shutdownTimeoutMs: { default: DEFAULT_SHUTDOWN_TIMEOUT_MS, tornado: '—', doc: 'how long a stopping worker may drain before its connections are cut' },
  minOpenFiles: { default: 1024, tornado: '—', doc: 'warn at start-up when the open-file soft limit is lower' },
  logger: { shown: 'pino', tornado: '—', doc: 'the primary\'s logger (pino-compatible); workers log with their app\'s own logger' },
  clientHeaderTimeoutMs: { default: CLIENT_LIMIT_DEFAULTS.clientHeaderTimeoutMs, tornado: 'nginx `client_header_timeout` (60 s)', doc: 'the request head (request line and headers) must arrive within this, else `408` and the connection is closed; `0` = off' },
  clientBodyTimeoutMs: { default: CLIENT_LIMIT_DEFAULTS.clientBodyTimeoutMs, tornado: 'nginx `client_body_timeout` (60 s)', doc: 'the longest pause between two reads of a request body, else `408` ([`FDK_CLUSTER_BODY_TIMEOUT`](errors.md#fdk_cluster_body_timeout)) and the connection is closed; `0` = off' },
  idleConnectionTimeoutMs: { default: CLIENT_LIMIT_DEFAULTS.idleConnectionTimeoutMs, tornado: 'Tornado `idle_connection_timeout` (3600 s)', doc: 'an idle keep-alive connection is closed after this; longer than the balancers\' idle timeouts (AWS ALB 60 s, Google Cloud 600 s) so the balancer closes first' },
  maxBodySize: { default: CLIENT_LIMIT_DEFAULTS.maxBodySize, tornado: 'Tornado `max_body_size`; nginx `client_max_body_size`', doc: 'a `Content-Length` over this gets `413` ([`FDK_CLUSTER_BODY_TOO_LARGE`](errors.md#fdk_cluster_body_too_large)) before the app sees the request, before the body with `Expect: 100-continue`; write the same size into `deploy-kit nginx --max-body`' }
} as const
