/**
 * No import cycles among the project's modules (src/ and workers/), type-only imports included.
 * The layer rule (layers.test.ts) keeps areas acyclic; this keeps files inside an area acyclic
 * too, since a cycle makes module initialisation order-dependent (a value read before its module
 * has run is `undefined`). Imports are read with TypeScript's own pre-processor, so comments and
 * strings that look like imports are not counted, and dynamic `import()` is.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The project files a module imports (relative specifiers only; packages are not ours). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => {
      const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
      const index = path.join(target.replace(/\.ts$/, ''), 'index.ts');
      return existsSync(target) ? target : index;
    })
    .filter((target) => existsSync(target));
}

/** Every elementary cycle reachable by depth-first search, as the list of its modules. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

describe('import cycles', () => {
  it('finds a planted cycle and none in an acyclic graph (the check can fail)', () => {
    const cyclic = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
    ]);
    expect(findCycles(cyclic)).toEqual([['a', 'b', 'c', 'a']]);
    expect(
      findCycles(
        new Map([
          ['a', ['b', 'c']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toEqual([]);
  });

  it('reads imports as TypeScript does (type-only and dynamic counted, comments not)', () => {
    const imports = ts
      .preProcessFile(
        "import type { A } from './a.js';\n// import { B } from './b.js';\nconst c = await import('./c.js');",
        true,
        true,
      )
      .importedFiles.map((f) => f.fileName);
    expect(imports).toEqual(['./a.js', './c.js']);
  });

  it('has none in src/ and workers/', () => {
    const files = [...sourceFiles(path.join(root, 'src')), ...sourceFiles(path.join(root, 'workers'))];
    expect(files.length).toBeGreaterThan(100);
    const graph = new Map(files.map((file) => [file, importsOf(file)]));
    const cycles = findCycles(graph).map((cycle) => cycle.map((file) => path.relative(root, file)).join(' → '));
    expect(cycles).toEqual([]);
  });
});
