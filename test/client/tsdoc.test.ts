/**
 * Proves the SDK is documented where its users look: every exported declaration in src/client
 * (functions, classes, interfaces, types, constants) and every public member of an exported
 * class or interface carries a TSDoc comment. It parses each file with the TypeScript
 * compiler and lists whatever lacks one, so a new undocumented export fails here by name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLIENT = join(ROOT, 'src/client');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

function hasDoc(node: ts.Node): boolean {
  return ts.getJSDocCommentsAndTags(node).some((d) => ts.isJSDoc(d));
}

function exported(node: ts.Node): boolean {
  return (
    ts.canHaveModifiers(node) &&
    (ts.getCombinedModifierFlags(node as ts.Declaration) & ts.ModifierFlags.Export) !== 0
  );
}

function nameOf(node: ts.Node): string {
  if (ts.isVariableStatement(node))
    return node.declarationList.declarations.map((d) => d.name.getText()).join(', ');
  const name = (node as ts.NamedDeclaration).name;
  return name ? name.getText() : '(anonymous)';
}

/** The public members of a class or interface: no constructor, nothing private or protected. */
function publicMembers(node: ts.ClassDeclaration | ts.InterfaceDeclaration): readonly ts.Node[] {
  return (node.members as ts.NodeArray<ts.ClassElement | ts.TypeElement>).filter((m) => {
    if (
      ts.isConstructorDeclaration(m) ||
      ts.isClassStaticBlockDeclaration(m) ||
      ts.isIndexSignatureDeclaration(m)
    )
      return false;
    if (m.name && ts.isPrivateIdentifier(m.name)) return false;
    const flags = ts.canHaveModifiers(m) ? ts.getCombinedModifierFlags(m as ts.Declaration) : 0;
    return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) === 0;
  });
}

it('every export of src/client, and every public member of an exported class or interface, has TSDoc', () => {
  const missing: string[] = [];
  for (const file of sourceFiles(CLIENT)) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const where = (n: ts.Node) =>
      `${relative(ROOT, file)}:${source.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
    for (const statement of source.statements) {
      if (!exported(statement)) continue;
      if (!hasDoc(statement)) missing.push(`${where(statement)} ${nameOf(statement)}`);
      if (ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement)) {
        for (const m of publicMembers(statement)) {
          if (!hasDoc(m)) missing.push(`${where(m)} ${nameOf(statement)}.${nameOf(m)}`);
        }
      }
    }
  }
  expect(missing).toEqual([]);
});
