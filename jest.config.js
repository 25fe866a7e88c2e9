/**
 * Tests are transpiled by ts-jest file by file (tsconfig's isolatedModules),
 * without type-checking; `npm run typecheck` (tsc --noEmit, strict) runs before jest in
 * `npm test`.
 */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
  // A guard against a hung test, not a time limit: above the longest wait a test
  // contains (waitFor's 2 min, run()'s 5 min hang guard in test/server/helpers.ts),
  // with room for a machine loaded by other work.
  testTimeout: 600000,
};
