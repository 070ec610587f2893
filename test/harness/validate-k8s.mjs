// Validates Kubernetes objects against the Kubernetes OpenAPI schemas, offline, with
// kubernetes-models (ESM only, hence a script of its own that the jest test runs with node).
// Reads a JSON array of objects on stdin; prints a JSON array of problems ([] when all are valid).
import { readFileSync } from 'node:fs';

const objects = JSON.parse(readFileSync(0, 'utf8'));
const problems = [];
for (const obj of objects) {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const module = group === '' ? `kubernetes-models/${version}` : `kubernetes-models/${group}/${version}`;
  const what = `${obj.kind}/${obj.metadata?.name}`;
  let models;
  try {
    models = await import(module);
  } catch {
    problems.push({ object: what, problem: `no schema for ${obj.apiVersion}` });
    continue;
  }
  const Model = models[obj.kind];
  if (!Model) {
    problems.push({ object: what, problem: `no schema for kind ${obj.kind} in ${obj.apiVersion}` });
    continue;
  }
  try {
    new Model(obj).validate();
  } catch (err) {
    problems.push({ object: what, problem: String(err.message).slice(0, 2000) });
  }
}
process.stdout.write(JSON.stringify(problems));
