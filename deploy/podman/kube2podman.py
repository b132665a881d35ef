#!/usr/bin/python3
"""kube2podman.py — the `podman run` arguments of one Job's container in a rendered overlay.

`podman kube play` (4.3) ignores Jobs and Services, drops gRPC probes and mishandles
Secret volumes, so fleet-check.sh runs the manifests' containers with `podman run`
instead; this script is the translation, so the test runs what the manifests say (image,
command, arguments, environment, security context, volumes, resources) and not a copy.

  kube2podman.py RENDERED.yaml JOB [options]      prints the podman run arguments after
                                                  `podman run`, NUL-separated: the flags,
                                                  the image, the command and its arguments
  kube2podman.py RENDERED.yaml JOB --parallelism  prints the Job's spec.parallelism

Options:
  --image NAME            run this image instead of the manifest's (a local test tag)
  --index N               the pod's completion index (Indexed Jobs: the annotation
                          batch.kubernetes.io/job-completion-index), default 0
  --secret NAME=DIR       a Secret's keys as the files of DIR (repeatable)
  --claim NAME=VOLUME     a PersistentVolumeClaim as a podman volume (repeatable)
  --volume-dir DIR        where Secret and projected volumes are assembled (one
                          subdirectory per volume; files mode defaultMode, owner
                          root:fsGroup, as the kubelet does)
  --drop-flag FLAG        drop FLAG and its value from the arguments (repeatable)
  --replace-arg OLD=NEW   replace an argument equal to OLD (repeatable)
  --extra-arg ARG         append ARG to the arguments (repeatable)
  --set-env NAME=VALUE    set an environment variable after the manifest's (what an
                          operator would put in a settings file; repeatable)

Translated (anything else in a pod spec is an error, so a manifest change is noticed):
command/args with $(VAR) expansion; env (value, fieldRef of the completion index,
secretKeyRef incl. optional), envFrom configMapRef (the rendered ConfigMap); the pod's and
the container's securityContext (runAsUser/runAsGroup -> --user, runAsNonRoot checked,
readOnlyRootFilesystem -> --read-only, capabilities.drop -> --cap-drop,
allowPrivilegeEscalation false -> no-new-privileges, seccompProfile RuntimeDefault ->
podman's default profile, fsGroup -> --group-add and the Secret files' group);
volumes: secret and projected secrets (assembled files, mounted read-only),
persistentVolumeClaim (a podman volume), emptyDir (a tmpfs of sizeLimit);
resources.limits -> --memory/--cpus; terminationGracePeriodSeconds -> --stop-timeout.
Not translated (reported by fleet-check.sh): probes, ports (containers share a network),
restartPolicy/backoffLimit/completions (Job controller), serviceAccount, labels.
"""
import argparse
import os
import re
import sys

import yaml

MEM_UNITS = {'Ki': 1 << 10, 'Mi': 1 << 20, 'Gi': 1 << 30, 'K': 10**3, 'M': 10**6, 'G': 10**9}


def die(msg):
    sys.stderr.write('kube2podman.py: error: %s\n' % msg)
    sys.exit(1)


def quantity_bytes(q):
    m = re.fullmatch(r'(\d+)([KMG]i?)?', str(q))
    if not m:
        die('unsupported quantity %r' % q)
    return int(m.group(1)) * MEM_UNITS.get(m.group(2) or '', 1)


def cpus(q):
    q = str(q)
    return '%g' % (int(q[:-1]) / 1000 if q.endswith('m') else float(q))


