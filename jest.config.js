/**
 * Tests are transpiled by ts-jest without type-checking (isolatedModules:
 * fast); `npm run typecheck` (tsc --noEmit, strict) runs before jest in
 * `npm test`.
 */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { isolatedModules: true, diagnostics: false }] },
  testTimeout: 120000,
};
