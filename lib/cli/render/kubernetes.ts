// The Kubernetes manifests for the app: a Deployment and a Service in one
// file (`kubectl apply -f`). On Kubernetes the orchestrator is the
// supervisor and the scaler, so each pod runs the launcher with ONE worker
// and the Deployment counts pods. What the file makes sure of, and why:
// - node is PID 1 (exec form, no npm or shell), so the kubelet's SIGTERM
//   reaches the launcher and starts its drain;
// - readiness and liveness ask the launcher's health route on the named
//   port, so a pod gets traffic only once its app answers;
// - a preStop pause keeps the pod serving while endpoints and the ingress
//   stop routing to it, and the grace period outlasts that pause plus the
//   launcher's drain, so the kubelet's SIGKILL cuts nothing off;
// - the cookie secret comes from a Secret (one for every pod), trusted
//   proxies are the ingress network only, and a rolling update never takes
//   a ready pod away before its replacement is ready.
// Every value was checked by lib/cli/validate.ts against a strict
// allow-list, so none needs YAML quoting beyond the numbers written as
// strings.

export interface KubernetesOptions {
  /** Deployment, Service and label name (a DNS label). */
  name: string
  /** The image every pod runs (a tag or digest, never `latest`). */
  image: string
  /** The app module, as `deploy-kit start` takes it, inside the image. */
  app: string
  /** The deploy-kit CLI script inside the image, run by node. */
  cli: string
  /** The port the app listens on in the pod (containerPort, named http). */
  port: number
  /** The launcher's health route, probed by the kubelet. */
  health: string
  replicas: number
  /** The Service's port. */
  servicePort: number
  /** The ingress network: IPs or CIDRs that may set X-Real-IP / X-Forwarded-For. */
  trustedProxies: string[]
  /** The Secret holding `cookie-secret`. */
  secret: string
  /** Seconds of preStop pause before the kubelet sends SIGTERM. */
  preStop: number
  /** Seconds the launcher may drain (its --shutdown-timeout). */
  shutdownTimeout: number
  /** The command line, quoted in the header comment. */
  generatedBy: string
}

/**
 * Seconds left after the preStop pause and the drain: the app's own close
 * hooks (database pools, queues) run after the drain, and the process
 * still has to exit before the kubelet's SIGKILL.
 */
export const GRACE_SLACK_SECONDS = 10

/** terminationGracePeriodSeconds: preStop pause + drain + slack. */
export function gracePeriod (preStop: number, shutdownTimeout: number): number {
  return preStop + shutdownTimeout + GRACE_SLACK_SECONDS
}

