import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'node_modules/**', '.tap/**', 'coverage/**']
  }),
  {
    // The dashboard runs in the browser (plain ES modules, no build step): its globals are the page's.
    files: ['dashboard/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(['window', 'document', 'location', 'sessionStorage', 'fetch', 'URL', 'Node', 'navigator'].map((name) => [name, 'readonly']))
    }
  },
  {
    // The HTTP contract (SPEC §5) is snake_case: message_type, reset_time, messages_per_day…
    rules: { camelcase: 'off' }
  }
]
