import { defineError } from '../shared/errors.js'

/** A product named as matched that the knowledge base does not have; the message names the field. */
export const UnknownMatchedProduct = defineError('SELLIFY_BAD_REQUEST', 400, (path: string, id: string) => `${path} ${JSON.stringify(id)} is not a product of the account's knowledge base`)
