/**
 * Do the project's harness (cli.ts --json) and the independent cwltest-style runner
 * (../shared/cwl-conformance.py --json) agree on the same tests? Both files are read, the pass
 * counts compared, and the tests on which the two disagree named.
 */
export interface Agreement {
  agree: boolean;
  harnessPassed: number;
  independentPassed: number;
  /** Tests the harness passed and the independent runner did not. */
  onlyHarness: string[];
  /** Tests the independent runner passed and the harness did not. */
  onlyIndependent: string[];
}

interface Row {
  id: string;
  passed: boolean;
}

function rows(v: unknown, what: string, passedStatus: string): Row[] {
  const results = (v as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) throw new Error(`${what}: no "results" list`);
  return results.map((r: unknown, i) => {
    const o = r as { id?: unknown; status?: unknown } | null;
    if (typeof o?.id !== 'string' || typeof o.status !== 'string') throw new Error(`${what}: result ${i} has no id or status`);
    return { id: o.id, passed: o.status === passedStatus };
  });
}

/** `harness`: cli.ts's --json (status "pass"); `independent`: cwl-conformance.py's --json (status "passed"). */
export function compareRunners(harness: unknown, independent: unknown): Agreement {
  const h = rows(harness, 'harness results', 'pass');
  const p = rows(independent, 'independent results', 'passed');
  const hPassed = new Set(h.filter((r) => r.passed).map((r) => r.id));
  const pPassed = new Set(p.filter((r) => r.passed).map((r) => r.id));
  const onlyHarness = [...hPassed].filter((id) => !pPassed.has(id)).sort();
  const onlyIndependent = [...pPassed].filter((id) => !hPassed.has(id)).sort();
  return {
    agree: hPassed.size === pPassed.size && h.length === p.length,
    harnessPassed: hPassed.size,
    independentPassed: pPassed.size,
    onlyHarness,
    onlyIndependent,
  };
}
