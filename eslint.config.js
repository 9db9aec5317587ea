import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'node_modules/**', '.tap/**', 'coverage/**']
  }),
  {
    // The HTTP contract (SPEC §5) is snake_case: message_type, reset_time, messages_per_day…
    rules: { camelcase: 'off' }
  }
]
