// The dependency rule of docs/architecture.md, enforced by test/architecture/dependencies.test.ts:
// each folder of src/ is one concept and may import only the folders listed for it (inward).
const ROOMS = {
  runtime: ['domain'],
  domain: [],
  contract: ['domain'],
  io: ['runtime', 'domain'],
  format: ['io', 'runtime', 'domain'],
  wire: ['format', 'io', 'runtime', 'domain'],
  compute: ['format', 'io', 'runtime', 'domain'],
  pipeline: ['compute', 'wire', 'format', 'io', 'runtime', 'domain'],
  db: ['domain'],
  store: ['io', 'runtime', 'domain'],
  filesystem: ['format', 'io', 'runtime', 'domain'],
  services: ['contract', 'db', 'store', 'filesystem', 'compute', 'format', 'io', 'runtime', 'domain'],
  api: ['services', 'contract', 'wire', 'compute', 'format', 'io', 'runtime', 'domain'],
  // The CLI reaches the server only over HTTP; `serve` and `admin` start it through the composition root (src/app.ts).
  cli: ['contract', 'pipeline', 'wire', 'compute', 'format', 'io', 'runtime', 'domain', 'app', 'config', 'version'],
};

const path = (room) => (['app', 'config', 'version'].includes(room) ? `^src/${room}\\.ts$` : `^src/${room}/`);

module.exports = {
  forbidden: [
    ...Object.entries(ROOMS).map(([room, allowed]) => ({
      name: `${room}-imports-inward`,
      severity: 'error',
      comment: `src/${room} may import only ${allowed.length ? allowed.map((a) => `src/${a}`).join(', ') : 'nothing of ours'} (docs/architecture.md)`,
      from: { path: path(room) },
      to: { path: '^src/', pathNot: [path(room), ...allowed.map(path)] },
    })),
    {
      name: 'console-imports-contract-only',
      severity: 'error',
      comment: 'The console talks to the server only through the API: of src/ it may import the contract (types) alone',
      from: { path: '^web/src/' },
      to: { path: '^src/', pathNot: ['^src/contract/'] },
    },
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'A cycle hides a dependency that points both ways; move the shared piece to where both can import it',
      from: { path: '^(src|web/src)/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.mjs'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
