/**
 * The shape of src/ that src/README.md declares: imports run one way, down the layer order, so no
 * folder reaches back up and no two folders import each other; and no function is longer than the
 * project's limit.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

/** The project's limit, the same as for the bash side: a function fits on one screen. */
const MAX_FUNCTION_LINES = 60;

/** Bottom first; the files directly in src/ (the entry points and what wires the parts) come last. */
const LAYERS = ['contract', 'io', 'config', 'readers', 'verdict', 'collectors', 'http', 'webhook', '.'] as const;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
}

/** Relative module specifiers of import/export declarations and dynamic import() calls. */
function relativeImports(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      if (argument !== undefined && ts.isStringLiteral(argument)) found.push(argument.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found.filter((specifier) => specifier.startsWith('.'));
}

function layerOf(file: string): number {
  const path = relative(SRC, file);
  const folder = path.includes(sep) ? (path.split(sep)[0] ?? '') : '.';
  return LAYERS.indexOf(folder as (typeof LAYERS)[number]);
}

describe('src/ layers', () => {
  const files = sourceFiles(SRC);

  it('puts every file in a declared layer', () => {
    expect(files.filter((file) => layerOf(file) < 0).map((file) => relative(SRC, file))).toEqual([]);
  });

  it('imports only from its own layer or one below it', () => {
    const upward: string[] = [];
    for (const file of files) {
      for (const specifier of relativeImports(parse(file))) {
        const target = normalize(join(dirname(file), specifier));
        if (!target.startsWith(SRC + sep)) {
          upward.push(`${relative(SRC, file)} -> ${specifier} (outside src/)`);
        } else if (layerOf(target) > layerOf(file)) {
          upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
        }
      }
    }
    expect(upward).toEqual([]);
  });

  it('keeps config/ to values: none of its files reads a file (src/load-config.ts does)', () => {
    const config = files.filter((file) => relative(SRC, file).startsWith(`config${sep}`));
    expect(config.length).toBeGreaterThan(0);
    const reading = config.filter((file) => /from 'node:fs(\/promises)?'/.test(readFileSync(file, 'utf8')));
    expect(reading.map((file) => relative(SRC, file))).toEqual([]);
  });
});

/** Functions (declarations, methods, constructors, accessors, arrows) with their length in lines, first line to last. */
function functionLengths(source: ts.SourceFile): { readonly name: string; readonly line: number; readonly lines: number }[] {
  const found: { name: string; line: number; lines: number }[] = [];
  const lineOf = (position: number): number => source.getLineAndCharacterOfPosition(position).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const line = lineOf(node.getStart(source));
      const name = node.name?.getText(source) ?? (ts.isConstructorDeclaration(node) ? 'constructor' : '(anonymous)');
      found.push({ name, line, lines: lineOf(node.getEnd()) - line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('src/ functions', () => {
  // generated code (src/contract/*.generated.ts) is read through its schemas, not line by line
  it(`are at most ${MAX_FUNCTION_LINES} lines long, where written by hand`, () => {
    const long = sourceFiles(SRC).filter((file) => !file.endsWith('.generated.ts')).flatMap((file) =>
      functionLengths(parse(file))
        .filter(({ lines }) => lines > MAX_FUNCTION_LINES)
        .map(({ name, line, lines }) => `${relative(SRC, file)}:${line} ${name}: ${lines} lines`),
    );
    expect(long).toEqual([]);
  });
});