def pair_list(values, what):
    out = {}
    for v in values or []:
        k, sep, rest = v.partition('=')
        if not sep:
            die('%s needs NAME=VALUE, got %r' % (what, v))
        out[k] = rest
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument('rendered')
    p.add_argument('job')
    p.add_argument('--parallelism', action='store_true')
    p.add_argument('--image')
    p.add_argument('--index', type=int, default=0)
    p.add_argument('--secret', action='append')
    p.add_argument('--claim', action='append')
    p.add_argument('--volume-dir')
    p.add_argument('--drop-flag', action='append', default=[])
    p.add_argument('--replace-arg', action='append')
    p.add_argument('--extra-arg', action='append', default=[])
    p.add_argument('--set-env', action='append')
    a = p.parse_args()
    secrets = pair_list(a.secret, '--secret')
    claims = pair_list(a.claim, '--claim')
    replace = pair_list(a.replace_arg, '--replace-arg')

    with open(a.rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    jobs = [d for d in docs if d.get('kind') == 'Job' and d['metadata']['name'] == a.job]
    if len(jobs) != 1:
        die('%d Jobs named %s in %s' % (len(jobs), a.job, a.rendered))
    job = jobs[0]
    if a.parallelism:
        print(job['spec'].get('parallelism', 1))
        return
    configmaps = {d['metadata']['name']: d.get('data', {}) for d in docs
                  if d.get('kind') == 'ConfigMap'}
    pod = job['spec']['template']['spec']
    if len(pod['containers']) != 1 or pod.get('initContainers'):
        die('%s: exactly one container and no init containers expected' % a.job)
    c = pod['containers'][0]
    psc, csc = pod.get('securityContext', {}), c.get('securityContext', {})
    sc = dict(psc, **csc)
    out = []

    # Security context.
    uid, gid = sc.get('runAsUser'), sc.get('runAsGroup')
    if uid is None:
        die('%s: no runAsUser (the test runs what the manifest pins)' % a.job)
    if sc.get('runAsNonRoot') and int(uid) == 0:
        die('%s: runAsNonRoot with runAsUser 0' % a.job)
    out += ['--user', '%s:%s' % (uid, gid if gid is not None else uid)]
    fs_group = psc.get('fsGroup')
    if fs_group is not None:
        out += ['--group-add', str(fs_group)]
    if sc.get('readOnlyRootFilesystem'):
        out.append('--read-only')
    for cap in sc.get('capabilities', {}).get('drop', []):
        out += ['--cap-drop', cap]
    if sc.get('capabilities', {}).get('add'):
        die('%s: capabilities.add is not translated' % a.job)
    if sc.get('allowPrivilegeEscalation') is False:
        out += ['--security-opt', 'no-new-privileges']
    seccomp = sc.get('seccompProfile', {}).get('type', 'RuntimeDefault')
    if seccomp != 'RuntimeDefault':
        die('%s: seccompProfile %s is not translated' % (a.job, seccomp))
    if 'terminationGracePeriodSeconds' in pod:
        out += ['--stop-timeout', str(pod['terminationGracePeriodSeconds'])]

    # Resources: the limits (requests only matter to a scheduler).
    limits = c.get('resources', {}).get('limits', {})
    if 'memory' in limits:
        out += ['--memory', str(quantity_bytes(limits['memory']))]
    if 'cpu' in limits:
        out += ['--cpus', cpus(limits['cpu'])]

    # Environment, in the manifest's order (envFrom first, as the kubelet does).
    env = {}
    for ef in c.get('envFrom', []):
        ref = ef.get('configMapRef')
        if not ref or ref['name'] not in configmaps:
            die('%s: envFrom %r is not a rendered ConfigMap' % (a.job, ef))
        env.update(configmaps[ref['name']])
    for e in c.get('env', []):
        if 'value' in e:
            env[e['name']] = str(e['value'])
            continue
        vf = e.get('valueFrom', {})
        if vf.get('fieldRef', {}).get('fieldPath') == \
                "metadata.annotations['batch.kubernetes.io/job-completion-index']":
            env[e['name']] = str(a.index)
        elif 'secretKeyRef' in vf:
            ref = vf['secretKeyRef']
            path = os.path.join(secrets.get(ref['name'], '/nonexistent'), ref['key'])
            if os.path.isfile(path):
                with open(path) as f:
                    env[e['name']] = f.read()
            elif not ref.get('optional'):
                die('%s: env %s needs Secret %s key %s (--secret)' %
                    (a.job, e['name'], ref['name'], ref['key']))
        else:
            die('%s: env %s: valueFrom %r is not translated' % (a.job, e['name'], vf))
    env.update(pair_list(a.set_env, '--set-env'))
    for k, v in env.items():
        out += ['--env', '%s=%s' % (k, v)]

    # Volumes.
    vols = {v['name']: v for v in pod.get('volumes', [])}
    for m in c.get('volumeMounts', []):
        v = vols.get(m['name']) or die('%s: mount of unknown volume %s' % (a.job, m['name']))
        ro = ':ro' if m.get('readOnly') else ''
        if 'subPath' in m:
            die('%s: subPath is not translated' % a.job)
        if 'emptyDir' in v:
            size = v['emptyDir'].get('sizeLimit')
            opt = 'rw,nosuid,nodev,mode=1777' + (',size=%d' % quantity_bytes(size) if size else '')
            out += ['--tmpfs', '%s:%s' % (m['mountPath'], opt)]
        elif 'persistentVolumeClaim' in v:
            claim = v['persistentVolumeClaim']['claimName']
            if claim not in claims:
                die('%s: PVC %s needs a podman volume (--claim)' % (a.job, claim))
            out += ['--volume', '%s:%s%s' % (claims[claim], m['mountPath'], ro)]
        elif 'secret' in v or 'projected' in v:
            out += ['--volume', '%s:%s:ro' % (assemble(a, v, secrets, fs_group), m['mountPath'])]
        else:
            die('%s: volume %s: type not translated' % (a.job, m['name']))

    image = a.image or c['image']
    out.append(image)
    # Arguments: $(VAR) from the container's environment, then the test's edits.
    expand = lambda s: re.sub(r'\$\(([A-Za-z_][A-Za-z0-9_]*)\)',
                              lambda mm: env.get(mm.group(1), mm.group(0)), s)
    argv = [expand(x) for x in c.get('command', []) + c.get('args', [])]
    i, kept = 0, []
    while i < len(argv):
        if argv[i] in a.drop_flag:
            i += 2
            continue
        kept.append(replace.get(argv[i], argv[i]))
        i += 1
    out += kept + a.extra_arg
    sys.stdout.write('\0'.join(out) + '\0')


def assemble(a, v, secrets, fs_group):
    """A Secret or projected-Secret volume as the kubelet lays it out, in a directory."""
    if not a.volume_dir:
        die('Secret volumes need --volume-dir')
    if 'secret' in v:
        sources = [{'secret': v['secret']}]
        mode = v['secret'].get('defaultMode', 0o644)
    else:
        sources = v['projected']['sources']
        mode = v['projected'].get('defaultMode', 0o644)
    d = os.path.join(a.volume_dir, '%s-%s-%d' % (a.job, v['name'], a.index))
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    for s in sources:
        if 'secret' not in s:
            die('projected source %r is not translated' % s)
        name = s['secret'].get('secretName') or s['secret'].get('name')
        src = secrets.get(name) or die('Secret %s needs --secret' % name)
        items = s['secret'].get('items') or [{'key': k, 'path': k} for k in sorted(os.listdir(src))]
        for it in items:
            dst = os.path.join(d, it['path'])
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.chmod(os.path.dirname(dst), 0o755)
            with open(os.path.join(src, it['key']), 'rb') as f:
                data = f.read()
            with open(dst, 'wb') as f:
                f.write(data)
            os.chmod(dst, it.get('mode', mode))
            if fs_group is not None and os.geteuid() == 0:
                os.chown(dst, 0, int(fs_group))
    return d


if __name__ == '__main__':
    main()
