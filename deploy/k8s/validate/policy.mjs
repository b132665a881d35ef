// The project's own policies on rendered manifests (multi-document YAML from
// `kubectl kustomize`), beyond what the Kubernetes schemas say.
//
//   node policy.mjs FILE...            exit 0 when every policy holds, 1 otherwise
//   node policy.mjs --self-test FILE   FILE must pass; then each known violation, applied
//                                      to a copy of it, must be caught
//
// Policies:
//  - every container: non-root (runAsNonRoot, runAsUser 10001, the image's UID), CPU and
//    memory requests and limits, readiness and liveness probes, read-only root filesystem
//    with a writable /tmp mount, no privilege escalation, capabilities drop ALL, seccomp
//    RuntimeDefault; no service account token in any pod;
//  - secrets stay secrets: no Secret object in the output (they are created out of band),
//    no ConfigMap key or value that looks like a password, token or private key, no
//    secret-looking environment variable with a literal value or from a ConfigMap, --config
//    and --tls-key files on Secret-backed volumes;
//  - wiring: the worker's --coordinator names a Service of the output (after any
//    namePrefix/nameSuffix) and one of its ports, that Service selects the coordinator's
//    pods and targets its --listen port; --health-listen is the grpc probes' port; the
//    coordinator Job restarts OnFailure with a backoffLimit; the worker Job is Indexed
//    with parallelism == completions and its --id uses JOB_COMPLETION_INDEX from the
//    downward API; workers get terminationGracePeriodSeconds >= 30.
import fs from 'node:fs';
import yaml from 'js-yaml';

const loadDocuments = (file) =>
  yaml.loadAll(fs.readFileSync(file, 'utf8')).filter((d) => d !== null && d !== undefined);

