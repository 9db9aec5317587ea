import { Type } from '@sinclair/typebox'
import { AccountBodySchema } from '../../lib/accounts/schema.js'
import { AccountIdSchema, AccountSchema } from '../common/schema.js'

export const AccountParamsSchema = Type.Object({ account: AccountIdSchema })

/** The longest id `AccountIdSchema` admits (its pattern's `{0,127}` after the first character). */
export const ACCOUNT_ID_MAX_LENGTH = 128

export { AccountBodySchema }

/** A JSON merge patch (RFC 7396) of the configuration: the result must be a valid PUT body. */
export const AccountPatchSchema = Type.Object({}, {
  additionalProperties: true,
  description: 'JSON merge patch (RFC 7396) of the configuration: objects merge, null restores a field\'s default, arrays and values replace; ' +
    'the result is checked as a whole, as a PUT body'
})

export const AccountListSchema = Type.Object({ accounts: Type.Array(AccountSchema) })
export { AccountSchema }
