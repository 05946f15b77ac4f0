// example/kubernetes/app.yaml run as generated, with the test in the
// kubelet's place (there is no cluster here): the container's command and
// args as a real process in a network namespace of its own (a pod's
// network), its env with the Secret resolved to a test value, then what
// the kubelet does: readiness probes until 200, a liveness probe, the
// preStop command, SIGTERM, and at most terminationGracePeriodSeconds
// before it would send SIGKILL. An ingress-like client keeps one
// connection to the pod, which learns the pod is draining (503) before that
// connection closes.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { ChildProcess } from 'node:child_process'
import { parseAllDocuments } from 'yaml'
import { FIXTURE_ENV, createNetwork, netnsSkipReason, type HttpResult, type Network } from '../helpers/netns.js'
import { cli, root } from '../helpers/launcher.js'

interface EnvVar { name: string, value?: string, valueFrom?: { secretKeyRef?: { name: string, key: string } } }
interface Probe { httpGet: { path: string, port: string | number } }
interface Container {
  command: string[]
  args?: string[]
  ports: Array<{ name: string, containerPort: number }>
  env: EnvVar[]
  readinessProbe: Probe
  livenessProbe: Probe
  lifecycle: { preStop: { exec: { command: string[] } } }
}
interface Deployment { kind: 'Deployment', spec: { template: { spec: { terminationGracePeriodSeconds: number, containers: Container[] } } } }

const documents = parseAllDocuments(readFileSync(join(root, 'example', 'kubernetes', 'app.yaml'), 'utf8')).map((document) => document.toJS() as { kind: string })
const pod = (documents.find((document) => document.kind === 'Deployment') as Deployment).spec.template.spec
const container = pod.containers[0]!

// What `kubectl create secret generic ... --from-literal=cookie-secret=...` would hold.
const SECRETS: Record<string, string> = { 'fastify-deploy-kit-example/cookie-secret': 'kubernetes-test-cookie-secret-0123456789abcdef' }

function containerEnv (): NodeJS.ProcessEnv {
  // A container's environment is the image's (PATH) plus the manifest's: nothing of the test's.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH }
  for (const variable of container.env) {
    const ref = variable.valueFrom?.secretKeyRef
    env[variable.name] = ref === undefined ? variable.value : SECRETS[`${ref.name}/${ref.key}`]
    if (env[variable.name] === undefined) throw new Error(`env ${variable.name}: no value and no known Secret`)
  }
  return env
}

function port (probe: Probe): number {
  const named = probe.httpGet.port
  return typeof named === 'number' ? named : container.ports.find((p) => p.name === named)!.containerPort
}

