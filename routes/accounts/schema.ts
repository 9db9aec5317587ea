import { Type } from '@sinclair/typebox'
import { AccountBodySchema } from '../../lib/accounts/schema.js'
import { AccountIdSchema, AccountSchema } from '../common/schema.js'

export const AccountParamsSchema = Type.Object({ account: AccountIdSchema })

export { AccountBodySchema }

export const AccountListSchema = Type.Object({ accounts: Type.Array(AccountSchema) })
export { AccountSchema }
