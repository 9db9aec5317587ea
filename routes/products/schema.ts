import { Type } from '@sinclair/typebox'
import { ProductBodySchema, ProductIdSchema, ProductSchema } from '../../lib/knowledge/schema.js'
import { AccountIdSchema } from '../common/schema.js'

/** `?account=` (an agent's own when omitted, else `default`). */
export const AccountQuerySchema = Type.Object({ account: Type.Optional(AccountIdSchema) })
export const ProductParamsSchema = Type.Object({ id: ProductIdSchema })
export const ProductListSchema = Type.Array(ProductSchema, { description: 'The account\'s products, in catalogue order' })

export { ProductBodySchema, ProductSchema }
