import { defineError } from '../shared/errors.js'

export const InvalidCount = defineError('SELLIFY_BAD_REQUEST', 400, () => 'count must be a whole number of at least 1')
