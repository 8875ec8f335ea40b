/** What every benchmark module returns, and how one is run on its own (`node dist/bench/<name>.js`). */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
}

/** Runs a benchmark as a script: prints its rows as a Markdown table, exits 1 on failure. */
export function runStandalone(bench: () => Promise<{ rows: readonly BenchRow[] }>): void {
  bench().then(
    ({ rows }) => {
      const lines = ['| benchmark | value | unit |', '|---|---:|---|', ...rows.map((r) => `| ${r.name} | ${r.value} | ${r.unit} |`)];
      process.stdout.write(`${lines.join('\n')}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
