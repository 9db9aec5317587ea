import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { scopedAccount } from '../../lib/keys/policy.js'
import { AccountIdSchema, AUTH_ERRORS, errorResponses, IsoTimestampSchema } from '../common/schema.js'

const Count = Type.Integer({ minimum: 0 })

export const HourlyQuerySchema = Type.Object({
  account: Type.Optional(AccountIdSchema),
  hours: Type.Optional(Type.Integer({ minimum: 1, maximum: 168, default: 24, description: 'How many hours, the current one included (1–168)' }))
}, { additionalProperties: false })

export const HourlySchema = Type.Object({
  account: Type.String(),
  from: IsoTimestampSchema,
  to: IsoTimestampSchema,
  hours: Type.Array(Type.Object({
    hour: IsoTimestampSchema,
    total: Count,
    pending: Type.Integer({ minimum: 0, description: 'A reply waiting for the gateway\'s sent or failed' }),
    done: Type.Integer({ minimum: 0, description: 'Nothing to send (ignore, wait, an alert for a person, a stop)' }),
    sent: Count,
    failed: Count
  }), { description: 'Every hour of the window, oldest first, UTC; the last is the current hour' })
})

/** Counts of the decisions made, for the dashboard's chart. */
const decisions: FastifyPluginAsyncTypebox = async function decisionsRoutes (fastify) {
  const service = fastify.sellify.decisions

  fastify.get('/hourly', {
    schema: {
      tags: ['decisions'],
      summary: 'Decisions per hour over the last hours (24 unless told), by what became of them',
      querystring: HourlyQuerySchema,
      response: { 200: HourlySchema, ...errorResponses(400, 404, 503, ...AUTH_ERRORS) }
    }
  }, async (request) => await service.hourly(scopedAccount(request.principal, request.query.account), request.query.hours ?? 24))
}

export default decisions
