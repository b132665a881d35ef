// Offline schema validation of rendered Kubernetes manifests (multi-document YAML).
//
//   node validate.mjs [--expect-invalid] FILE...
//
// Each object must pass two independent checks:
//  1. kubernetes-models (JSON schemas of Kubernetes 1.27, ajv): types, required fields,
//     formats, enums. It has no opinion on unknown fields.
//  2. The model classes of @kubernetes/client-node (Kubernetes 1.34): the apiVersion/kind
//     must still be served, and every field at every depth must be a field of its type.
// An apiVersion/kind must be known to both (so one removed since 1.27, e.g. batch/v1beta1
// CronJob, is an error). Exit 0 when every object passes, 1 otherwise (each error printed
// as FILE: Kind/name: path: message).
// --expect-invalid: the opposite, for self-tests: every object must be rejected.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import yaml from 'js-yaml';
import * as k8s from '@kubernetes/client-node';

const require = createRequire(import.meta.url);

function pascal(s) {
  return s.split(/[.-]/).filter(Boolean).map((p) => p[0].toUpperCase() + p.slice(1)).join('');
}

// The kubernetes-models class for apiVersion/kind, or null.
function modelsClass(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const mod = group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
  if (!/^[a-z0-9.]*$/.test(group) || !/^v[0-9]+((alpha|beta)[0-9]+)?$/.test(version)) return null;
  try {
    const m = require(mod);
    return typeof m[kind] === 'function' && m[kind].kind === kind ? m[kind] : null;
  } catch {
    return null;
  }
}

// The client-node model type name for apiVersion/kind ("V1Job", "CoreV1Event"), or null.
function clientType(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const ver = pascal(version);
  const groupName = pascal(group.replace(/\.k8s\.io$/, '').replace(/\.authorization$/, 'Authorization'));
  for (const name of [`${groupName}${ver}${kind}`, `${ver}${kind}`]) {
    if (typeof k8s[name]?.getAttributeTypeMap === 'function') return name;
  }
  return null;
}

const isPlainObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// Unknown fields, at any depth, against client-node's attribute maps. Primitive types are
// checked by the JSON schema (step 1).
function unknownFields(value, type, path, errors) {
  if (value === null || value === undefined) return;
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (!Array.isArray(value)) return errors.push(`${path}: expected a list`);
    value.forEach((v, i) => unknownFields(v, m[1], `${path}[${i}]`, errors));
    return;
  }
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
    if (!isPlainObject(value)) return errors.push(`${path}: expected a map`);
    for (const [k, v] of Object.entries(value)) unknownFields(v, m[1], `${path}.${k}`, errors);
    return;
  }
  const model = k8s[type];
  if (typeof model?.getAttributeTypeMap !== 'function') return;  // string, number, IntOrString ...
  if (!isPlainObject(value)) return errors.push(`${path}: expected an object (${type})`);
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    if (!fields.has(k)) errors.push(`${path ? path + '.' : ''}${k}: unknown field (not in ${type})`);
    else unknownFields(v, fields.get(k), `${path ? path + '.' : ''}${k}`, errors);
  }
}

function schemaErrors(Cls, obj) {
  try {
    new Cls(obj).validate();
    return [];
  } catch (e) {
    if (Array.isArray(e.errors)) {
      return e.errors.map((x) => `${x.instancePath || '/'}: ${x.message}${x.params?.additionalProperty ? ' ' + x.params.additionalProperty : ''}`);
    }
    return [String(e.message || e)];
  }
}

export function validateObject(obj) {
  if (!isPlainObject(obj)) return ['not an object'];
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return ['apiVersion and kind are required'];
  const errors = [];
  const Cls = modelsClass(apiVersion, kind);
  const type = clientType(apiVersion, kind);
  if (!Cls || !type) {
    return [`${apiVersion} ${kind}: not a served Kubernetes API (unknown, misspelled or removed)`];
  }
  errors.push(...schemaErrors(Cls, obj));
  unknownFields(obj, type, '', errors);
  return errors;
}

export function loadDocuments(file) {
  return yaml.loadAll(fs.readFileSync(file, 'utf8')).filter((d) => d !== null && d !== undefined);
}

function main(argv) {
  const expectInvalid = argv[0] === '--expect-invalid';
  const files = expectInvalid ? argv.slice(1) : argv;
  if (files.length === 0) {
    console.error('usage: node validate.mjs [--expect-invalid] FILE...');
    return 2;
  }
  let bad = 0;
  let count = 0;
  for (const file of files) {
    let docs;
    try {
      docs = loadDocuments(file);
    } catch (e) {
      console.error(`${file}: YAML: ${e.message}`);
      bad++;
      continue;
    }
    if (docs.length === 0) {
      console.error(`${file}: no objects`);
      bad++;
    }
    for (const obj of docs) {
      count++;
      const id = `${obj?.kind ?? '?'}/${obj?.metadata?.name ?? '?'}`;
      const errors = validateObject(obj);
      if (expectInvalid) {
        if (errors.length === 0) {
          console.error(`${file}: ${id}: accepted, but it is broken on purpose`);
          bad++;
        } else {
          console.log(`${file}: ${id}: rejected as expected: ${errors[0]}`);
        }
      } else {
        for (const e of errors) console.error(`${file}: ${id}: ${e}`);
        if (errors.length) bad++;
      }
    }
  }
  const verdict = expectInvalid ? 'rejected' : 'valid';
  console.log(`${count - bad} of ${count} objects ${verdict}`);
  return bad === 0 ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(main(process.argv.slice(2)));
