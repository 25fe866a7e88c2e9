/**
 * The component reference, generated from the doc comments of components/:
 * one page per component file (docs/reference/<file>.md) with each exported
 * component class's summary, its arguments (type, description, @default,
 * @example, and the interfaces of the same file they use) and its public
 * outputs, plus docs/reference/README.md listing them.
 *
 *   npx tsx cli/reference.ts     writes the pages
 *
 * A test checks the committed pages equal `renderReference()` and that every
 * argument field has a description (`missingDescriptions()`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";

const ROOT = path.resolve(__dirname, "..");
const COMPONENTS_DIR = "components";
export const REFERENCE_DIR = "docs/reference";

/** One documented field of an args interface. */
export interface FieldDoc {
  name: string;
  type: string;
  optional: boolean;
  description: string;
  default?: string;
  example?: string;
}

export interface InterfaceDoc {
  name: string;
  description: string;
  fields: FieldDoc[];
}

export interface OutputDoc {
  name: string;
  type: string;
  description: string;
}

export interface ComponentDoc {
  /** Repository path of the file, e.g. components/monitoring.ts. */
  file: string;
  className: string;
  summary: string;
  /** The constructor's args interface, then the interfaces of the same file it uses. */
  args: InterfaceDoc[];
  outputs: OutputDoc[];
}

const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();

/** A node's JSDoc: its text and its tags (@default, @example, …). */
function jsDoc(node: ts.Node): { text: string; tags: Record<string, string> } {
  const docs = ((node as { jsDoc?: ts.JSDoc[] }).jsDoc ?? []);
  const text = docs.map((d) => ts.getTextOfJSDocComment(d.comment) ?? "").filter(Boolean).join("\n\n").trim();
  const tags: Record<string, string> = {};
  for (const d of docs) {
    for (const tag of d.tags ?? []) tags[tag.tagName.text] = (ts.getTextOfJSDocComment(tag.comment) ?? "").trim();
  }
  return { text, tags };
}

const isExported = (node: ts.Node) =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}

/** Component classes extend our Component (or pulumi.ComponentResource). */
function isComponentClass(node: ts.ClassDeclaration): boolean {
  return (node.heritageClauses ?? []).some((h) =>
    h.token === ts.SyntaxKind.ExtendsKeyword && h.types.some((t) => /(^|\.)(Component|ComponentResource)$/.test(t.expression.getText())),
  );
}

function fieldsOf(decl: ts.InterfaceDeclaration): FieldDoc[] {
  return decl.members.filter(ts.isPropertySignature).map((m) => {
    const { text, tags } = jsDoc(m);
    return {
      name: m.name.getText(),
      type: m.type ? oneLine(m.type.getText()) : "unknown",
      optional: !!m.questionToken,
      description: text,
      ...(tags.default !== undefined ? { default: tags.default } : {}),
      ...(tags.example !== undefined ? { example: tags.example } : {}),
    };
  });
}

/** The interfaces of this file a type mentions, by name. */
function referencedInterfaces(typeText: string, local: Map<string, ts.InterfaceDeclaration>): string[] {
  return [...local.keys()].filter((name) => new RegExp(`\\b${name}\\b`).test(typeText));
}

/** Every component class of one file. */
export function documentFile(file: string): ComponentDoc[] {
  const full = path.join(ROOT, file);
  const source = ts.createSourceFile(full, fs.readFileSync(full, "utf8"), ts.ScriptTarget.Latest, true);
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  const classes: ts.ClassDeclaration[] = [];
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) interfaces.set(node.name.text, node);
    // The abstract base (components/component.ts) is not a component anyone creates.
    if (ts.isClassDeclaration(node) && node.name && isExported(node) && !hasModifier(node, ts.SyntaxKind.AbstractKeyword) && isComponentClass(node)) {
      classes.push(node);
    }
  });

  return classes.map((cls) => {
    const ctor = cls.members.find(ts.isConstructorDeclaration);
    const argsParam = ctor?.parameters[1];
    const argsType = argsParam?.type ? oneLine(argsParam.type.getText()) : undefined;
    // The args interface, then (breadth-first) the interfaces of this file its fields use.
    const order: string[] = [];
    const queue = argsType ? referencedInterfaces(argsType, interfaces) : [];
    while (queue.length) {
      const name = queue.shift()!;
      if (order.includes(name)) continue;
      order.push(name);
      for (const f of fieldsOf(interfaces.get(name)!)) queue.push(...referencedInterfaces(f.type, interfaces));
    }
    const args = order.map((name) => ({ name, description: jsDoc(interfaces.get(name)!).text, fields: fieldsOf(interfaces.get(name)!) }));
    const outputs = cls.members
      .filter(ts.isPropertyDeclaration)
      .filter((m) => !hasModifier(m, ts.SyntaxKind.PrivateKeyword) && !hasModifier(m, ts.SyntaxKind.ProtectedKeyword) && !hasModifier(m, ts.SyntaxKind.StaticKeyword))
      .map((m) => ({ name: m.name.getText(), type: m.type ? oneLine(m.type.getText()) : "unknown", description: jsDoc(m).text }));
    return { file, className: cls.name!.text, summary: jsDoc(cls).text, args, outputs };
  });
}

