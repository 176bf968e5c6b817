// Validates the Prometheus Operator objects (ServiceMonitor, PrometheusRule,
// ScrapeConfig, AlertmanagerConfig) of a rendered kustomization against the
// validators generated from the operator's CRDs, as npm's
// @kubernetes-models/prometheus-operator ships them. Run by validate.sh: node validate-crds.mjs NODE_MODULES FILE.YAML
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [modules, file] = process.argv.slice(2);
const load = (path) => import(join(modules, path));
const { parseAllDocuments } = await load("yaml/dist/index.js");
// The kinds the manifests use, by API version.
const kinds = {
  "monitoring.coreos.com/v1": ["ServiceMonitor", "PrometheusRule"],
  "monitoring.coreos.com/v1alpha1": ["ScrapeConfig", "AlertmanagerConfig"],
};

let checked = 0;
let failed = 0;
for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
  const object = doc.toJS();
  if (!object || !String(object.apiVersion).startsWith("monitoring.coreos.com/")) continue;
  const name = `${object.kind}/${object.metadata?.name}`;
  if (!kinds[object.apiVersion]?.includes(object.kind)) {
    console.error(`ERROR ${file}: ${name}: no schema for ${object.apiVersion} ${object.kind}`);
    failed++;
    continue;
  }
  const version = object.apiVersion.split("/")[1];
  const models = await load(`@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}/${object.kind}.js`);
  try {
    new models[object.kind](object).validate();
    console.log(`INFO ${file}: ${name} passed`);
  } catch (err) {
    console.error(`ERROR ${file}: ${name}: ${err.message}`);
    failed++;
  }
  checked++;
}
if (checked === 0) {
  console.error(`ERROR ${file}: no Prometheus Operator object found`);
  process.exit(1);
}
process.exit(failed === 0 ? 0 : 1);
