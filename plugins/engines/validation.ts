import fp from 'fastify-plugin'
import { Counter } from 'prom-client'
import { RULES } from '../../lib/validation/rules.js'
import { createValidationService, type ValidationService } from '../../lib/validation/service.js'

declare module '../app/config.js' {
  interface SellifyEngines {
    validation: ValidationService
  }
}

export default fp(async function validation (fastify) {
  const { accounts, knowledge, metrics } = fastify.sellify
  const service = createValidationService({ accounts, knowledge })
  // The rules are compiled with the account's settings: this instance drops them at once when they change.
  accounts.observe((event) => { service.forget(event.account) })
  const violations = new Counter({ name: 'sellify_validation_violations_total', help: 'Violations found in validated texts, by rule', labelNames: ['rule'], registers: [metrics] })
  // Every rule's series exists from the start (at 0), so a rate over it needs no first violation.
  for (const rule of RULES) violations.inc({ rule }, 0)
  service.observe((event) => { for (const rule of event.rules) violations.inc({ rule }) })
  fastify.sellify.validation = service
}, { name: 'validation', dependencies: ['config', 'metrics', 'accounts', 'knowledge'], fastify: '5.x' })
