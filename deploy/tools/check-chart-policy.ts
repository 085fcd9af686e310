/**
 * The chart's safe defaults, asserted on rendered manifests (scripts/check-chart.sh): what
 * schema validation cannot see because it is about what the templates make of the values.
 *   node --import tsx deploy/tools/check-chart-policy.ts [--defaults] <rendered.yaml>...
 * Every file: no Ingress routes to a port other than http / ws (metrics and readiness stay off
 * the internet), no container gets DEV_MAILBOX, the edge HPA scales on sockets per pod.
 * --defaults (a render of values.yaml alone): no Secret is rendered (credentials by reference
 * only), a NetworkPolicy restricts both directions, streams are created with 3 replicas.
 */
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

interface K8sObject {
  kind?: string;
  metadata?: { name?: string };
  spec?: Record<string, unknown>;
}
interface EnvVar {
  name: string;
  value?: string;
}
interface Container {
  name: string;
  env?: EnvVar[];
}
interface IngressPath {
  path: string;
  backend: { service: { name: string; port: { name?: string; number?: number } } };
}
interface IngressRule {
  http?: { paths: IngressPath[] };
}
interface HpaMetric {
  type: string;
  pods?: { metric: { name: string }; target: { type: string; averageValue?: string } };
}

const PUBLIC_PORTS = new Set(["http", "ws"]);
const args = process.argv.slice(2);
const defaults = args.includes("--defaults");
const files = args.filter((a) => a !== "--defaults");
const problems: string[] = [];

for (const file of files) {
  const objects = parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
  const named = (o: K8sObject): string => `${file}: ${o.kind}/${o.metadata?.name}`;
  const ofKind = (kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);

  for (const ing of ofKind("Ingress")) {
    for (const rule of (ing.spec?.rules ?? []) as IngressRule[]) {
      for (const p of rule.http?.paths ?? []) {
        const port = p.backend.service.port.name ?? String(p.backend.service.port.number);
        if (!PUBLIC_PORTS.has(port)) problems.push(`${named(ing)} routes ${p.path} to port ${port}; only http and ws may be public`);
      }
    }
  }

  const containers = ofKind("Deployment").flatMap((d) => {
    const template = d.spec?.template as { spec: { containers: Container[] } };
    return template.spec.containers.map((c) => ({ deployment: d, container: c }));
  });
  for (const { deployment, container } of containers) {
    const env = new Map((container.env ?? []).map((e) => [e.name, e.value]));
    if (env.has("DEV_MAILBOX")) problems.push(`${named(deployment)} sets DEV_MAILBOX`);
    if (defaults && env.get("NATS_STREAM_REPLICAS") !== "3") {
      problems.push(`${named(deployment)}: NATS_STREAM_REPLICAS is ${env.get("NATS_STREAM_REPLICAS")}, want "3" (the production JetStream cluster)`);
    }
  }

  for (const hpa of ofKind("HorizontalPodAutoscaler")) {
    const metrics = (hpa.spec?.metrics ?? []) as HpaMetric[];
    const sockets = metrics.find((m) => m.type === "Pods" && m.pods?.metric.name === "parley_realtime_sockets");
    const isEdge = hpa.metadata?.name?.endsWith("-realtime") ?? false;
    if (isEdge && sockets?.pods?.target.type !== "AverageValue") problems.push(`${named(hpa)} does not scale on parley_realtime_sockets per pod`);
    if (!isEdge && sockets) problems.push(`${named(hpa)} scales on the edge's socket gauge`);
  }

  if (defaults) {
    for (const secret of ofKind("Secret")) problems.push(`${named(secret)} is rendered by default; credentials must be referenced (existingSecret)`);
    const policies = ofKind("NetworkPolicy");
    const types = policies.flatMap((p) => (p.spec?.policyTypes ?? []) as string[]);
    if (!types.includes("Ingress") || !types.includes("Egress")) problems.push(`${file}: no NetworkPolicy restricting both Ingress and Egress by default`);
    if (ofKind("Deployment").length === 0) problems.push(`${file}: no Deployment rendered`);
  }
}

for (const p of problems) console.error(`FAIL ${p}`);
console.log(`chart policy: ${files.length} file(s), ${problems.length} problem(s)`);
process.exit(problems.length === 0 ? 0 : 1);
