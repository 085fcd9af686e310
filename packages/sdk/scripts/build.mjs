/**
 * Builds the publishable @parley/sdk into dist/: ESM JavaScript + .d.ts for
 * src/ and for the generated contract code (gen/src, the private @parley/gen
 * workspace package), so the packed package depends on nothing that lives only
 * in this workspace.
 *
 * tsc cannot rewrite bare specifiers, so src/ and gen/src are staged side by
 * side in staging/ (gen under staging/gen) and every `@parley/gen/<path>` import
 * of the staged SDK becomes the relative `<..>/gen/<path>.js`; tsc then compiles
 * the stage with NodeNext resolution, which fails on any specifier Node could
 * not load as written.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const pkgDir = fileURLToPath(new URL("..", import.meta.url));
const genSrc = fileURLToPath(new URL("../../../gen/src", import.meta.url));
const stage = join(pkgDir, "staging");
const dist = join(pkgDir, "dist");

rmSync(stage, { recursive: true, force: true });
rmSync(dist, { recursive: true, force: true });
if (!existsSync(genSrc)) throw new Error(`sdk build: generated code missing at ${genSrc} (run make gen)`);
cpSync(join(pkgDir, "src"), stage, { recursive: true });
cpSync(genSrc, join(stage, "gen"), { recursive: true });

/** @param {string} dir @returns {string[]} */
function tsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === join(stage, "gen") ? [] : tsFiles(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

const bare = /(["'])@parley\/gen\/([^"']+)\1/g;
let rewritten = 0;
for (const file of tsFiles(stage)) {
  const source = readFileSync(file, "utf8");
  const out = source.replace(bare, (_m, quote, path) => {
    rewritten++;
    let rel = relative(dirname(file), join(stage, "gen", path)).split(sep).join("/");
    if (!rel.startsWith(".")) rel = `./${rel}`;
    return `${quote}${rel}.js${quote}`;
  });
  if (/(["'])@parley\//.test(out)) throw new Error(`sdk build: ${relative(pkgDir, file)} still imports a workspace package`);
  writeFileSync(file, out);
}
if (rewritten === 0) throw new Error("sdk build: found no @parley/gen import to rewrite; has the source layout changed?");

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
try {
  execFileSync(process.execPath, [tsc, "-p", join(pkgDir, "tsconfig.build.json")], { stdio: "inherit", cwd: pkgDir });
} finally {
  rmSync(stage, { recursive: true, force: true });
}
mkdirSync(dist, { recursive: true });
console.log(`sdk build: dist/ written (${rewritten} generated-code imports made relative)`);
