/** What the bench, the peer server and the verification agree on. */

/** Accounts whose id starts with this get the tight day limit. */
export const TIGHT_PREFIX = 'tight-'
/** The tight accounts' messages_per_day: low enough that every run hits it. */
export const TIGHT_LIMIT = 5
/** Every other limit: above what any run reaches, within the configuration's maximum (1e9) and PostgreSQL's integer. */
export const LOOSE_LIMIT = 1_000_000_000
/** rate-limiter-flexible's table (all its limiters share it, told apart by key prefix). */
export const PEER_TABLE = 'rlflx'