function deployment (o: KubernetesOptions): string[] {
  const labels = [`app.kubernetes.io/name: ${o.name}`]
  return [
    '# One launcher with ONE worker per pod; the Deployment (or an autoscaler)',
    '# decides how many pods, so Kubernetes, not the launcher, is the process',
    '# supervisor that scales and restarts.',
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${o.name}`,
    '  labels:',
    ...labels.map((label) => `    ${label}`),
    'spec:',
    `  replicas: ${o.replicas}`,
    '  selector:',
    '    matchLabels:',
    ...labels.map((label) => `      ${label}`),
    '  strategy:',
    '    type: RollingUpdate',
    '    rollingUpdate:',
    '      # A new pod must be ready before an old one goes: no dip in capacity.',
    '      maxUnavailable: 0',
    '      maxSurge: 1',
    '  template:',
    '    metadata:',
    '      labels:',
    ...labels.map((label) => `        ${label}`),
    '    spec:',
    `      # The preStop pause (${o.preStop} s) plus the launcher's drain (--shutdown-timeout,`,
    `      # ${o.shutdownTimeout} s), in which in-flight requests finish after SIGTERM, plus`,
    `      # ${GRACE_SLACK_SECONDS} s for the app's close hooks. Past this the kubelet sends SIGKILL`,
    '      # and requests still in flight fail: regenerate rather than raise either alone.',
    `      terminationGracePeriodSeconds: ${gracePeriod(o.preStop, o.shutdownTimeout)}`,
    '      containers:',
    '        - name: app',
    '          # Build once, ship the same image everywhere: every pod must serve',
    '          # the same static bytes, or staticUrl() versions and ETags differ.',
    `          image: ${o.image}`,
    '          # Exec form with node as PID 1: SIGTERM reaches the launcher',
    '          # directly (npm, npx or a shell would not pass it on).',
    '          command:',
    '            - node',
    `            - ${o.cli}`,
    '          args:',
    '            - start',
    `            - ${o.app}`,
    '            # One worker: the orchestrator scales pods, not the launcher.',
    '            - --processes',
    '            - "1"',
    '            - --port',
    `            - "${o.port}"`,
    '            - --host',
    '            - 0.0.0.0',
    '            - --shutdown-timeout',
    `            - "${o.shutdownTimeout}"`,
    '            # The launcher\'s health route (docs/cluster.md, "Health and',
    '            # readiness"): 200 while serving, 503 from the moment the pod',
    '            # starts draining; the app must answer it before it listens.',
    '            - --health-path',
    `            - ${o.health}`,
    '          ports:',
    '            - name: http',
    `              containerPort: ${o.port}`,
    '          env:',
    '            - name: NODE_ENV',
    '              value: production',
    '            # The same secret in every pod, or a cookie signed by one pod',
    '            # fails to verify on the next. Create it once:',
    `            #   kubectl create secret generic ${o.secret} \\`,
    '            #     --from-literal=cookie-secret="$(openssl rand -base64 48)"',
    '            - name: COOKIE_SECRET',
    '              valueFrom:',
    '                secretKeyRef:',
    `                  name: ${o.secret}`,
    '                  key: cookie-secret',
    '            # xheaders.trustedProxies: the network the ingress controller\'s',
    '            # pods run in. Only peers in it may set X-Real-IP /',
    '            # X-Forwarded-For; never 0.0.0.0/0, or any client can claim any address.',
    '            - name: TRUSTED_PROXIES',
    `              value: ${o.trustedProxies.join(',')}`,
    '          readinessProbe:',
    '            # Ready only when the app itself answers its health route. From',
    '            # SIGTERM on the launcher stops accepting (a new probe connection',
    '            # is refused) and answers 503 on the connections it still holds,',
    '            # so the pod leaves the Service\'s endpoints before they close.',
    '            httpGet:',
    `              path: ${o.health}`,
    '              port: http',
    '            periodSeconds: 5',
    '            failureThreshold: 2',
    '          livenessProbe:',
    '            # The same route answers as long as the worker\'s event loop runs.',
    '            # Give the launcher an overload bound and its 503s would make the',
    '            # kubelet restart a pod that is only busy: then probe liveness on',
    '            # another cheap route (a static file served from memory).',
    '            httpGet:',
    `              path: ${o.health}`,
    '              port: http',
    '            initialDelaySeconds: 10',
    '            periodSeconds: 10',
    '            failureThreshold: 3',
    '          lifecycle:',
    '            preStop:',
    '              # Endpoints and the ingress stop sending new requests a few',
    '              # seconds after a pod starts terminating; keep serving until',
    '              # then, and only then does SIGTERM start the drain.',
    '              exec:',
    `                command: ["sleep", "${o.preStop}"]`,
    '          resources:',
    '            # One worker uses at most about one core; size memory to your app.',
    '            requests:',
    '              cpu: 500m',
    '              memory: 128Mi',
    '            limits:',
    '              memory: 256Mi',
    '          securityContext:',
    '            runAsNonRoot: true',
    '            runAsUser: 1000',
    '            allowPrivilegeEscalation: false',
    '            readOnlyRootFilesystem: true'
  ]
}

function service (o: KubernetesOptions): string[] {
  return [
    '# A stable address for the pods; an Ingress (or a LoadBalancer Service) in',
    '# front of it is the cluster\'s balancer.',
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    `  name: ${o.name}`,
    '  labels:',
    `    app.kubernetes.io/name: ${o.name}`,
    'spec:',
    '  type: ClusterIP',
    '  selector:',
    `    app.kubernetes.io/name: ${o.name}`,
    '  ports:',
    '    - name: http',
    `      port: ${o.servicePort}`,
    '      targetPort: http'
  ]
}

export function kubernetesManifests (o: KubernetesOptions): string {
  return [
    `# Generated by ${o.generatedBy}`,
    '# Regenerate rather than edit: the options above are the source of truth.',
    '# Apply with `kubectl apply -f <this file>`; see docs/many-machines.md, "Kubernetes".',
    ...deployment(o),
    '---',
    ...service(o),
    ''
  ].join('\n')
}
