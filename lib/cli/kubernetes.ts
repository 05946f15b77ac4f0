// deploy-kit kubernetes: prints the Deployment and Service that run the app
// on Kubernetes, one worker per pod (lib/cli/render/kubernetes.ts).
import type { CliIo } from './io.js'
import { kubernetesManifests, GRACE_SLACK_SECONDS } from './render/kubernetes.js'
import { optional, required, runGenerator, type Generator } from './generate.js'
import * as check from './validate.js'
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from '../cluster/server.js'

const DEFAULT_CLI = 'node_modules/fastify-deploy-kit/dist/cli/main.js'
const DEFAULT_SHUTDOWN_TIMEOUT = String(DEFAULT_SHUTDOWN_TIMEOUT_MS / 1000)

export const USAGE = `Usage: deploy-kit kubernetes --name NAME --image IMAGE --app MODULE --trusted-proxies CIDRS [options]

Prints a Deployment and a Service (one file for kubectl apply -f): each pod
runs \`deploy-kit start MODULE --processes 1\` as PID 1, probed on the
launcher's health route; Kubernetes scales and restarts the pods.

  --name NAME              Deployment, Service and label name (required)
  --image IMAGE            the image, with a fixed tag or digest (required)
  --app MODULE             the app module in the image, relative to its
                           working directory, e.g. ./dist/app.js (required)
  --trusted-proxies CIDRS  the ingress controller's pod network, e.g.
                           10.244.0.0/16 (required; never 0.0.0.0/0)
  --cli PATH               the deploy-kit CLI in the image, run by node
                           (default ${DEFAULT_CLI})
  --port P                 the app's port in the pod (default 8888)
  --health PATH            the launcher's health route, probed by the kubelet
                           (default /healthz)
  --replicas N             pods (default 2)
  --service-port P         the Service's port (default 80)
  --secret NAME            the Secret with the cookie-secret key (default NAME)
  --pre-stop SECS          pause before SIGTERM while endpoints update (default 5)
  --shutdown-timeout SECS  the launcher's drain (default ${DEFAULT_SHUTDOWN_TIMEOUT});
                           terminationGracePeriodSeconds is pre-stop + this + ${GRACE_SLACK_SECONDS}
  --output, -o FILE        write the file instead of printing it
`

export const generator: Generator = {
  command: 'kubernetes',
  usage: USAGE,
  options: {
    name: { type: 'string' },
    image: { type: 'string' },
    app: { type: 'string' },
    'trusted-proxies': { type: 'string' },
    cli: { type: 'string' },
    port: { type: 'string' },
    health: { type: 'string' },
    replicas: { type: 'string' },
    'service-port': { type: 'string' },
    secret: { type: 'string' },
    'pre-stop': { type: 'string' },
    'shutdown-timeout': { type: 'string' }
  },
  build (values, generatedBy) {
    const name = check.dnsLabel('--name', required(values, 'name', 'the Deployment and Service name'))
    return kubernetesManifests({
      name,
      image: check.image('--image', required(values, 'image', 'the image every pod runs')),
      app: check.filePath('--app', required(values, 'app', 'the app module in the image')),
      trustedProxies: check.trustedNetworks('--trusted-proxies', required(values, 'trusted-proxies', 'the ingress network')),
      cli: check.filePath('--cli', optional(values, 'cli', DEFAULT_CLI)),
      port: check.port('--port', optional(values, 'port', '8888')),
      health: check.urlPath('--health', optional(values, 'health', '/healthz')),
      replicas: check.positiveInteger('--replicas', optional(values, 'replicas', '2'), 1000),
      servicePort: check.port('--service-port', optional(values, 'service-port', '80')),
      secret: check.dnsLabel('--secret', optional(values, 'secret', name)),
      preStop: check.positiveInteger('--pre-stop', optional(values, 'pre-stop', '5'), 300),
      shutdownTimeout: check.positiveInteger('--shutdown-timeout', optional(values, 'shutdown-timeout', DEFAULT_SHUTDOWN_TIMEOUT), 3600),
      generatedBy
    })
  }
}

export async function run (args: string[], io: CliIo): Promise<number> {
  return await runGenerator(generator, args, io)
}
