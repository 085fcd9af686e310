/**
 * helm/parley/values.schema.json documents every value: each property it declares, at any
 * depth (also in $defs, allOf and if/then branches), has a description. Run by
 * scripts/check-chart.sh; helm itself only validates, it does not require descriptions.
 *   node --import tsx deploy/tools/check-values-schema.ts helm/parley/values.schema.json
 */
import { readFileSync } from "node:fs";

type Schema = { [key: string]: unknown };
const isSchema = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

const file = process.argv[2] ?? "helm/parley/values.schema.json";
const root: unknown = JSON.parse(readFileSync(file, "utf8"));
const undocumented: string[] = [];

function walk(node: unknown, path: string): void {
  if (!isSchema(node)) return;
  const properties = node.properties;
  if (isSchema(properties)) {
    for (const [name, child] of Object.entries(properties)) {
      if (!isSchema(child) || typeof child.description !== "string" || child.description.trim() === "") undocumented.push(`${path}.${name}`);
      walk(child, `${path}.${name}`);
    }
  }
  for (const key of ["items", "additionalProperties", "propertyNames", "if", "then", "else", "not"]) walk(node[key], `${path}/${key}`);
  for (const key of ["allOf", "anyOf", "oneOf"]) {
    const list = node[key];
    if (Array.isArray(list)) list.forEach((branch, i) => walk(branch, `${path}/${key}[${i}]`));
  }
  const defs = node.$defs;
  if (isSchema(defs)) for (const [name, def] of Object.entries(defs)) walk(def, `$defs.${name}`);
}

walk(root, "");
for (const p of undocumented) console.error(`FAIL ${file}: ${p} has no description`);
console.log(`values schema: ${undocumented.length} undocumented propert${undocumented.length === 1 ? "y" : "ies"}`);
process.exit(undocumented.length === 0 ? 0 : 1);
