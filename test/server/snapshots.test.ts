/**
 * Snapshots of every rendered file: any change to what lands on a box shows
 * up in review. One app with plain HTTP and celery, in full; then what a
 * letsencrypt/rq box and a three-app box change or add.
 */
import { renderBox } from "../../server";
import type { RenderedFile } from "../../server";
import { fixtureSpec } from "./fixtures";

const base = renderBox(fixtureSpec({ apps: 1, tls: "none", taskWorker: "celery" }));

function snapshotLabel(file: RenderedFile): string {
  return `${file.path} (${file.mode} ${file.owner})`;
}

/** A file's text, or for the provisioning script only its spec-dependent header (its body is in the base snapshot). */
function changedPart(file: RenderedFile): string {
  const layout = file.content.indexOf("# ---- the box's layout");
  return file.path.endsWith("django-tiers-provision") && layout > 0 ? file.content.slice(0, layout) : file.content;
}

describe("one app, tls none, celery", () => {
  it.each(base.map((f) => [snapshotLabel(f), f] as const))("%s", (_label, file) => {
    expect(file.content).toMatchSnapshot();
  });
});

describe.each([
  ["one app, letsencrypt, rq, 4 workers", fixtureSpec({ apps: 1, tls: "letsencrypt", taskWorker: "rq", workers: 4 })],
  ["three apps, the first without domain, tls none, no worker", fixtureSpec({ apps: 3, tls: "none", taskWorker: "none", defaultApp: true })],
])("%s: files that differ from the base", (_label, spec) => {
  const changed = renderBox(spec).filter((f) => base.find((b) => b.path === f.path)?.content !== f.content);
  it.each(changed.map((f) => [snapshotLabel(f), f] as const))("%s", (_name, file) => {
    expect(changedPart(file)).toMatchSnapshot();
  });
});
