import { Type } from '@sinclair/typebox'
import { AccountBodySchema } from '../../lib/accounts/schema.js'
import { AccountIdSchema, AccountSchema } from '../common/schema.js'

export const AccountParamsSchema = Type.Object({ account: AccountIdSchema })

/** The longest id `AccountIdSchema` admits (its pattern's `{0,127}` after the first character). */
export const ACCOUNT_ID_MAX_LENGTH = 128

export { AccountBodySchema }

export const AccountListSchema = Type.Object({ accounts: Type.Array(AccountSchema) })
export { AccountSchema }
