export * from './types.js'
export * from './id.js'
export * from './chain.js'
export * from './export.js'