/** The component files, in name order. */
export function componentFiles(): string[] {
  return fs
    .readdirSync(path.join(ROOT, COMPONENTS_DIR))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .sort()
    .map((f) => `${COMPONENTS_DIR}/${f}`);
}

export function documentComponents(): ComponentDoc[] {
  return componentFiles().flatMap(documentFile);
}

/** `file: Interface.field` for every argument field without a description. */
export function missingDescriptions(docs = documentComponents()): string[] {
  const missing = new Set<string>();
  for (const c of docs) for (const i of c.args) for (const f of i.fields) if (!f.description) missing.add(`${c.file}: ${i.name}.${f.name}`);
  return [...missing].sort();
}

const pageName = (file: string) => path.basename(file, ".ts");
const firstSentence = (text: string) => oneLine(text).match(/^.*?[.!?](\s|$)/)?.[0].trim() ?? oneLine(text);
const code = (text: string) => (text.includes("`") ? `\`\` ${text} \`\`` : `\`${text}\``);

function renderField(f: FieldDoc): string {
  const lines = [`#### \`${f.name}${f.optional ? "?" : ""}\``, "", `Type: ${code(f.type)}`, ""];
  lines.push(f.description || "_Not documented._", "");
  if (f.default !== undefined) lines.push(`Default: ${code(f.default)}`, "");
  if (f.example !== undefined) {
    const example = f.example.trim();
    lines.push("Example:", "", "```ts", example.replace(/^```\w*\n?|\n?```$/g, ""), "```", "");
  }
  return lines.join("\n");
}

function renderPage(file: string, docs: ComponentDoc[]): string {
  const out = [`# ${docs.map((d) => d.className).join(", ")}`, "", `<!-- Generated by cli/reference.ts from the doc comments of ${file}; do not edit. -->`, ""];
  for (const d of docs) {
    if (docs.length > 1) out.push(`## ${d.className}`, "");
    out.push(d.summary || "_No summary._", "", `Source: [${file}](../../${file})`, "");
    out.push(`${docs.length > 1 ? "###" : "##"} Arguments`, "");
    if (!d.args.length) out.push("_None._", "");
    for (const i of d.args) {
      out.push(`${docs.length > 1 ? "####" : "###"} ${i.name}`, "");
      if (i.description) out.push(i.description, "");
      for (const f of i.fields) out.push(renderField(f));
    }
    out.push(`${docs.length > 1 ? "###" : "##"} Outputs`, "");
    if (!d.outputs.length) out.push("_None._", "");
    else {
      out.push("| output | type | description |", "|---|---|---|");
      for (const o of d.outputs) out.push(`| \`${o.name}\` | ${code(o.type).replace(/\|/g, "\\|")} | ${oneLine(o.description).replace(/\|/g, "\\|") || "_Not documented._"} |`);
      out.push("");
    }
  }
  return `${out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd()}\n`;
}

/** Every page of docs/reference/, by repository path. */
export function renderReference(): Record<string, string> {
  const docs = documentComponents();
  const byFile = new Map<string, ComponentDoc[]>();
  for (const d of docs) byFile.set(d.file, [...(byFile.get(d.file) ?? []), d]);
  const pages: Record<string, string> = {};
  const index = [
    "# Component reference",
    "",
    "<!-- Generated by cli/reference.ts from the doc comments of components/; do not edit. -->",
    "",
    "Every component's arguments (with their defaults and examples) and outputs, from its doc comments.",
    "",
    "| component | file | what it is |",
    "|---|---|---|",
  ];
  for (const [file, fileDocs] of byFile) {
    pages[`${REFERENCE_DIR}/${pageName(file)}.md`] = renderPage(file, fileDocs);
    for (const d of fileDocs) index.push(`| [${d.className}](${pageName(file)}.md) | \`${file}\` | ${firstSentence(d.summary).replace(/\|/g, "\\|")} |`);
  }
  pages[`${REFERENCE_DIR}/README.md`] = `${index.join("\n")}\n`;
  return pages;
}

/** Writes the pages and removes pages of components that no longer exist. */
export function writeReference(root = ROOT): string[] {
  const pages = renderReference();
  const dir = path.join(root, REFERENCE_DIR);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) if (f.endsWith(".md") && !pages[`${REFERENCE_DIR}/${f}`]) fs.rmSync(path.join(dir, f));
  for (const [file, content] of Object.entries(pages)) fs.writeFileSync(path.join(root, file), content);
  return Object.keys(pages);
}

if (require.main === module) {
  for (const file of writeReference()) console.log(`wrote ${file}`);
  const missing = missingDescriptions();
  if (missing.length) console.log(`arguments without a description:\n  ${missing.join("\n  ")}`);
}
