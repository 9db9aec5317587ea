import { defineError } from '../shared/errors.js'

const challenge = { 'www-authenticate': 'ApiKey header="X-API-Key"' }

export const MissingKey = defineError('SELLIFY_UNAUTHORIZED', 401, () => 'Missing X-API-Key header', { headers: challenge })
export const InvalidKey = defineError('SELLIFY_UNAUTHORIZED', 401, () => 'Invalid API key', { headers: challenge })
export const AdminOnly = defineError('SELLIFY_FORBIDDEN', 403, () => 'This route needs an admin key')
export const OtherAccount = defineError('SELLIFY_FORBIDDEN', 403, (account: string | null) => `This key may only act on account ${JSON.stringify(account)}`)
export const UnknownKey = defineError('SELLIFY_UNKNOWN_KEY', 404, (id: string) => `key ${JSON.stringify(id)} does not exist or is already revoked`)
export const InvalidKeyRequest = defineError('SELLIFY_BAD_REQUEST', 400, (message: string) => message)
