import { defineError } from '../shared/errors.js'
import { ACCOUNT_ID_PATTERN } from './types.js'

export const UnknownAccount = defineError('SELLIFY_UNKNOWN_ACCOUNT', 404, (id: string) => `account ${JSON.stringify(id)} does not exist`)
export const DefaultAccountUndeletable = defineError('SELLIFY_DEFAULT_ACCOUNT', 409, () => 'the default account cannot be deleted')
export const InvalidAccountId = defineError('SELLIFY_BAD_REQUEST', 400, (field: string) => `${field} must match ${ACCOUNT_ID_PATTERN}`)