/** The pod's output, kept for failure messages and to see the drain start. */
function collect (child: ChildProcess): { text: () => string, waitFor: (needle: string, ms: number) => Promise<boolean> } {
  let text = ''
  const waiters = new Set<() => void>()
  const onData = (chunk: Buffer): void => {
    text += chunk.toString()
    for (const waiter of waiters) waiter()
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  return {
    text: () => text,
    waitFor: async (needle, ms) => await new Promise<boolean>((resolve) => {
      const done = (found: boolean): void => { clearTimeout(timer); waiters.delete(check); resolve(found) }
      const check = (): void => { if (text.includes(needle)) done(true) }
      const timer = setTimeout(() => done(false), ms)
      waiters.add(check)
      check()
    })
  }
}

/** One client line per question, in order (test/fixtures/kubernetes/kept-client.js). */
function keptClient (network: Network, base: string): (path: string) => Promise<{ status?: number, connection?: string, body?: string, socket?: number, error?: string }> {
  const child = network.spawn('node', process.execPath, [join(root, 'test', 'fixtures', 'kubernetes', 'kept-client.js'), base], { stdio: ['pipe', 'pipe', 'pipe'], env: FIXTURE_ENV })
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]()
  return async (path) => {
    child.stdin!.write(`GET ${path}\n`)
    const next = await Promise.race([lines.next(), once(child, 'exit').then(() => ({ done: true, value: undefined }))])
    if (next.done === true) throw new Error('the kept-connection client exited')
    return JSON.parse(next.value as string)
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

if (!existsSync(cli)) {
  t.fail('dist/ is missing: run `npm run build` (the container runs the built CLI)')
} else {
  t.test('the generated pod, run as the kubelet runs it: ready, alive, preStop, SIGTERM, 503 on a kept connection, out within the grace period', { skip: netnsSkipReason() }, async (t) => {
    const network = await createNetwork(t, ['pod', 'node'])
    const address = network.address('pod')
    const argv = [...container.command, ...(container.args ?? [])]
    t.equal(argv[0], 'node', 'the program is node itself (PID 1 in the container)')
    // cwd: the image's working directory holds the package, as this checkout does.
    const child = network.spawn('pod', argv[0]!, argv.slice(1), { cwd: root, env: containerEnv() })
    const output = collect(child)
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>
    const probe = async (p: Probe, timeoutMs: number): Promise<HttpResult> => await network.request('node', `http://${address}:${port(p)}${p.httpGet.path}`, { timeoutMs })

    // Readiness, as often as a patient kubelet would ask, bounded.
    let ready: HttpResult = {}
    const deadline = Date.now() + 30_000
    while (ready.status !== 200 && Date.now() < deadline && child.exitCode === null) {
      ready = await probe(container.readinessProbe, 2_000)
      if (ready.status !== 200) await sleep(100)
    }
    if (ready.status !== 200) {
      t.fail('the readiness probe never answered 200', { last: ready, exitCode: child.exitCode, output: output.text().slice(-3000) })
      return
    }
    t.same(JSON.parse(ready.body!), { status: 'ok' }, 'ready: the launcher\'s health route answers on the named port')
    const live = await probe(container.livenessProbe, 10_000)
    t.equal(live.status, 200, 'the liveness probe answers 200')

    // The kubelet runs preStop first; the pod keeps serving meanwhile.
    const preStop = container.lifecycle.preStop.exec.command
    const pausing = network.exec('pod', preStop[0]!, preStop.slice(1), 60_000)
    const during = await probe(container.readinessProbe, 10_000)
    t.equal((await pausing).code, 0, `preStop (${preStop.join(' ')}) ran to its end`)
    t.equal(during.status, 200, 'still ready during the preStop pause: endpoints update meanwhile')

    // An ingress-like client on one kept connection, then the kubelet's SIGTERM.
    const ask = keptClient(network, `http://${address}:${port(container.readinessProbe)}`)
    const path = container.readinessProbe.httpGet.path
    const before = await ask(path)
    t.match(before, { status: 200, connection: 'keep-alive', socket: 1 }, 'the kept connection: 200, kept alive')
    const signalled = Date.now()
    child.kill('SIGTERM')
    // The log line comes after the drain began (same tick), so the next
    // request on the kept connection arrives at a draining pod. That
    // connection was idle only for the milliseconds since `before`; the
    // drain ends idle connections after 2 s (IDLE_GRACE_MS).
    t.ok(await output.waitFor('stopping: draining in-flight requests', 10_000), 'the launcher started draining', { output: output.text().slice(-2000) })
    const draining = await ask(path)
    t.match(draining, { status: 503, connection: 'close', socket: 1 }, 'on the connection it still holds, the draining pod answers 503 and closes it', { output: output.text().slice(-2000) })
    t.same(JSON.parse(draining.body ?? '{}'), { status: 'draining' }, 'the body says why')
    const fresh = await probe(container.readinessProbe, 10_000)
    t.not(fresh.status, 200, `a new probe connection is not ready either (${fresh.error ?? fresh.status}): the listener is closed`)

    const grace = pod.terminationGracePeriodSeconds * 1000
    let timer: NodeJS.Timeout | undefined
    const outcome = await Promise.race([exited, new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), grace) })])
    clearTimeout(timer)
    if (outcome === 'late') {
      t.fail(`still running ${pod.terminationGracePeriodSeconds} s after SIGTERM: the kubelet would SIGKILL it`, { output: output.text().slice(-3000) })
      return
    }
    t.same(outcome, [0, null], 'exit status 0 after the drain', { output: output.text().slice(-2000) })
    t.comment(`exited ${Date.now() - signalled} ms after SIGTERM; terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds}`)
  })
}
