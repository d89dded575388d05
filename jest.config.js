/** Tests are TypeScript run through ts-jest; type checking is done once by `tsc` in lint/build,
 * so ts-jest only transpiles (isolatedModules in tsconfig) and the suite stays fast. */
module.exports = {
  testEnvironment: '<rootDir>/test/helpers/plain-environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testTimeout: 30000,
};
