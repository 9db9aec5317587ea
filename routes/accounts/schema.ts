import { Type, type Static } from '@sinclair/typebox'
import { AccountIdSchema, AccountSchema, DelaysSchema, LimitsSchema, ResetTimeSchema, WeekStartSchema } from '../common.js'

export const AccountParamsSchema = Type.Object({ account: AccountIdSchema })
export type AccountParams = Static<typeof AccountParamsSchema>

/** Full configuration; omitted fields take the service defaults (not the account's previous values). */
export const AccountBodySchema = Type.Object({
  timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'IANA time zone', examples: ['America/Sao_Paulo'] })),
  reset_time: Type.Optional(ResetTimeSchema),
  week_start: Type.Optional(WeekStartSchema),
  limits: Type.Optional(Type.Partial(LimitsSchema, { additionalProperties: false })),
  delays: Type.Optional(Type.Partial(DelaysSchema, { additionalProperties: false }))
}, { additionalProperties: false })
export type AccountBody = Static<typeof AccountBodySchema>

export const AccountListSchema = Type.Object({ accounts: Type.Array(AccountSchema) })
export { AccountSchema }