const IMAGE_UID = 10001;
const SECRET_NAME = /(pass(word|wd)?|secret|token|private|credential|(^|[_.-])key$|tls\.key|access_key)/i;
const SECRET_VALUE = /(-----BEGIN [A-Z ]*PRIVATE KEY-----|"password"\s*:|"oauth2_token|aws_secret_access_key)/i;

const podSpecOf = (o) =>
  o.kind === 'Pod' ? o.spec
    : o.kind === 'CronJob' ? o.spec?.jobTemplate?.spec?.template?.spec
      : o.spec?.template?.spec;
const podLabelsOf = (o) =>
  o.kind === 'Pod' ? o.metadata?.labels : o.spec?.template?.metadata?.labels;

function argValue(args, flag) {
  for (let i = 0; i < (args ?? []).length; i++) {
    if (args[i] === flag) return args[i + 1];
    if (typeof args[i] === 'string' && args[i].startsWith(flag + '=')) return args[i].slice(flag.length + 1);
  }
  return undefined;
}

// The volume behind the mount that holds PATH, or undefined.
function volumeFor(path, container, pod) {
  let best;
  for (const m of container.volumeMounts ?? []) {
    const dir = m.mountPath.replace(/\/$/, '');
    if ((path === dir || path.startsWith(dir + '/')) && (!best || dir.length > best.mountPath.length)) best = m;
  }
  return best && (pod.volumes ?? []).find((v) => v.name === best.name);
}
const secretBacked = (v) =>
  !!v && (v.secret || (v.projected && v.projected.sources.every((s) => s.secret)));

const portNumber = (addr) => Number(String(addr ?? '').split(':').pop());
const matches = (selector, labels) =>
  !!selector && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

export function checkPolicies(objects) {
  const errors = [];
  const err = (o, msg) => errors.push(`${o.kind}/${o.metadata?.name}: ${msg}`);
  const services = objects.filter((o) => o.kind === 'Service');
  const workloads = objects.filter((o) => podSpecOf(o) && ['Pod', 'Job', 'CronJob', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(o.kind));
  const serviceAccounts = new Map(objects.filter((o) => o.kind === 'ServiceAccount').map((o) => [o.metadata.name, o]));
  let coordinator;
  let worker;

  for (const o of objects) {
    if (o.kind === 'Secret') err(o, 'a Secret in the manifests: create Secrets out of band (gen-certs.sh, kubectl create secret)');
    if (o.kind === 'ConfigMap') {
      for (const [k, v] of Object.entries({ ...(o.data ?? {}), ...(o.binaryData ?? {}) })) {
        if (SECRET_NAME.test(k)) err(o, `key ${k} looks like a secret: put it in a Secret`);
        if (SECRET_VALUE.test(String(v))) err(o, `key ${k} holds secret-looking data (password, token or private key): put it in a Secret`);
      }
    }
  }

  for (const o of workloads) {
    const pod = podSpecOf(o);
    const psc = pod.securityContext ?? {};
    const sa = serviceAccounts.get(pod.serviceAccountName ?? 'default');
    if (pod.automountServiceAccountToken !== false && sa?.automountServiceAccountToken !== false) {
      err(o, 'automountServiceAccountToken must be false');
    }
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
      const csc = c.securityContext ?? {};
      const eff = (k) => (csc[k] !== undefined ? csc[k] : psc[k]);
      const where = `container ${c.name}`;
      if (eff('runAsNonRoot') !== true) err(o, `${where}: runAsNonRoot must be true`);
      if (eff('runAsUser') !== IMAGE_UID) err(o, `${where}: runAsUser must be ${IMAGE_UID} (the image's user), is ${eff('runAsUser')}`);
      if (csc.allowPrivilegeEscalation !== false) err(o, `${where}: allowPrivilegeEscalation must be false`);
      if (csc.readOnlyRootFilesystem !== true) err(o, `${where}: readOnlyRootFilesystem must be true`);
      if (!(csc.capabilities?.drop ?? []).includes('ALL')) err(o, `${where}: capabilities must drop ALL`);
      if ((csc.capabilities?.add ?? []).length) err(o, `${where}: adds capabilities`);
      if (csc.privileged) err(o, `${where}: privileged`);
      if ((eff('seccompProfile') ?? {}).type !== 'RuntimeDefault') err(o, `${where}: seccompProfile must be RuntimeDefault`);
      for (const kind of ['requests', 'limits']) {
        for (const r of ['cpu', 'memory']) {
          if (!c.resources?.[kind]?.[r]) err(o, `${where}: resources.${kind}.${r} missing`);
        }
      }
      if (!pod.initContainers?.includes(c)) {
        if (!c.readinessProbe) err(o, `${where}: readinessProbe missing`);
        if (!c.livenessProbe) err(o, `${where}: livenessProbe missing`);
      }
      if (!(c.volumeMounts ?? []).some((m) => m.mountPath === '/tmp')) err(o, `${where}: no writable /tmp mount (the root filesystem is read-only)`);
      if (/:latest$/.test(c.image ?? '') || !c.image) err(o, `${where}: image must be pinned (not :latest)`);
      for (const e of c.env ?? []) {
        if (!SECRET_NAME.test(e.name)) continue;
        if (e.value !== undefined) err(o, `${where}: env ${e.name} has a literal value: use secretKeyRef`);
        if (e.valueFrom?.configMapKeyRef) err(o, `${where}: env ${e.name} comes from a ConfigMap: use secretKeyRef`);
      }
      for (const flag of ['--config', '--tls-key']) {
        const path = argValue(c.args, flag);
        if (path !== undefined && !secretBacked(volumeFor(path, c, pod))) {
          err(o, `${where}: ${flag} ${path} is not on a Secret-backed volume`);
        }
      }
      const health = argValue(c.args, '--health-listen');
      if (health !== undefined) {
        for (const p of ['readinessProbe', 'livenessProbe']) {
          if (c[p] && c[p].grpc?.port !== portNumber(health)) err(o, `${where}: ${p} is not a grpc probe on the --health-listen port ${portNumber(health)}`);
        }
      }
      if (c.command?.[0] === 'coordinator') coordinator = { o, c, pod };
      if (c.command?.[0] === 'worker') worker = { o, c, pod };
    }
  }

  if (coordinator) {
    const { o, c, pod } = coordinator;
    if (o.kind === 'Job') {
      if (pod.restartPolicy !== 'OnFailure') err(o, 'the coordinator Job must restart OnFailure (it resumes from its state)');
      if (typeof o.spec.backoffLimit !== 'number') err(o, 'backoffLimit missing');
    }
    const state = argValue(c.args, '--state');
    const v = state && volumeFor(state, c, pod);
    if (!v?.persistentVolumeClaim) err(o, `--state ${state} is not on a PersistentVolumeClaim: a rescheduled coordinator would start over`);
  }
  if (worker) {
    const { o, c, pod } = worker;
    if (o.kind === 'Job') {
      if (o.spec.completionMode !== 'Indexed') err(o, 'the worker Job must be Indexed');
      if (o.spec.parallelism !== o.spec.completions) err(o, `parallelism (${o.spec.parallelism}) != completions (${o.spec.completions})`);
      const id = argValue(c.args, '--id') ?? '';
      const idx = (c.env ?? []).find((e) => e.name === 'JOB_COMPLETION_INDEX');
      if (!id.includes('$(JOB_COMPLETION_INDEX)')) err(o, '--id must use $(JOB_COMPLETION_INDEX)');
      if (!idx?.valueFrom?.fieldRef?.fieldPath?.includes('batch.kubernetes.io/job-completion-index')) {
        err(o, 'env JOB_COMPLETION_INDEX must come from the job-completion-index annotation (downward API)');
      }
    }
    if (!(pod.terminationGracePeriodSeconds >= 30)) err(o, 'terminationGracePeriodSeconds must be >= 30 (a worker stops at a clean point on SIGTERM)');
    const addr = argValue(c.args, '--coordinator');
    if (!addr) {
      err(o, 'worker has no --coordinator');
    } else {
      const host = addr.replace(/:\d+$/, '').split('.')[0];
      const port = portNumber(addr);
      const svc = services.find((s) => s.metadata.name === host);
      if (!svc) {
        err(o, `--coordinator ${addr}: no Service named ${host} (Services: ${services.map((s) => s.metadata.name).join(', ') || 'none'}); a namePrefix/nameSuffix renames the Service, not the argument`);
      } else {
        const sp = (svc.spec.ports ?? []).find((p) => p.port === port);
        if (!sp) err(o, `--coordinator ${addr}: Service ${host} has no port ${port}`);
        if (!coordinator) {
          err(o, 'no coordinator workload in the output');
        } else {
          const { c: cc, o: co } = coordinator;
          if (!matches(svc.spec.selector, podLabelsOf(co))) err(svc, 'the selector does not select the coordinator pods');
          const listen = portNumber(argValue(cc.args, '--listen'));
          const target = sp?.targetPort ?? sp?.port;
          const cport = typeof target === 'string' ? (cc.ports ?? []).find((p) => p.name === target)?.containerPort : target;
          if (sp && cport !== listen) err(svc, `port ${port} targets ${target} (${cport}), the coordinator listens on ${listen}`);
        }
      }
    }
  }
  if (coordinator) {
    const { o } = coordinator;
    const ok = objects.some((p) => p.kind === 'NetworkPolicy' && (p.spec.policyTypes ?? []).includes('Ingress') &&
      matches(p.spec.podSelector?.matchLabels, podLabelsOf(o)));
    if (!ok) err(o, 'no NetworkPolicy restricts ingress to the coordinator');
  }
  if (!coordinator && !worker) errors.push('no coordinator or worker workload in the output');
  return errors;
}

// Known violations: each, applied to a passing rendering, must be caught.
const MUTATIONS = {
  'root user': (objs) => { container(objs, 'worker').securityContext.runAsUser = 0; },
  'root pod, no container override': (objs) => { podSpecOf(find(objs, 'worker')).securityContext.runAsUser = 0; delete container(objs, 'worker').securityContext.runAsUser; },
  'no memory limit': (objs) => { delete container(objs, 'coordinator').resources.limits.memory; },
  'no liveness probe': (objs) => { delete container(objs, 'worker').livenessProbe; },
  'writable root filesystem': (objs) => { container(objs, 'worker').securityContext.readOnlyRootFilesystem = false; },
  'password in a ConfigMap': (objs) => objs.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { 'config.json': '{"accounts": [{"email": "a@b", "password": "x"}]}' } }),
  'secret-named ConfigMap key': (objs) => objs.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'env' }, data: { AWS_SECRET_ACCESS_KEY: 'x' } }),
  'a Secret in the output': (objs) => objs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { a: 'b' } }),
  'password in an env value': (objs) => { (container(objs, 'worker').env ??= []).push({ name: 'IMAP_PASSWORD', value: 'x' }); },
  'Service renamed (namePrefix)': (objs) => { objs.find((o) => o.kind === 'Service').metadata.name = 'blue-migrator-coordinator'; },
  'worker pointed elsewhere': (objs) => { const a = container(objs, 'worker').args; a[a.indexOf('--coordinator') + 1] = 'coordinator:7000'; },
  'wrong port': (objs) => { const a = container(objs, 'worker').args; a[a.indexOf('--coordinator') + 1] = 'migrator-coordinator:7001'; },
  'probe not on the health port': (objs) => { container(objs, 'coordinator').readinessProbe = { tcpSocket: { port: 7000 } }; },
  'state on an emptyDir': (objs) => { podSpecOf(find(objs, 'coordinator')).volumes.find((v) => v.persistentVolumeClaim?.claimName?.includes('state')).persistentVolumeClaim = undefined; },
  'token mounted': (objs) => { for (const o of objs) { if (podSpecOf(o)) delete podSpecOf(o).automountServiceAccountToken; if (o.kind === 'ServiceAccount') delete o.automountServiceAccountToken; } },
  'fixed worker id': (objs) => { const a = container(objs, 'worker').args; a[a.indexOf('--id') + 1] = 'worker'; },
  'no NetworkPolicy': (objs) => { for (let i = objs.length - 1; i >= 0; i--) if (objs[i].kind === 'NetworkPolicy') objs.splice(i, 1); },
};
function find(objs, cmd) {
  return objs.find((o) => podSpecOf(o)?.containers?.some((c) => c.command?.[0] === cmd));
}
function container(objs, cmd) {
  return podSpecOf(find(objs, cmd)).containers.find((c) => c.command?.[0] === cmd);
}

