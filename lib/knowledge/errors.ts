import { defineError } from '../shared/errors.js'

export const UnknownProduct = defineError('SELLIFY_UNKNOWN_PRODUCT', 404, (id: string) => `product ${JSON.stringify(id)} does not exist`)
/** The message names the first bad path (`body/products/3/price must …`). */
export const InvalidKnowledge = defineError('SELLIFY_BAD_REQUEST', 400, (message: string) => message)
