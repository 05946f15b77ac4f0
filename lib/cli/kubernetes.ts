// deploy-kit kubernetes: prints the Deployment and Service that run the app
// on Kubernetes, one worker per pod (lib/cli/render/kubernetes.ts).
import type { CliIo } from './io.js'
import { kubernetesManifests, GRACE_SLACK_SECONDS } from './render/kubernetes.js'
import { fromFlags, optional, required, runGenerator, type Generator } from './generate.js'
import type { Flags } from './flags.js'
import * as check from './validate.js'
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from '../cluster/server.js'

/** The flags of `deploy-kit kubernetes`, declared once: parseArgs options, --help lines, docs/cli.md rows and defaults. */
export const KUBERNETES_FLAGS = {
  name: { type: 'string', value: 'NAME', required: true, usage: 'Deployment, Service and label name', doc: 'Deployment, Service and `app.kubernetes.io/name` label (lower-case letters, digits, `-`)' },
  image: { type: 'string', value: 'IMAGE', required: true, usage: 'the image, with a fixed tag or digest', doc: 'the image of every pod, with a fixed tag or a digest; `latest` or no tag is refused (pods started on different days would serve different static bytes)' },
  app: { type: 'string', value: 'MODULE', required: true, usage: 'the app module in the image, relative to its\nworking directory, e.g. ./dist/app.js', doc: 'the app module inside the image, relative to its working directory' },
  'trusted-proxies': { type: 'string', value: 'CIDRS', required: true, usage: 'the ingress controller\'s pod network, e.g.\n10.244.0.0/16; never 0.0.0.0/0', doc: 'the network of the ingress controller\'s pods (IPs or CIDRs), the app\'s `TRUSTED_PROXIES`; `0.0.0.0/0` and anything wider than `/8` (`/16` for IPv6) are refused' },
  cli: { type: 'string', value: 'PATH', default: 'node_modules/fastify-deploy-kit/dist/cli/main.js', usage: 'the deploy-kit CLI in the image, run by node\n(default {default})', doc: 'the deploy-kit CLI inside the image, run by `node`' },
  port: { type: 'string', value: 'P', default: '8888', usage: 'the app\'s port in the pod', doc: 'the app\'s port in the pod, the container port named `http`' },
  health: { type: 'string', value: 'PATH', default: '/healthz', usage: 'the launcher\'s health route, probed by the kubelet\n(default {default})', doc: 'the launcher\'s `--health-path`, and the path of the readiness and liveness probes' },
  replicas: { type: 'string', value: 'N', default: '2', usage: 'pods', doc: 'pods; the rolling update has `maxUnavailable: 0`, `maxSurge: 1`' },
  'service-port': { type: 'string', value: 'P', default: '80', usage: 'the Service\'s port', doc: 'the Service\'s port (it targets the named port `http`)' },
  secret: { type: 'string', value: 'NAME', usage: 'the Secret with the cookie-secret key (default NAME)', shown: 'NAME', doc: 'the Secret whose `cookie-secret` key becomes `COOKIE_SECRET`' },
  'pre-stop': { type: 'string', value: 'SECS', default: '5', usage: 'pause before SIGTERM while endpoints update', doc: 'the `preStop` pause before `SIGTERM`, while endpoints and the ingress stop routing to the pod' },
  'shutdown-timeout': { type: 'string', value: 'SECS', default: String(DEFAULT_SHUTDOWN_TIMEOUT_MS / 1000), usage: `the launcher's drain (default {default});\nterminationGracePeriodSeconds is pre-stop + this + ${GRACE_SLACK_SECONDS}`, shown: `\`${DEFAULT_SHUTDOWN_TIMEOUT_MS / 1000}\` (the launcher's)`, doc: `the launcher's drain; \`terminationGracePeriodSeconds\` is pre-stop + this + ${GRACE_SLACK_SECONDS} s for the app's close hooks` }
} as const satisfies Flags

export const generator: Generator = {
  command: 'kubernetes',
  ...fromFlags(`Usage: deploy-kit kubernetes --name NAME --image IMAGE --app MODULE --trusted-proxies CIDRS [options]

Prints a Deployment and a Service (one file for kubectl apply -f): each pod
runs \`deploy-kit start MODULE --processes 1\` as PID 1, probed on the
launcher's health route; Kubernetes scales and restarts the pods.

`, KUBERNETES_FLAGS, 25),
  build (values, generatedBy) {
    const name = check.dnsLabel('--name', required(values, 'name', 'the Deployment and Service name'))
    return kubernetesManifests({
      name,
      image: check.image('--image', required(values, 'image', 'the image every pod runs')),
      app: check.filePath('--app', required(values, 'app', 'the app module in the image')),
      trustedProxies: check.trustedNetworks('--trusted-proxies', required(values, 'trusted-proxies', 'the ingress network')),
      cli: check.filePath('--cli', optional(values, 'cli', KUBERNETES_FLAGS.cli.default)),
      port: check.port('--port', optional(values, 'port', KUBERNETES_FLAGS.port.default)),
      health: check.urlPath('--health', optional(values, 'health', KUBERNETES_FLAGS.health.default)),
      replicas: check.positiveInteger('--replicas', optional(values, 'replicas', KUBERNETES_FLAGS.replicas.default), 1000),
      servicePort: check.port('--service-port', optional(values, 'service-port', KUBERNETES_FLAGS['service-port'].default)),
      secret: check.dnsLabel('--secret', optional(values, 'secret', name)),
      preStop: check.positiveInteger('--pre-stop', optional(values, 'pre-stop', KUBERNETES_FLAGS['pre-stop'].default), 300),
      shutdownTimeout: check.positiveInteger('--shutdown-timeout', optional(values, 'shutdown-timeout', KUBERNETES_FLAGS['shutdown-timeout'].default), 3600),
      generatedBy
    })
  }
}

export async function run (args: string[], io: CliIo): Promise<number> {
  return await runGenerator(generator, args, io)
}
