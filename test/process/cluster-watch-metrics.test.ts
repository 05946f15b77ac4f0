// The Prometheus endpoint of a real launch, in both modes: counters summed
// over the workers stay monotonic across a killed worker and a reload,
// gauges carry a worker label, and the public port does not serve it.
import t from 'tap'
import http from 'node:http'
import { get } from '../helpers/cluster.js'
import { cli, start } from '../helpers/watch.js'
import { tail, until } from '../helpers/wait.js'

function scrape (port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (response) => {
      let text = ''
      response.on('data', (chunk: Buffer) => { text += chunk.toString() })
      response.on('end', () => response.statusCode === 200 ? resolve(text) : reject(new Error(`status ${response.statusCode}`)))
    })
    request.setTimeout(10_000, () => request.destroy(new Error('no metrics answer within 10 s')))
    request.on('error', reject)
  })
}

/** The sum of every series of `name` (e.g. all routes and status classes). */
export function total (text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

for (const mode of ['shared', 'ports'] as const) {
  t.test(`${mode} mode: summed counters are monotonic across a worker restart and a reload; gauges per worker`, async (t) => {
    const { launched, socket, port } = await start(t, mode, { metricsPort: 0 })
    const [listening] = await launched.waitFor((line) => line.msg === 'metrics listening')
    const metricsPort = listening!.port as number
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
    t.teardown(() => agent.destroy())
    const state = { done: false }
    let ok = 0
    const lost: string[] = []
    const load = async (): Promise<void> => {
      while (!state.done && ok < 200_000) {
        // Requests to the killed worker may fail; this test is about the
        // counts. In shared mode a connection the primary hands to the worker
        // at the instant of its SIGKILL is never answered (docs/cluster.md):
        // a short bound keeps that from holding the loop.
        try {
          if ((await get(port, '/', agent, 3_000)).status === 200) ok++
        } catch (error) {
          lost.push((error as Error).message)
        }
      }
    }
    const seen: Array<{ requests: number, durations: number }> = []
    const scrapeErrors: string[] = []
    const watchCounts = async (): Promise<void> => {
      while (!state.done) {
        try {
          const text = await scrape(metricsPort)
          seen.push({ requests: total(text, 'http_requests_total'), durations: total(text, 'http_request_duration_seconds_count') })
        } catch (error) {
          scrapeErrors.push(String(error))
        }
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    const loops = [load(), load(), watchCounts()]
    const last = (): string => `${seen.length} scrapes, last ${JSON.stringify(seen.at(-1))}, ${ok} requests answered, scrape errors ${JSON.stringify(scrapeErrors.slice(-3))}\n${tail(launched.output())}`
    try {
      await until('50 requests counted', () => seen.length >= 3 && seen.at(-1)!.requests >= 50, { last })
      const victim = launched.lines.find((line) => line.msg === 'worker listening' && line.taskId === 1)!.pid
      process.kill(victim, 'SIGKILL')
      await launched.waitFor((line) => line.msg === 'worker listening', 3)
      const reload = await cli('reload', '--socket', socket)
      t.equal(reload.code, 0, 'reloaded', { stderr: reload.stderr, output: tail(launched.output()) })
      await launched.waitFor((line) => line.msg === 'worker stopped', 2)
      const countBefore = seen.length
      await until('three scrapes after the reload', () => seen.length >= countBefore + 3, { last })
    } finally {
      state.done = true
      await Promise.all(loops)
    }
    t.same(scrapeErrors, [], 'every scrape answered, through the kill and the reload')
    const drops = seen.filter((now, i) => i > 0 && (now.requests < seen[i - 1]!.requests || now.durations < seen[i - 1]!.durations))
    t.comment(`${mode}: ${seen.length} scrapes, ${ok} requests answered, ${lost.length} lost with the killed worker ${JSON.stringify(lost.slice(0, 3))}, last sum ${seen.at(-1)!.requests}`)
    t.same(drops, [], 'the summed counters never went down')
    t.ok(seen.length > 10, 'scraped all along')
    const text = await scrape(metricsPort)
    t.ok(total(text, 'http_requests_total') >= ok - 200, 'the sum holds (nearly) every answered request, the killed worker\'s unscraped last ones aside')
    t.equal(total(text, 'http_requests_total'), total(text, 'http_request_duration_seconds_count'), 'histogram counts merged alike')
    t.match(text, /^http_requests_total\{route="\/",status_class="2xx"\} \d+$/m)
    t.match(text, /^http_request_duration_seconds_bucket\{le="0.005",route="\/"\} \d+$/m)
    t.match(text, /^deploy_kit_worker_restarts_total\{cause="crash"\} 1$/m)
    t.match(text, /^deploy_kit_worker_restarts_total\{cause="reload"\} 2$/m)
    t.match(text, /^deploy_kit_worker_restarts_total\{cause="timeout"\} 0$/m)
    for (const gauge of ['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'process_open_fds', 'http_requests_in_flight', 'nodejs_eventloop_delay_p99_seconds', 'nodejs_eventloop_delay_max_seconds', 'nodejs_eventloop_utilization_ratio']) {
      t.match(text, new RegExp(`^${gauge}\\{worker="0"\\} [\\d.e+-]+$`, 'm'), `${gauge} for worker 0`)
      t.match(text, new RegExp(`^${gauge}\\{worker="1"\\} [\\d.e+-]+$`, 'm'), `${gauge} for worker 1`)
    }
    t.match(text, /^deploy_kit_static_cache_hits_total \d+$/m)
    t.match(text, /^deploy_kit_static_cache_memory_bytes\{worker="0"\} \d+$/m)
    t.equal((await get(port, '/metrics').catch(() => ({ status: 404 }))).status, 404, 'the public port does not serve metrics')
  })
}
