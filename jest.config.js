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
  testTimeout: 120000,
};
