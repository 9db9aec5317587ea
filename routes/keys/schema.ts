import { ROLES } from '../../lib/keys/types.js'
import { Type } from '@sinclair/typebox'
import { AccountIdSchema, IsoTimestampSchema, Nullable, StringEnum } from '../common/schema.js'

export const NewKeyBodySchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100, description: 'What the key is for' }),
  role: StringEnum(ROLES),
  account: Type.Optional(AccountIdSchema)
}, { additionalProperties: false })

const KeyFields = {
  id: Type.String(),
  name: Type.String(),
  role: StringEnum(ROLES),
  account: Nullable(AccountIdSchema),
  created_at: IsoTimestampSchema
}

export const CreatedKeySchema = Type.Object({
  ...KeyFields,
  key: Type.String({ description: 'The secret: shown this once, never again' })
})

export const KeyListSchema = Type.Object({
  keys: Type.Array(Type.Object({ ...KeyFields, last_used_at: Nullable(IsoTimestampSchema) }))
})

export const KeyParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })

const { created_at: _created, ...OwnFields } = KeyFields
/** The key that asks (GET /keys/me): its fields but the dates; `account` is null for an admin key. */
export const OwnKeySchema = Type.Object(OwnFields)
