// Validates rendered manifests against the Kubernetes OpenAPI schemas without a cluster
// (no kubeconform here), with the kubernetes-models, @kubernetes-models/prometheus-operator and
// yaml packages (root devDependencies; K8S_MODELS_DIR points elsewhere if wanted). Run by
// scripts/check-chart.sh (make check):
//   node deploy/tools/validate-manifests.mjs deploy/k8s/parley.yaml
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = process.env.K8S_MODELS_DIR || fileURLToPath(new URL("../..", import.meta.url));
const mod = (p) => import(pathToFileURL(join(dir, "node_modules", p)).href);
const { parseAllDocuments } = await mod("yaml/dist/index.js");

// apiVersion → module path inside kubernetes-models (core "v1" lives at its root).
const modulePath = (apiVersion) =>
  apiVersion.startsWith("monitoring.coreos.com/")
    ? `@kubernetes-models/prometheus-operator/${apiVersion}/index.js`
    : `kubernetes-models/${apiVersion}/index.js`;

let checked = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const obj = doc.toJS();
    if (!obj) continue;
    const where = `${file}: ${obj.kind}/${obj.metadata?.name}`;
    try {
      const models = await mod(modulePath(obj.apiVersion));
      const Model = models[obj.kind];
      if (!Model) throw new Error(`unknown kind ${obj.kind} in ${obj.apiVersion}`);
      new Model(obj).validate();
      checked++;
    } catch (err) {
      failed++;
      console.error(`FAIL ${where}\n  ${String(err.message ?? err).split("\n").join("\n  ")}`);
    }
  }
}
console.log(`${checked} objects valid, ${failed} invalid`);
// Nothing to check is a failure too: an empty render would otherwise pass.
process.exit(failed === 0 && checked > 0 ? 0 : 1);
