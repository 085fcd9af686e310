// Runs at `pnpm pack` / `pnpm publish` only (beforePacking; no install hook here).
// @parley/sdk is the one package partners install: its published manifest must not name the
// workspace's private packages (devDependencies such as @parley/gen, compiled into dist/gen) nor
// carry its build scripts, and it must not point into src/ (publishConfig already swapped in dist).
module.exports = {
  hooks: {
    beforePacking(pkg) {
      if (pkg.name !== "@parley/sdk") return pkg;
      delete pkg.devDependencies;
      delete pkg.scripts;
      delete pkg["//exports"];
      for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
        for (const [name, range] of Object.entries(pkg[field] ?? {})) {
          if (name.startsWith("@parley/") || /^(workspace|catalog):/.test(String(range))) {
            throw new Error(`@parley/sdk would publish a workspace-only ${field} entry: ${name}@${range}`);
          }
        }
      }
      return pkg;
    },
  },
};
