// The Kubernetes manifests in example/kubernetes/ (docs/many-machines.md):
// parsed as YAML and checked for what a fleet of pods needs to behave.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import { parseCidr } from './helpers/netns.js'
import { parseStartArgs } from '../lib/cli/start.js'

// The launcher's default drain time (shutdownTimeoutMs in DESIGN.md); import
// it from lib/cluster once the launcher lands on main.
const SHUTDOWN_TIMEOUT_MS = 10_000

interface EnvVar { name: string, value?: string, valueFrom?: { secretKeyRef?: { name: string, key: string } } }
interface Probe { httpGet?: { path: string, port: string | number } }
interface Container {
  name: string
  command: string[]
  ports: Array<{ name: string, containerPort: number }>
  env: EnvVar[]
  readinessProbe?: Probe
  livenessProbe?: Probe
  lifecycle?: { preStop?: { exec?: { command: string[] } } }
}
interface Deployment {
  kind: 'Deployment'
  spec: {
    replicas: number
    selector: { matchLabels: Record<string, string> }
    strategy: { rollingUpdate: { maxUnavailable: number } }
    template: { metadata: { labels: Record<string, string> }, spec: { terminationGracePeriodSeconds: number, containers: Container[] } }
  }
}
interface Service { kind: 'Service', spec: { selector: Record<string, string>, ports: Array<{ port: number, targetPort: string | number }> } }

function load<T> (file: string): T[] {
  const text = readFileSync(new URL(`../example/kubernetes/${file}`, import.meta.url), 'utf8')
  return parseAllDocuments(text).map((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`)
    return document.toJS() as T
  })
}

const [deployment] = load<Deployment>('deployment.yaml').filter((document) => document.kind === 'Deployment')
const [service] = load<Service>('service.yaml').filter((document) => document.kind === 'Service')
const pod = deployment?.spec.template.spec
const app = pod?.containers[0] as Container

function option (name: string): string | undefined {
  const at = app.command.indexOf(name)
  return at === -1 ? undefined : app.command[at + 1]
}

function env (name: string): EnvVar | undefined {
  return app.env.find((variable) => variable.name === name)
}

t.test('the manifests hold one Deployment with one app container and one Service', async (t) => {
  t.ok(deployment)
  t.ok(service)
  t.equal(pod?.containers.length, 1)
})

t.test('each pod runs the launcher with exactly one worker, listening on all interfaces of the pod', async (t) => {
  t.same(app.command.slice(0, 4), ['node', 'dist/cli/main.js', 'start', './example/app.js'], 'node itself is PID 1, so SIGTERM reaches the launcher')
  t.equal(option('--processes'), '1', 'the orchestrator scales pods, not the launcher')
  t.equal(option('--host'), '0.0.0.0')
  t.equal(Number(option('--port')), app.ports.find((port) => port.name === 'http')?.containerPort)
})

t.test('readiness and liveness probe the launcher\'s health route on the app\'s own port', async (t) => {
  t.equal(app.readinessProbe?.httpGet?.port, 'http')
  t.equal(app.livenessProbe?.httpGet?.port, 'http')
  const healthPath = option('--health-path')
  t.equal(healthPath, '/healthz', 'the launcher is started with a health route')
  t.equal(app.readinessProbe?.httpGet?.path, healthPath)
  t.equal(app.livenessProbe?.httpGet?.path, healthPath)
  // The container's command as given, so the flag is one deploy-kit start takes.
  t.match(parseStartArgs(app.command.slice(3), {}), { options: { healthPath, processes: 1, port: 8888 } })
})

t.test('the grace period outlasts the preStop pause plus the launcher\'s drain', async (t) => {
  const preStop = app.lifecycle?.preStop?.exec?.command ?? []
  t.equal(preStop[0], 'sleep')
  const pause = Number(preStop[1])
  t.ok(pause > 0)
  t.ok(pod!.terminationGracePeriodSeconds > pause + SHUTDOWN_TIMEOUT_MS / 1000,
    `${pod!.terminationGracePeriodSeconds} s > ${pause} s + ${SHUTDOWN_TIMEOUT_MS / 1000} s`)
})

t.test('the cookie secret comes from a Secret, never a literal in the manifest', async (t) => {
  const secret = env('COOKIE_SECRET')
  t.equal(secret?.value, undefined)
  t.match(secret?.valueFrom?.secretKeyRef, { name: String, key: String })
})

t.test('trusted proxies are the ingress network, not everyone', async (t) => {
  const value = env('TRUSTED_PROXIES')?.value ?? ''
  const ranges = value.split(',').map((range) => range.trim())
  t.ok(ranges.length > 0 && ranges.every((range) => range !== '' && range !== 'all'), value)
  for (const range of ranges) t.ok(parseCidr(range).bits >= 8, `${range} is a real network, not 0.0.0.0/0`)
})

t.test('rolling updates never take a ready pod away before its replacement is ready', async (t) => {
  t.equal(deployment?.spec.strategy.rollingUpdate.maxUnavailable, 0)
  t.ok(deployment!.spec.replicas >= 2, 'more than one pod, so one can go')
})

t.test('the Service selects the Deployment\'s pods and targets the named app port', async (t) => {
  t.same(service?.spec.selector, deployment?.spec.selector.matchLabels)
  t.match(deployment?.spec.template.metadata.labels, service?.spec.selector)
  t.equal(service?.spec.ports[0]?.targetPort, 'http')
})
