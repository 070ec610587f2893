/** Unit tests (pure logic) and integration tests (real services) run together: `npm test`. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // jose 6, openid-client 6 and its oauth4webapi ship ESM only, which jest's CommonJS runtime
  // cannot load: swc compiles them too.
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }], '/node_modules/(jose|openid-client|oauth4webapi)/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  transformIgnorePatterns: ['/node_modules/(?!(jose|openid-client|oauth4webapi)/)'],
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
  testTimeout: 120000,
  maxWorkers: 2,
};