function main(argv) {
  if (argv[0] === '--self-test') {
    const file = argv[1];
    const base = loadDocuments(file);
    const clean = checkPolicies(structuredClone(base));
    if (clean.length) {
      for (const e of clean) console.error(`${file}: ${e}`);
      console.error('self-test: the unmodified rendering must pass');
      return 1;
    }
    let missed = 0;
    for (const [name, mutate] of Object.entries(MUTATIONS)) {
      const objs = structuredClone(base);
      mutate(objs);
      const errs = checkPolicies(objs);
      if (errs.length === 0) {
        console.error(`self-test: violation "${name}" was NOT caught`);
        missed++;
      } else {
        console.log(`self-test: "${name}" caught: ${errs[0]}`);
      }
    }
    const n = Object.keys(MUTATIONS).length;
    console.log(`self-test: ${n - missed} of ${n} violations caught`);
    return missed ? 1 : 0;
  }
  if (argv.length === 0) {
    console.error('usage: node policy.mjs [--self-test] FILE...');
    return 2;
  }
  let bad = 0;
  for (const file of argv) {
    const errs = checkPolicies(loadDocuments(file));
    for (const e of errs) console.error(`${file}: ${e}`);
    console.log(`${file}: ${errs.length ? errs.length + ' policy violation(s)' : 'policies hold'}`);
    if (errs.length) bad++;
  }
  return bad ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(main(process.argv.slice(2)));
