/** What every benchmark module returns, and how one is run on its own (`node dist/bench/<name>.js`). */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
}

/** A module's rows as the lines of a Markdown table, as results.md and a standalone run print them. */
export function rowsTable(rows: readonly BenchRow[]): string[] {
  return ['| benchmark | value | unit |', '|---|---:|---|', ...rows.map((r) => `| ${r.name} | ${r.value} | ${r.unit} |`)];
}

/** Runs a benchmark as a script: prints its rows as a Markdown table, exits 1 on failure. */
export function runStandalone(bench: () => Promise<{ rows: readonly BenchRow[] }>): void {
  bench().then(
    ({ rows }) => {
      process.stdout.write(`${rowsTable(rows).join('\n')}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
