// Validates custom resources against the prometheus-operator schemas of @kubernetes-models/prometheus-operator.
// stdin: a JSON array of objects; stdout: a JSON array of {kind, name, error} (error null when valid).
import { readFileSync } from "node:fs";

const objects = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const object of objects) {
  const name = object.metadata?.name ?? null;
  let error = null;
  try {
    const module = await import(`@kubernetes-models/prometheus-operator/${object.apiVersion}/${object.kind}`);
    new module[object.kind](object).validate();
  } catch (exc) {
    error = String(exc.message ?? exc);
  }
  results.push({ kind: object.kind, name, error });
}
process.stdout.write(JSON.stringify(results));
